"""One training run, from a request to a saved checkpoint, as a stream of events.

The CLI renders these events with a progress bar, the GUI turns them into
signals in its worker thread; the run itself (data, checks, provenance, the
partial save when it stops early, the figures recorded) is written once, here.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vae_explorer import __version__
from vae_explorer.core.checkpoint import Checkpoint, CheckpointError
from vae_explorer.core.config import ConfigError, TrainConfig
from vae_explorer.core.data import (
    DataUnavailableError,
    ImageSet,
    load_bundled_test_split,
    load_dataset,
    resolve_data_dir,
)
from vae_explorer.core.datasets import dataset_info, find_raw_files
from vae_explorer.core.devices import DeviceUnavailableError
from vae_explorer.core.evaluation import evaluate_terms, iwae_log_likelihood
from vae_explorer.core.models import registry
from vae_explorer.core.outputs import check_output_target, partial_path, save_with_fallback
from vae_explorer.core.session import encode_dataset, frozen_copy
from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.events import (
    Cancelled,
    Diverged,
    EpochDone,
    Failed,
    Finished,
    Started,
    Status,
)
from vae_explorer.core.training.trainer import BatchStats, Trainer, TrainingDiverged

APP_SOURCE = "vae-explorer app (training panel)"


@dataclass(frozen=True)
class TrainingRequest:
    """Everything one run needs; plain data."""

    kind: str
    model_config: Any  # the kind's config dataclass
    train_config: TrainConfig
    data_dir: str | None = None  # --data-dir, else $VAE_EXPLORER_DATA, else the user data folder
    allow_download: bool = True
    # Given sets skip loading (tests, benchmarks). Otherwise the training split is read
    # from the data folder, and the test split too when it is there (else the bundled one).
    train_set: ImageSet | None = None
    test_set: ImageSet | None = None
    # Re-encoded after every epoch and sent with a copy of the model (the GUI's map).
    display_set: ImageSet | None = None
    # Checkpoint to write, checked before training starts; None keeps the model in memory.
    output: str | Path | None = None
    iwae_k: int = 0  # also record an IWAE bound with this many samples (0: skip)
    source: str = APP_SOURCE  # the command line that asked, for the provenance


def run_training(request: TrainingRequest, control: TrainingControl | None = None) -> Iterator[object]:
    """Yield the run's events (see events.py); never raises for a failure the user can cause."""
    control = control or TrainingControl()
    try:
        output = check_output_target(request.output) if request.output is not None else None
        model = registry.build(request.kind, request.model_config, seed=request.train_config.seed)
        train_set, test_set = yield from _load_data(request)
        if control.cancelled:
            yield Cancelled("training was cancelled before it started; nothing was trained", None, None)
            return
        trainer = Trainer(model, train_set, test_set, request.train_config, control)
    except (CheckpointError, ConfigError, DataUnavailableError, DeviceUnavailableError, OSError) as exc:
        yield Failed(_message_of(exc), user_error=True)
        return
    except (RuntimeError, MemoryError) as exc:
        if not _out_of_memory(exc):
            raise
        yield Failed(_memory_message(request.train_config.device), user_error=False)
        return
    yield Started(model.describe(), str(trainer.device), trainer.threads, len(train_set),
                  request.train_config.epochs, trainer.batches_per_epoch)
    try:
        for item in trainer.run():
            if isinstance(item, BatchStats):
                yield item
            else:
                yield _epoch_done(trainer, item, request.display_set)
    except TrainingDiverged as exc:
        checkpoint, saved, note = _save_partial(request, trainer, output, "diverged")
        yield Diverged(_with_note(str(exc), saved, note), exc.where, checkpoint, saved)
        return
    except (RuntimeError, MemoryError) as exc:
        if not _out_of_memory(exc):
            raise
        yield Failed(_memory_message(str(trainer.device)), user_error=False)
        return
    if control.cancelled or len(trainer.history) < request.train_config.epochs:
        checkpoint, saved, note = _save_partial(request, trainer, output, "cancelled")
        message = f"training was cancelled; the model holds the weights {trainer.position.describe()}"
        yield Cancelled(_with_note(message, saved, note), checkpoint, saved)
        return
    checkpoint = _checkpoint(request, trainer, stopped=None)
    saved, note = save_with_fallback(checkpoint, output) if output is not None else (None, "")
    yield Finished(checkpoint, saved, note)


