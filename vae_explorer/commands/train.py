"""`vae-explorer train`: core's training run, rendered in a terminal with a progress bar."""

from __future__ import annotations

import argparse
import shlex
import signal
from contextlib import contextmanager

from vae_explorer.commands.report import EXIT_FAILED, EXIT_USAGE, fail


@contextmanager
def _ctrl_c_cancels(control):
    """While training, Ctrl+C asks the run to stop after its batch, so it can save what it reached."""
    def on_interrupt(signum, frame):
        control.cancel()

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: leave Ctrl+C alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _terms_text(kind_class, terms: dict[str, float]) -> str:
    others = kind_class.terms_text(terms)  # listed, not summed: the loss may weight them
    return f"{terms['loss']:7.2f} nats/image" + (f" ({others})" if others else "")


def run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vae_explorer.core.config import ConfigError, TrainConfig
    from vae_explorer.core.models import registry
    from vae_explorer.core.training.control import TrainingControl
    from vae_explorer.core.training.events import (
        BatchStats, Cancelled, Diverged, EpochDone, Failed, Finished, Started, Status,
    )
    from vae_explorer.core.training.run import TrainingRequest, run_training
    from vae_explorer.commands import model_options
    from vae_explorer.commands.model_options import describe_settings

    try:
        kind_class = registry.get_kind(args.kind)
        kind = kind_class.kind
        if args.list_settings:
            print(f"{kind} settings (--set NAME=VALUE):\n{describe_settings(kind_class)}")
            return 0
        shortcuts = {"latent_dim": args.latent_dim, "hidden": args.hidden, "likelihood": args.likelihood,
                     "architecture": args.architecture}
        model_config = model_options.model_config(kind_class, shortcuts, args.settings)
        train_config = TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
            lr_schedule=args.lr_schedule, beta=args.beta, kl_warmup_epochs=args.kl_warmup,
            seed=args.seed, device=args.device, num_threads=args.threads, dataset=args.dataset,
        )
    except ConfigError as exc:
        fail(str(exc))
        return EXIT_USAGE
    if args.iwae_k < 0:
        fail("--iwae-k must be zero or positive")
        return EXIT_USAGE

    request = TrainingRequest(
        kind=kind, model_config=model_config, train_config=train_config, data_dir=args.data_dir,
        output=args.output, iwae_k=args.iwae_k, source=shlex.join(["vae-explorer", *args.argv]),
    )
    control = TrainingControl()
    bar = None
    try:
        with _ctrl_c_cancels(control):
            for event in run_training(request, control):
                if isinstance(event, BatchStats):
                    bar.update(1)
                    if event.batch % 25 == 0:
                        bar.set_postfix(epoch=event.epoch, loss=f"{event.loss:.1f}")
                elif isinstance(event, EpochDone):
                    stats = event.stats
                    test = f"  test {_terms_text(registry.get_kind(kind), stats.test)}" if stats.test else ""
                    bar.write(f"epoch {stats.epoch:>3}/{stats.epochs}  train {stats.train['loss']:7.2f}"
                              f"{test}  {stats.epoch_seconds:.1f}s")
                elif isinstance(event, Status):
                    print(event.message, flush=True)
                elif isinstance(event, Started):
                    threads = f", {event.threads} thread(s)" if event.threads else ""
                    print(f"Training {event.description} on {event.train_images:,} images "
                          f"({event.device}{threads}, seed {args.seed}, {event.epochs} epochs)", flush=True)
                    bar = tqdm(total=event.epochs * event.batches_per_epoch, unit="batch",
                               dynamic_ncols=True, mininterval=0.5)
                elif isinstance(event, Finished):
                    return _report_finished(event, bar)
                elif isinstance(event, (Cancelled, Diverged)):
                    _close(bar)
                    fail(event.message)
                    return EXIT_FAILED
                elif isinstance(event, Failed):
                    _close(bar)
                    fail(event.message)
                    return EXIT_USAGE if event.user_error else EXIT_FAILED
    finally:
        _close(bar)
    fail("training ended without a result")
    return EXIT_FAILED


def _close(bar) -> None:
    if bar is not None:
        bar.close()


def _report_finished(event, bar) -> int:
    _close(bar)
    metrics = event.checkpoint.metrics
    summary = f"test loss {metrics['test_loss']:.2f} nats/image" if "test_loss" in metrics else "trained"
    if "test_iwae_log_likelihood" in metrics:
        summary += f"; IWAE log p(x) >= {metrics['test_iwae_log_likelihood']:.2f} (k={metrics['iwae_k']})"
    if event.saved_to is None:
        fail(f"the model trained ({summary}) but could not be saved: {event.note}")
        return EXIT_FAILED
    if event.note:
        fail(event.note)
        print(f"Saved {event.saved_to} instead: {summary}")
        return EXIT_FAILED
    print(f"Saved {event.saved_to}: {summary}")
    return 0
