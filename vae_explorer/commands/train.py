"""`vae-explorer train`: train on the full training split with a progress bar."""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shlex
from pathlib import Path

from vae_explorer.cli import EXIT_FAILED, EXIT_USAGE
from vae_explorer.commands.report import describe_model, fail


def _partial_path(output: Path) -> Path:
    return output.with_name(output.stem + ".partial" + output.suffix)


def run_train(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from vae_explorer import __version__
    from vae_explorer.core.checkpoint import Checkpoint, save_checkpoint
    from vae_explorer.core.config import ConfigError, ModelConfig, TrainConfig
    from vae_explorer.core.data import (
        DataUnavailableError,
        load_mnist,
        resolve_data_dir,
    )
    from vae_explorer.core.devices import DeviceUnavailableError
    from vae_explorer.core.losses import iwae_log_likelihood
    from vae_explorer.core.model import build_model
    from vae_explorer.core.training import (
        BatchStats,
        Trainer,
        TrainingControl,
        TrainingDiverged,
        summary_metrics,
    )

    output = Path(args.output)
    try:
        model_config = ModelConfig(
            hidden_sizes=args.hidden, latent_dim=args.latent_dim, likelihood=args.likelihood
        )
        train_config = TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
            lr_schedule=args.lr_schedule, beta=args.beta,
            seed=args.seed, device=args.device, num_threads=args.threads,
        )
    except ConfigError as exc:
        fail(str(exc))
        return EXIT_USAGE
    if args.iwae_k < 0:
        fail("--iwae-k must be zero or positive")
        return EXIT_USAGE

    data_dir = resolve_data_dir(args.data_dir)
    try:
        train_set = load_mnist(data_dir, "train")
        test_set = load_mnist(data_dir, "test")
    except DataUnavailableError as exc:
        fail(str(exc))
        return EXIT_USAGE

    control = TrainingControl()
    try:
        trainer = Trainer(build_model(model_config, args.seed), train_set, test_set, train_config, control)
    except DeviceUnavailableError as exc:
        fail(str(exc))
        return EXIT_USAGE
    model = trainer.model
    print(f"Training {describe_model(model_config)} on {len(train_set)} images "
          f"({trainer.device}, seed {args.seed}, {args.epochs} epochs)")

    failure = None
    total_batches = args.epochs * trainer.batches_per_epoch
    with tqdm(total=total_batches, unit="batch", dynamic_ncols=True, mininterval=0.5) as bar:
        try:
            for stats in trainer.run():
                if isinstance(stats, BatchStats):
                    bar.update(1)
                    if stats.batch % 25 == 0:
                        bar.set_postfix(epoch=stats.epoch, loss=f"{stats.loss:.1f}")
                    continue
                test = stats.test
                bar.write(
                    f"epoch {stats.epoch:>3}/{stats.epochs}  train {stats.train.total:7.2f}  "
                    f"test {test.total:7.2f} nats/image (reconstruction {test.reconstruction:.2f} "
                    f"+ KL {test.kl:.2f})  {stats.epoch_seconds:.1f}s"
                )
        except KeyboardInterrupt:
            control.cancel()
            failure = "interrupted"
        except TrainingDiverged as exc:
            failure = str(exc)

    epochs_done = len(trainer.history)
    if failure and epochs_done == 0:
        fail(f"training stopped before the first epoch ended ({failure}); nothing was saved")
        return EXIT_FAILED

    model.eval()
    metrics = summary_metrics(trainer)  # the test figure as `evaluate` and the tests recompute it
    if args.iwae_k and not failure:
        with torch.no_grad():
            generator = torch.Generator(device=trainer.device).manual_seed(0)
            ll = iwae_log_likelihood(model, test_set.images.to(trainer.device), args.iwae_k, generator)
        metrics["test_iwae_log_likelihood"] = ll.mean().item()
        metrics["iwae_k"] = args.iwae_k
    provenance = {
        "command": shlex.join(["vae-explorer", *args.argv]),
        "seed": args.seed,
        "device": str(trainer.device),
        "vae_explorer": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    target = _partial_path(output) if failure else output
    save_checkpoint(
        Checkpoint(model, train_config, metrics, train_set.name, provenance), target
    )
    summary = (f"test negative ELBO {metrics['test_loss']:.2f} nats/image "
               f"(reconstruction {metrics['test_reconstruction']:.2f} + KL {metrics['test_kl']:.2f})")
    if "test_iwae_log_likelihood" in metrics:
        summary += f"; IWAE log p(x) >= {metrics['test_iwae_log_likelihood']:.2f} (k={args.iwae_k})"
    if failure:
        fail(f"training stopped after {epochs_done} epoch(s): {failure}\n"
             f"The last finite weights were saved to {target} ({summary}).")
        return EXIT_FAILED
    print(f"Saved {target}: {summary}")
    return 0
