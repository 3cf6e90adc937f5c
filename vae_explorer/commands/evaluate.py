"""`vae-explorer evaluate CHECKPOINT`: test ELBO terms and an IWAE estimate."""

from __future__ import annotations

import argparse

from vae_explorer.cli import EXIT_USAGE
from vae_explorer.commands.report import describe_model, fail


def run_evaluate(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from vae_explorer.core.checkpoint import CheckpointError, load_checkpoint
    from vae_explorer.core.data import DataUnavailableError, load_bundled_test_split, load_mnist
    from vae_explorer.core.devices import DeviceUnavailableError, resolve_device
    from vae_explorer.core.losses import iwae_log_likelihood
    from vae_explorer.core.training import evaluate_elbo

    if args.iwae_k < 0 or args.limit < 0:
        fail("--iwae-k and --limit must be zero or positive")
        return EXIT_USAGE
    try:
        device = resolve_device(args.device)
        checkpoint = load_checkpoint(args.checkpoint_file, device=device)
        # The bundled split is the MNIST test split itself; --data-dir reads it from a folder instead.
        test_set = load_mnist(args.data_dir, "test") if args.data_dir else load_bundled_test_split()
    except (CheckpointError, DataUnavailableError, DeviceUnavailableError) as exc:
        fail(str(exc))
        return EXIT_USAGE
    if args.limit:
        test_set = test_set.subset(args.limit)
    model = checkpoint.model
    beta = checkpoint.train_config.beta if checkpoint.train_config else 1.0
    print(f"checkpoint   {checkpoint.path}")
    print(f"model        {describe_model(checkpoint.model_config)}, trained on {checkpoint.dataset}")
    print(f"test images  {len(test_set)} ({'from ' + args.data_dir if args.data_dir else 'bundled MNIST test split'})")
    terms = evaluate_elbo(model, test_set, beta=1.0, seed=args.seed)
    print(f"negative ELBO      {terms.total:8.2f} nats/image "
          f"(reconstruction {terms.reconstruction:.2f} + KL {terms.kl:.2f})")
    if beta != 1.0:
        print(f"training loss      {terms.reconstruction + beta * terms.kl:8.2f} nats/image (beta = {beta:g})")
    recorded = checkpoint.metrics.get("test_loss")
    if recorded is not None:
        print(f"recorded in file   {recorded:8.2f} nats/image")
    if args.iwae_k:
        generator = torch.Generator(device=device).manual_seed(args.seed)
        images = test_set.images.to(device)
        chunk = 500
        parts = []
        with torch.no_grad():
            for start in tqdm(range(0, len(test_set), chunk), desc=f"IWAE k={args.iwae_k}",
                              unit="chunk", leave=False):
                parts.append(iwae_log_likelihood(model, images[start : start + chunk], args.iwae_k, generator))
        ll = torch.cat(parts).mean().item()
        print(f"IWAE log p(x) >=   {ll:8.2f} nats/image (k={args.iwae_k}; -log p(x) <= {-ll:.2f})")
    return 0
