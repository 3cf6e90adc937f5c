"""Training, knowing nothing of Qt or the terminal.

trainer.Trainer is the loop (autograd, torch.optim, data held as tensors);
run.run_training turns a TrainingRequest into a stream of events ending in a
saved checkpoint, and is what the CLI and the GUI both drive.
"""
