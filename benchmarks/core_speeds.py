"""The core's own speeds with the shipped 2-D VAE, 1 thread: encoding all 70,000 MNIST images, the
manifold at 20x20 and 40x40, the exact posterior of one image, and the gaps of test images.

Each is run --repeats times and the median printed, beside the per-image figure where there is one.
It is a benchmark, not a test: it always exits 0.

    OMP_NUM_THREADS=1 python benchmarks/core_speeds.py [--repeats 3] [--gaps-images 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def timed(repeats: int, work) -> float:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("VAE_EXPLORER_DATA") or
                        str(REPO_ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gaps-images", type=int, default=100, help="test images for the gaps")
    args = parser.parse_args()

    import torch

    from vae_explorer.core import latent
    from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
    from vae_explorer.core.data import load_dataset
    from vae_explorer.core.gaps import exact_posterior, inference_gaps
    from vae_explorer.core.session import ExplorerSession, encode_dataset

    torch.set_num_threads(1)
    checkpoint = load_checkpoint(default_checkpoint_path())
    train, test = (load_dataset("mnist", args.data_dir, split, download=False) for split in ("train", "test"))
    images = torch.cat([train.images, test.images])
    model = checkpoint.model
    session = ExplorerSession.create(checkpoint, test)
    print(f"shipped 2-D VAE, 1 thread, median of {args.repeats}")

    seconds = timed(args.repeats, lambda: encode_dataset(model, images))
    print(f"encode {len(images):,} images          {seconds:7.3f} s   ({1e6 * seconds / len(images):.1f} µs an image)")
    for side in (20, 40):
        seconds = timed(args.repeats, lambda s=side: session.decode(latent.manifold_grid(s)))
        print(f"manifold {side}x{side} ({side * side:,} decodes)  {1000 * seconds:7.1f} ms")
    one = test.images[:1]
    seconds = timed(args.repeats, lambda: exact_posterior(model, one))
    print(f"exact posterior of one image     {1000 * seconds:7.1f} ms")
    part = test.images[: args.gaps_images]
    seconds = timed(1, lambda: inference_gaps(model, part))
    print(f"gaps of {len(part)} test images         {seconds:7.2f} s   ({1000 * seconds / len(part):.0f} ms an image; "
          f"the whole test split at this rate: {seconds / len(part) * len(test) / 60:.0f} min)")


if __name__ == "__main__":
    main()
