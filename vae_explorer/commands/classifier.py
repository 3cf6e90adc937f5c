"""`vae-explorer train-classifier` and `vae-explorer evaluate CLASSIFIER [--model FILE]`.

The classifier is the probe of what a model's decodes show: its accuracy on
the test split, on a model's reconstructions of that split (how much of the
class the model keeps), and the classes it gives a model's prior samples (how
evenly the prior covers them).
"""

from __future__ import annotations

import argparse

from vae_explorer.commands.report import EXIT_FAILED, EXIT_USAGE, fail

PRIOR_SAMPLES = 10_000


def run_train_classifier(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from vae_explorer.core.checkpoint_header import CheckpointError
    from vae_explorer.core.classifier import (
        QUICK_RECIPE, ClassifierProgress, ClassifierRecipe, fit_classifier, save_classifier,
    )
    from vae_explorer.core import config as cfg
    from vae_explorer.core.config import ConfigError
    from vae_explorer.commands.evaluate import _test_split
    from vae_explorer.core.data import DataUnavailableError, load_dataset, resolve_data_dir
    from vae_explorer.core.outputs import OutputPathError, check_output_target

    base = QUICK_RECIPE if args.quick else ClassifierRecipe()
    given = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr}
    recipe = cfg.replace(base, seed=args.seed, **{k: v for k, v in given.items() if v is not None})
    try:
        output = check_output_target(args.output)
        data_dir = str(resolve_data_dir(args.data_dir))
        train = load_dataset(args.dataset, data_dir, "train")
        test = _test_split(args.dataset, data_dir)
    except (OutputPathError, DataUnavailableError, ConfigError) as exc:
        fail(str(exc))
        return EXIT_USAGE
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, args.threads))
    batches = (len(train) + recipe.batch_size - 1) // recipe.batch_size
    bar = tqdm(total=recipe.epochs * batches, unit="batch")
    try:
        for step in fit_classifier(train, test, args.dataset, recipe):
            if isinstance(step, ClassifierProgress):
                bar.update((step.epoch - 1) * step.batches + step.batch - bar.n)
                bar.set_postfix(epoch=step.epoch, loss=f"{step.loss:.3f}")
            else:
                trained = step
    except KeyboardInterrupt:
        fail("interrupted; nothing was written")
        return EXIT_FAILED
    except ConfigError as exc:
        fail(str(exc))
        return EXIT_USAGE
    finally:
        bar.close()
        torch.set_num_threads(threads)
    trained.provenance["command"] = "vae-explorer " + " ".join(getattr(args, "argv", []))
    try:
        save_classifier(trained, output)
    except (OSError, CheckpointError) as exc:
        fail(f"could not write {output}: {exc}")
        return EXIT_FAILED
    epochs = f"{recipe.epochs} epoch{'' if recipe.epochs == 1 else 's'}"
    print(f"Saved {output}: test accuracy {100 * trained.metrics['test_accuracy']:.2f}% after {epochs} "
          f"({trained.metrics['train_seconds']:.0f} s)")
    return 0


def run_evaluate_classifier(args: argparse.Namespace) -> int:
    from vae_explorer.commands.evaluate import _test_split
    from vae_explorer.core.checkpoint import CheckpointError, load_checkpoint
    from vae_explorer.core.classifier import accuracy, load_classifier, probe_figures
    from vae_explorer.core.data import DataUnavailableError
    from vae_explorer.core.session import frozen_copy

    try:
        probe = load_classifier(args.checkpoint_file)
        test = _test_split(probe.dataset, args.data_dir)
        explored = load_checkpoint(args.model, device="cpu") if args.model else None
    except (CheckpointError, DataUnavailableError) as exc:
        fail(str(exc))
        return EXIT_USAGE
    if args.limit:
        test = test.subset(args.limit)
    classifier = probe.model
    print(f"classifier   {probe.path} (trained on {probe.dataset})")
    print(f"test images  {len(test):,}")
    print(f"test accuracy              {100 * accuracy(classifier, test.images, test.labels):6.2f}%")
    if explored is None:
        return 0
    if explored.dataset != probe.dataset:
        fail(f"the model was trained on {explored.dataset}, the classifier on {probe.dataset}")
        return EXIT_USAGE
    model = frozen_copy(explored.model)
    figures = probe_figures(classifier, model, test, PRIOR_SAMPLES, args.seed)
    print(f"model        {explored.path.name}: {model.describe()}")
    print(f"accuracy on its reconstructions {100 * figures.reconstruction_accuracy:6.2f}% "
          "(the class the model keeps)")
    if figures.prior_shares is None:
        print("prior samples              not drawn: this model has no prior over z")
        return 0
    names = test.class_names
    spread = ", ".join(f"{names[i]} {100 * float(share):.1f}%" for i, share in enumerate(figures.prior_shares))
    print(f"classes of {PRIOR_SAMPLES:,} prior samples: {spread}")
    print(f"evenness of the prior's classes (normalised entropy, 1 = all equal) {figures.evenness:.3f}")
    return 0
