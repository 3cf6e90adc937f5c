"""Seconds per epoch for every model kind, on the CPU, through the project's one training path.

Each variant (a kind with a config) trains `--batches` batches of 128 full
MNIST training images with core.training.Trainer, and its test split is
evaluated once; the epoch time is the measured time per batch times the
batches of one epoch (469) plus the evaluation. Variants alternate in rounds
so all meet the same background load; the median round is reported, with the
ratio to the 2-D MLP VAE measured in the same rounds (the reference).

    python benchmarks/kind_speed.py                      # 1 thread, 3 rounds, 60 batches
    python benchmarks/kind_speed.py --quick              # smoke run
    python benchmarks/kind_speed.py --threads 2 --rounds 5

It is a benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# (label, kind, config overrides); the first is the reference.
VARIANTS = [
    ("VAE, MLP 512-256, 2-D (reference)", "vae", {}),
    ("VAE, MLP 512-256, 20-D", "vae", {"latent_dim": 20}),
    ("VAE, conv, 2-D", "vae", {"architecture": "conv"}),
    ("VAE, learned-variance Gaussian", "vae", {"likelihood": "learned_gaussian"}),
    ("autoencoder, MLP", "autoencoder", {}),
    ("denoising autoencoder, MLP", "denoising_autoencoder", {}),
    ("conditional VAE, MLP", "conditional_vae", {}),
    ("VQ-VAE", "vq_vae", {}),
    ("VAE-GAN, MLP", "vae_gan", {}),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("VAE_EXPLORER_DATA", str(REPO_ROOT.parent / "shared" / "mnist")))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="1 round of 5 batches")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.batches = 1, 5

    import torch

    from vae_explorer.core.config import TrainConfig
    from vae_explorer.core.data import load_mnist
    from vae_explorer.core.evaluation import evaluate_terms
    from vae_explorer.core.models import registry
    from vae_explorer.core.training.trainer import Trainer

    torch.set_num_threads(args.threads)
    train = load_mnist(args.data_dir, "train", download=False)
    test = load_mnist(args.data_dir, "test", download=False)
    batch_size = 128
    per_epoch = math.ceil(len(train) / batch_size)
    sample = train.subset(args.batches * batch_size)
    known = registry.kinds()
    variants = [v for v in VARIANTS if v[1] in known]  # kinds this checkout has
    seconds: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    describe: dict[str, str] = {}
    for round_ in range(args.rounds):
        for label, kind, overrides in variants:
            config = dataclasses.replace(registry.get_kind(kind).Config(), **overrides)
            model = registry.build(kind, config, seed=0)
            describe[label] = model.describe()
            trainer = Trainer(model, sample, None, TrainConfig(epochs=1, batch_size=batch_size, device="cpu",
                                                               num_threads=args.threads))
            steps = trainer.run()
            next(steps)  # the first batch pays for allocation; not timed
            start = time.perf_counter()
            done = 0
            for item in steps:
                done += hasattr(item, "batch")
            per_batch = (time.perf_counter() - start) / max(done, 1)
            start = time.perf_counter()
            evaluate_terms(model, test)
            evaluation = time.perf_counter() - start
            seconds[label].append(per_batch * per_epoch + evaluation)
            print(f"round {round_ + 1}: {label:<36} {seconds[label][-1]:6.1f} s/epoch", flush=True)
    reference = statistics.median(seconds[variants[0][0]])
    print(f"\nSeconds per epoch (60,000 training images, batch {batch_size}, + test evaluation), "
          f"{args.threads} thread(s), median of {args.rounds} round(s) of {args.batches} batches:")
    print(f"{'variant':<38}{'s/epoch':>9}{'x ref':>8}  model")
    for label, _, _ in variants:
        median = statistics.median(seconds[label])
        print(f"{label:<38}{median:9.1f}{median / reference:8.2f}  {describe[label]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
