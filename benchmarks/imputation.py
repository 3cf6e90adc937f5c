"""How well each imputation method fills in the middle rows (10-17) of all 10,000 MNIST test digits.

Prints the mean squared error on the erased pixels (pixels in [0, 1]) for:
the training-set mean image, the nearest training image by the observed
pixels, iterative (pseudo-Gibbs) imputation, and the grid posterior mean,
then the ratios the issue sets as targets:
  grid posterior mean beats nearest neighbour by >= 15%;
  iterative beats the mean image.
With --refined N (200 by default) it also compares, on the first N digits,
the Impute tab's grid posterior (refined onto a fine grid over its mass)
with the coarse grid alone.

    OMP_NUM_THREADS=1 python benchmarks/imputation.py [--checkpoint FILE] [--data-dir DIR] [--refined N]

Needs the MNIST training split (for the two baselines); it looks in
--data-dir, $VAE_EXPLORER_DATA, then ../shared/mnist.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
from vae_explorer.core.data import load_bundled_test_split, load_mnist, resolve_data_dir
from vae_explorer.core.imputation import (
    MIDDLE_ROWS,
    REFINED_CELLS,
    LatentGrid,
    grid_posterior,
    grid_posterior_mean_batch,
    grid_unavailable,
    iterative_impute_batch,
    preset_mask,
    preset_rows,
    refined,
)
from vae_explorer.core.models.base import WithClass


def erased_mse(imputed: np.ndarray, originals: np.ndarray, erased_flat: np.ndarray) -> float:
    return float(np.mean((imputed[:, erased_flat] - originals[:, erased_flat]) ** 2, dtype=np.float64))


def nearest_neighbour_fill(
    train: torch.Tensor, test: torch.Tensor, observed: np.ndarray, chunk: int = 1000
) -> np.ndarray:
    """Erased pixels copied from the training image closest on the observed pixels.

    ||a - b||^2 = |a|^2 + |b|^2 - 2 a.b over observed columns, a 10k x 60k
    distance matrix computed one chunk of test images at a time by matmul.
    """
    cols = torch.as_tensor(observed)
    train_obs = train[:, cols]
    train_sq = train_obs.pow(2).sum(dim=1)
    fills = []
    for start in range(0, test.shape[0], chunk):
        part = test[start : start + chunk, cols]
        distances = train_sq[None, :] - 2 * part @ train_obs.T  # |a|^2 is constant per row
        fills.append(train[distances.argmin(dim=1)])
    nearest = torch.cat(fills)
    return torch.where(torch.as_tensor(~observed), nearest, test).numpy()


def compare_refined(grids: list[LatentGrid], rows: list[np.ndarray], originals: np.ndarray,
                    erased: np.ndarray, count: int) -> None:
    """The Impute tab's grid posterior (refined onto a fine grid over its mass) against the coarse
    grid alone, on the first `count` digits: one image at a time, as the tab does."""
    mask = erased.reshape(grids[0].model.image_shape)
    coarse_errors, fine_errors, refined_count = [], [], 0
    start = time.perf_counter()
    for grid, in_group in zip(grids, rows):
        for index in np.flatnonzero(in_group):
            if index >= count:
                break
            image = originals[index].reshape(mask.shape)
            coarse = grid_posterior(grid, image, mask)
            fine = refined(coarse)
            refined_count += fine is not coarse
            coarse_errors.append(erased_mse(coarse.mean_image.reshape(1, -1), image.reshape(1, -1), erased))
            fine_errors.append(erased_mse(fine.mean_image.reshape(1, -1), image.reshape(1, -1), erased))
    elapsed = time.perf_counter() - start
    print(f"\nfirst {len(fine_errors)} digits, one at a time ({refined_count} narrow enough to refine, "
          f"{elapsed:.1f} s):")
    print(f"{'  grid posterior mean, coarse grid only':<38} MSE {np.mean(coarse_errors):.4f}")
    print(f"{f'  grid posterior mean, refined ({REFINED_CELLS}^2)':<38} MSE {np.mean(fine_errors):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(default_checkpoint_path()))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--iterations", type=int, default=30, help="rounds of the iterative method")
    parser.add_argument("--grid-extent", type=float, default=4.0)
    parser.add_argument("--grid-resolution", type=int, default=100)
    parser.add_argument("--refined", type=int, default=200, metavar="N",
                        help="also compare the refined (fine) grid with the coarse one on the first N digits; 0: skip")
    args = parser.parse_args()

    data_dir = resolve_data_dir(args.data_dir)
    if not (data_dir / "MNIST").exists() and Path("../shared/mnist/MNIST").exists():
        data_dir = Path("../shared/mnist")
    train = load_mnist(data_dir, "train", download=False).images
    test_set = load_bundled_test_split()
    test = test_set.images
    checkpoint = load_checkpoint(args.checkpoint)
    model = checkpoint.model.eval()
    print(f"checkpoint: {args.checkpoint}")
    recorded = checkpoint.metrics.get("test_loss", "n/a")
    print(f"  {checkpoint.kind}: {model.describe()}; recorded test loss {recorded} nats")
    print(f"  config: {checkpoint.model_config}")
    shape = model.image_shape
    first, last = preset_rows(MIDDLE_ROWS, shape[0])
    print(f"torch threads: {torch.get_num_threads()}; {test.shape[0]} test images, rows {first}-{last} erased\n")

    erased = preset_mask(MIDDLE_ROWS, shape).reshape(-1)
    originals = test.numpy()
    results: dict[str, tuple[float, float]] = {}

    def record(name: str, run) -> None:
        start = time.perf_counter()
        imputed = run()
        elapsed = time.perf_counter() - start
        results[name] = (erased_mse(imputed, originals, erased), elapsed)
        print(f"{name:<38} MSE {results[name][0]:.4f}   ({elapsed:6.1f} s)")

    record("masked input (erased = 0)", lambda: np.where(erased, 0.0, originals))
    mean_image = train.mean(dim=0).numpy()
    record("training-set mean image", lambda: np.where(erased, mean_image, originals))
    # A conditional model imputes each digit told its class: one pass per class, with it bound.
    labels = test_set.labels.numpy()
    groups = ([(WithClass(model, c), labels == c) for c in range(model.num_classes)]
              if model.is_conditional else [(model, np.ones(len(labels), bool))])

    def per_group(method) -> np.ndarray:
        out = originals.copy()
        for bound, rows in groups:
            if rows.any():
                out[rows] = method(bound, test[torch.as_tensor(rows)])
        return out

    with torch.no_grad():
        record("nearest training image (observed)", lambda: nearest_neighbour_fill(train, test, ~erased))
        record(
            f"iterative, {args.iterations} rounds" + (" (told the class)" if model.is_conditional else ""),
            lambda: per_group(lambda m, x: iterative_impute_batch(m, x, erased, steps=args.iterations)),
        )
        grids: list[LatentGrid] = []  # one per group, kept for the refined comparison below
        if grid_unavailable(groups[0][0]) is None:
            def grid_mean() -> np.ndarray:
                def one(m, x):
                    grids.append(LatentGrid(m, args.grid_extent, args.grid_resolution).build())
                    return grid_posterior_mean_batch(grids[-1], x, erased)
                return per_group(one)

            record(
                f"grid posterior mean ({args.grid_resolution}^2 over ±{args.grid_extent:g})", grid_mean
            )
            if args.refined:
                compare_refined(grids, [rows for _, rows in groups], originals, erased, args.refined)

    mean_mse = results["training-set mean image"][0]
    nn_mse = results["nearest training image (observed)"][0]
    iterative_mse = next(v[0] for k, v in results.items() if k.startswith("iterative"))
    print()
    print(f"iterative / mean image         = {iterative_mse / mean_mse:.3f}  (target < 1)")
    grid = [v[0] for k, v in results.items() if k.startswith("grid")]
    if grid:
        gain = 1 - grid[0] / nn_mse
        print(f"grid posterior / nearest image = {grid[0] / nn_mse:.3f}  "
              f"(beats it by {100 * gain:.1f}%; target >= 15%)")


if __name__ == "__main__":
    main()
