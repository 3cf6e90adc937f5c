"""`vae-explorer gaps FILE`: log p(x), the two ELBOs and the gaps between them, averaged over test images."""

from __future__ import annotations

import argparse

from vae_explorer.commands.report import EXIT_USAGE, fail

CHUNK = 25  # images per step of the progress bar


def run_gaps(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from vae_explorer.commands.evaluate import _test_split
    from vae_explorer.core.checkpoint import CheckpointError, load_checkpoint
    from vae_explorer.core.config import ConfigError
    from vae_explorer.core.data import DataUnavailableError
    from vae_explorer.core.evaluation import iwae_log_likelihood
    from vae_explorer.core.gaps import gaps_problem, inference_gaps

    if args.limit < 0:
        fail("--limit must be zero or positive")
        return EXIT_USAGE
    try:
        checkpoint = load_checkpoint(args.checkpoint_file, device="cpu")
        test_set = _test_split(checkpoint.dataset, args.data_dir)
    except (CheckpointError, ConfigError, DataUnavailableError) as exc:
        fail(str(exc))
        return EXIT_USAGE
    model = checkpoint.model.eval()
    problem = gaps_problem(model)
    if problem is not None:
        fail(problem)
        return EXIT_USAGE
    if args.limit:
        test_set = test_set.subset(args.limit)
    images = test_set.images
    print(f"checkpoint   {checkpoint.path}")
    print(f"model        {model.describe()}")
    print(f"test images  {len(images):,}; exact log p(x) on an adaptive grid, q* by {args.steps} Adam steps")
    sums = {"log_px": 0.0, "best": 0.0, "encoder": 0.0, "iwae": 0.0}
    generator = torch.Generator().manual_seed(args.seed)
    with tqdm(total=len(images), unit="image", desc="gaps", leave=False) as bar:
        for start in range(0, len(images), CHUNK):
            x = images[start : start + CHUNK]
            gaps = inference_gaps(model, x, steps=args.steps, seed=args.seed + start)
            with torch.no_grad():
                iwae = iwae_log_likelihood(model, x, 100, generator)
            sums["log_px"] += float(gaps.log_px.sum())
            sums["best"] += float(gaps.elbo_best.sum())
            sums["encoder"] += float(gaps.elbo_encoder.sum())
            sums["iwae"] += float(iwae.sum())
            bar.update(len(x))
    n = len(images)
    log_px, best, encoder, iwae = (sums[k] / n for k in ("log_px", "best", "encoder", "iwae"))
    for label, value in (("log p(x)", log_px), ("ELBO q*", best), ("ELBO q", encoder), ("IWAE", iwae),
                         ("approximation gap", log_px - best), ("amortization gap", best - encoder)):
        print(f"{label:<18} {value:9.2f} nats")
    print("(means per image; IWAE with k = 100; approximation gap = log p(x) - ELBO q*, "
          "amortization gap = ELBO q* - ELBO q)")
    return 0
