"""`vae-explorer evaluate CHECKPOINT`: test ELBO terms, an IWAE estimate, and what the file records."""

from __future__ import annotations

import argparse

from vae_explorer.commands.report import EXIT_USAGE, fail


def run_evaluate(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from vae_explorer.core.checkpoint import CheckpointError, load_checkpoint
    from vae_explorer.core.config import ConfigError
    from vae_explorer.core.data import DataUnavailableError
    from vae_explorer.core.devices import DeviceUnavailableError, resolve_device
    from vae_explorer.core.evaluation import evaluate_terms, iwae_log_likelihood

    if args.iwae_k < 0 or args.limit < 0:
        fail("--iwae-k and --limit must be zero or positive")
        return EXIT_USAGE
    try:
        device = resolve_device(args.device)
        checkpoint = load_checkpoint(args.checkpoint_file, device=device)
        test_set = _test_split(checkpoint.dataset, args.data_dir)
    except (CheckpointError, ConfigError, DataUnavailableError, DeviceUnavailableError) as exc:
        fail(str(exc))
        return EXIT_USAGE
    if args.limit:
        test_set = test_set.subset(args.limit)
    model = checkpoint.model
    beta = checkpoint.train_config.beta if checkpoint.train_config else 1.0
    print(f"checkpoint   {checkpoint.path}")
    print(f"model        {model.describe()}, trained on {checkpoint.dataset}")
    print(f"test images  {len(test_set)} ({'from ' + args.data_dir if args.data_dir else 'bundled MNIST test split'})")
    terms = evaluate_terms(model, test_set, beta=1.0, seed=args.seed)
    others = model.terms_text(terms)  # listed, not summed: the loss may weight them
    label = model.term_labels.get("loss", "loss")
    print(f"test {label:<13} {terms['loss']:8.2f} nats/image" + (f" ({others})" if others else ""))
    if beta != 1.0 and "kl" in terms:
        print(f"  (figures at beta = 1; this model trained with beta = {beta:g})")
    for name, value in model.extra_figures(test_set.images.to(device), test_set.labels.to(device)).items():
        print(f"{name:<18} {value:8.2f}")
    if args.iwae_k and not (model.has_posterior and model.has_likelihood):
        print(f"IWAE               not available for a {checkpoint.kind} model")
    elif args.iwae_k:
        generator = torch.Generator(device=device).manual_seed(args.seed)
        images = test_set.images.to(device)
        chunk = 500
        parts = []
        with torch.no_grad():
            for start in tqdm(range(0, len(test_set), chunk), desc=f"IWAE k={args.iwae_k}",
                              unit="chunk", leave=False):
                parts.append(iwae_log_likelihood(model, images[start : start + chunk], args.iwae_k, generator,
                                                 labels=test_set.labels[start : start + chunk].to(device)))
        ll = torch.cat(parts).mean().item()
        print(f"IWAE log p(x) >=   {ll:8.2f} nats/image (k={args.iwae_k}; -log p(x) <= {-ll:.2f})")
    print_stored(checkpoint.provenance, checkpoint.metrics)
    return 0


def _test_split(dataset: str, data_dir: str | None):
    """The checkpoint's dataset's test split: from --data-dir, else (MNIST only) the bundled copy."""
    from vae_explorer.core.data import DataUnavailableError, load_bundled_test_split, load_dataset
    from vae_explorer.core.datasets import dataset_info

    info = dataset_info(dataset)
    if data_dir:
        return load_dataset(dataset, data_dir, "test")
    if info.bundled_test:
        # The bundled split is the MNIST test split itself.
        return load_bundled_test_split()
    raise DataUnavailableError(f"this model was trained on {info.title}: give --data-dir, the folder "
                               f"holding {info.folder}/raw/, to evaluate it on its test split")


def print_stored(provenance: dict, metrics: dict) -> None:
    """What the file says about itself: how it was made, and the figures recorded when it was.

    The loader keeps only plain values, but any of them may be missing or of an
    unexpected type in a file from elsewhere; those are skipped, never fatal.
    """

    def text(key: str) -> str:
        value = provenance.get(key)
        return "not recorded" if value is None or value == "" else str(value)

    print("stored in the file")
    print(f"  command        {text('command')}")
    print(f"  seed           {text('seed')}")
    print(f"  versions       vae_explorer {text('vae_explorer')}, torch {text('torch')}, python {text('python')}")
    numbers = {key: value for key, value in metrics.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    print("recorded figures" + ("" if numbers else "  none"))
    for key, value in sorted(numbers.items()):
        print(f"  {key:<26} {_figure(value):>12}")


def _figure(value: int | float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.2f}" if abs(value) < 1e9 else f"{value:.4g}"  # nan and inf fall to the second