def _message_of(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _out_of_memory(exc: BaseException) -> bool:
    # torch raises OutOfMemoryError on a GPU and a RuntimeError from its CPU allocator.
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or "out of memory" in text or "can't allocate memory" in text


def _memory_message(device: str) -> str:
    hint = "" if device == "cpu" else ", or train on the CPU"
    return f"training ran out of memory on {device}: try a smaller batch size or smaller layers{hint}"


def _load_data(request: TrainingRequest):
    # The test split always comes from the data set being trained on. MNIST falls back to the
    # bundled copy of its test split. For the other sets the test split is required rather than
    # carved out of the training images: torchvision downloads all four files together, so it is
    # missing only when files were copied in by hand, and a held-out slice would give test
    # figures that cannot be compared with anyone else's. A missing one fails with a message
    # that names its files.
    name = request.train_config.dataset
    info = dataset_info(name)
    train_set, test_set = request.train_set, request.test_set
    # The data folder is read when training from it, or for a test split with no bundled copy.
    root = resolve_data_dir(request.data_dir) if train_set is None or not info.bundled_test else None
    if train_set is None:
        yield Status(f"Loading the {info.short_name} training split from {root}")
        train_set = load_dataset(name, root, "train", download=request.allow_download)
    if test_set is None and root is not None:
        if not info.bundled_test or find_raw_files(root, "test", name) is not None:
            yield Status(f"Loading the {info.short_name} test split from {root}")
            test_set = load_dataset(name, root, "test", download=request.allow_download)
    if test_set is None:
        test_set = load_bundled_test_split()
    return train_set, test_set


@torch.no_grad()
def _epoch_done(trainer: Trainer, stats, display_set: ImageSet | None) -> EpochDone:
    if display_set is None or trainer.control.cancelled:
        return EpochDone(stats)
    # The trainer is suspended at its yield, so the weights hold still while we encode.
    model = trainer.model
    was_training = model.training
    model.eval()
    mean, logvar = encode_dataset(model, display_set.images, display_set.labels)
    model.train(was_training)
    return EpochDone(stats, frozen_copy(model), mean, logvar)


def summary_metrics(trainer: Trainer) -> dict[str, float | int | str]:
    """The figures a checkpoint records, computed the same way whoever trained it.

    The test figures are the plain loss terms (beta 1, noise seed 0) of the
    weights the model holds now, as `vae-explorer evaluate` recomputes them,
    whatever beta and seed the run used.
    """
    position = trainer.position
    metrics: dict[str, float | int | str] = {
        "epochs_completed": position.epochs_completed,
        "batches_into_epoch": position.batch,
    }
    if trainer.history:
        last = trainer.history[-1]
        metrics.update({f"train_{name}": value for name, value in last.train.items()})
        metrics["train_seconds"] = round(last.elapsed, 1)
    test_set = trainer.test_set
    if test_set is not None:
        terms = evaluate_terms(trainer.model, test_set, beta=1.0, seed=0)
        metrics.update({f"test_{name}": value for name, value in terms.items()})
        metrics["evaluation"] = (
            f"{trainer.model.term_labels.get('loss', 'loss')}, nats per image, {test_set.name} "
            f"{test_set.split} split ({len(test_set):,}), one z sample, seed 0"
        )
    return metrics


def _checkpoint(request: TrainingRequest, trainer: Trainer, stopped: str | None) -> Checkpoint:
    model = trainer.model
    model.eval()
    metrics = summary_metrics(trainer)
    if request.iwae_k and stopped is None and trainer.test_set is not None and model.has_posterior:
        generator = torch.Generator(device=trainer.device).manual_seed(0)
        ll = iwae_log_likelihood(model, trainer.test_set.images, request.iwae_k, generator,
                                 labels=trainer.test_set.labels)
        metrics["test_iwae_log_likelihood"] = ll.mean().item()
        metrics["iwae_k"] = request.iwae_k
    provenance = {
        "command": request.source,
        "seed": request.train_config.seed,
        "device": str(trainer.device),
        "threads": trainer.threads,
        "train_images": int(trainer.train_images.shape[0]),
        "weights": trainer.position.describe(),
        "vae_explorer": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if stopped:
        provenance["stopped"] = stopped
    return Checkpoint(frozen_copy(model), request.train_config, metrics,
                      request.train_config.dataset, provenance)


def _save_partial(request: TrainingRequest, trainer: Trainer, output: Path | None, reason: str):
    """The weights reached so far, as a checkpoint, saved beside the output when there is one."""
    if trainer.position.steps == 0:
        return None, None, ""
    checkpoint = _checkpoint(request, trainer, stopped=reason)
    if output is None:
        return checkpoint, None, ""
    saved, note = save_with_fallback(checkpoint, partial_path(output))
    return checkpoint, saved, note


def _with_note(message: str, saved: Path | None, note: str) -> str:
    if saved is not None:
        message += f". The weights were saved to {saved}"
    return message + (f". {note}" if note else "")
