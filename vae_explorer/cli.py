"""Command line: `vae-explorer` opens the GUI; `train` and `evaluate` run headless."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vae_explorer import __version__
from vae_explorer.core.config import DATASETS, ConfigError, TrainConfig, parse_hidden_sizes


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder holding MNIST in torchvision layout (DIR/MNIST/raw/...); "
        "default: $VAE_EXPLORER_DATA, else a per-user data folder",
    )
    parser.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda", "mps"],
        help="where the model runs; auto picks cuda, then mps, then cpu (default: auto)",
    )


def _hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        return parse_hidden_sizes(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vae-explorer",
        description="Train a variational autoencoder on MNIST and explore its latent space. "
        "With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"vae-explorer {__version__}")
    parser.add_argument(
        "--checkpoint", metavar="FILE", help="model to open (default: the shipped 2-D model)"
    )
    _add_common(parser)
    commands = parser.add_subparsers(dest="command", metavar="{train,evaluate,gaps,train-classifier}")

    train = commands.add_parser("train", help="train a VAE and write a checkpoint")
    _add_common(train)
    train.add_argument("--output", "-o", default="vae.safetensors", metavar="FILE",
                       help="checkpoint to write (default: vae.safetensors)")
    # The app's Start uses the same defaults: both read them from TrainConfig.
    train.add_argument("--epochs", type=int, default=TrainConfig.epochs,
                       help=f"passes over the training split (default: {TrainConfig.epochs})")
    train.add_argument("--batch-size", type=int, default=TrainConfig.batch_size,
                       help=f"images per step (default: {TrainConfig.batch_size})")
    train.add_argument("--lr", type=float, default=TrainConfig.learning_rate,
                       help=f"Adam learning rate (default: {TrainConfig.learning_rate:g})")
    train.add_argument("--lr-schedule", choices=["constant", "cosine"], default=TrainConfig.lr_schedule,
                       help="constant, or cosine: anneal the rate to zero by the last epoch "
                       f"(default: {TrainConfig.lr_schedule})")
    train.add_argument("--kind", default="vae", metavar="KIND",
                       help="model kind: vae, autoencoder, denoising_autoencoder, conditional_vae, vq_vae, "
                       "vae_gan (default: vae); --list-settings shows a kind's settings")
    train.add_argument("--dataset", default="mnist", choices=list(DATASETS),
                       help="dataset in torchvision layout under --data-dir (default: mnist)")
    train.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (default: 1)")
    train.add_argument("--kl-warmup", type=int, default=0, metavar="EPOCHS",
                       help="raise the KL weight linearly from 0 to beta over this many epochs (default: 0)")
    train.add_argument("--latent-dim", type=int, default=None, help="size of z (default: the kind's, 2 for a VAE)")
    train.add_argument("--hidden", type=_hidden_sizes, default=None, metavar="W1,W2,...",
                       help="encoder hidden widths; the decoder mirrors them (default: 512,256)")
    train.add_argument("--architecture", default=None, metavar="mlp|conv",
                       help="encoder and decoder: mlp or conv, for the kinds that offer both")
    train.add_argument("--likelihood", default=None, metavar="NAME",
                       help="p(x|z): bernoulli (cross-entropy), gaussian (squared error, fixed variance) "
                       "or learned_gaussian, where the kind offers them")
    train.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                       help="any model setting, e.g. --set codebook_size=128 (repeatable)")
    train.add_argument("--list-settings", action="store_true", help="print the kind's settings and exit")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--threads", type=int, default=0,
                       help="CPU threads for training (default 0: one thread, the fastest on a busy "
                       "machine; more pay off only on an idle one)")
    train.add_argument("--iwae-k", type=int, default=0, metavar="K",
                       help="also record an IWAE log-likelihood estimate with K samples (default: skip)")

    evaluate = commands.add_parser("evaluate", help="report test ELBO and an IWAE log-likelihood estimate")
    evaluate.add_argument("checkpoint_file", metavar="CHECKPOINT", help="checkpoint to evaluate")
    _add_common(evaluate)
    evaluate.add_argument("--iwae-k", type=int, default=100, metavar="K",
                          help="importance samples per image (default: 100; the classic reference uses 5000)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed for the sampled terms (default: 0)")
    evaluate.add_argument("--limit", type=int, default=0, metavar="N", help="use only the first N test images")
    evaluate.add_argument("--model", default=None, metavar="FILE",
                          help="with a classifier: also its accuracy on this model's reconstructions and the "
                          "classes of this model's prior samples")

    probe = commands.add_parser("train-classifier", help="train the digit classifier that probes decoded images")
    _add_common(probe)
    probe.add_argument("--output", "-o", default="classifier.safetensors", metavar="FILE",
                       help="file to write (default: classifier.safetensors)")
    probe.add_argument("--dataset", default="mnist", choices=list(DATASETS), help="dataset (default: mnist)")
    probe.add_argument("--quick", action="store_true",
                       help="the app's small recipe: 8 and 16 channels, batch 64, lr 2e-3 (about 4x faster)")
    probe.add_argument("--epochs", type=int, default=None, help="passes over the training split (default: 2)")
    probe.add_argument("--batch-size", type=int, default=None, help="images per step (default: 128; 64 --quick)")
    probe.add_argument("--lr", type=float, default=None, help="Adam learning rate (default: 1e-3; 2e-3 --quick)")
    probe.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    probe.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")

    gaps = commands.add_parser("gaps", help="the approximation and amortization gaps of a 2-D model, in nats")
    gaps.add_argument("checkpoint_file", metavar="CHECKPOINT", help="checkpoint of a model with a 2-D latent")
    _add_common(gaps)
    gaps.add_argument("--limit", type=int, default=0, metavar="N", help="use only the first N test images")
    gaps.add_argument("--steps", type=int, default=300, help="Adam steps of the per-image optimisation (default: 300)")
    gaps.add_argument("--seed", type=int, default=0, help="seed for the noise draws (default: 0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in checkpoints so a model can be remade
    if args.command == "train":
        from vae_explorer.commands.train import run_train

        return run_train(args)
    if args.command == "gaps":
        from vae_explorer.commands.gaps import run_gaps

        return run_gaps(args)
    if args.command == "train-classifier":
        from vae_explorer.commands.classifier import run_train_classifier

        return run_train_classifier(args)
    if args.command == "evaluate":
        from vae_explorer.commands.classifier import run_evaluate_classifier
        from vae_explorer.commands.evaluate import run_evaluate
        from vae_explorer.core.checkpoint_header import CLASSIFIER_FORMAT
        from vae_explorer.core.classifier import file_format

        if file_format(args.checkpoint_file) == CLASSIFIER_FORMAT:
            return run_evaluate_classifier(args)
        return run_evaluate(args)
    from vae_explorer.qt.app import run_app

    return run_app(checkpoint=args.checkpoint, data_dir=args.data_dir, device=args.device)


if __name__ == "__main__":
    sys.exit(main())
