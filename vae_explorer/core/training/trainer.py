"""The training loop: any model kind, plain autograd and torch.optim, data held as tensors.

Trainer.run() is a generator: a BatchStats after every optimizer step and an
EpochStats after every pass over the data. Between batches it honours a
TrainingControl, so cancel and pause take effect within one batch. It knows
the model only through model.loss(x, labels=...) -> named terms; a KL
warm-up only changes the beta it passes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from vae_explorer.core.config import ConfigError, TrainConfig
from vae_explorer.core.data import ImageSet
from vae_explorer.core.devices import resolve_device
from vae_explorer.core.evaluation import evaluate_terms
from vae_explorer.core.models.base import ExplorableModel
from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.threads import threads_for, torch_threads


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model holds the last finite weights.

    `where` is the short account ("the loss became nan at epoch 1, batch 3");
    the message adds which weights were kept and what to try.
    """

    def __init__(self, where: str, kept: str):
        super().__init__(f"{where}; training stopped and kept the last finite weights ({kept}). "
                         "Try a smaller learning rate.")
        self.where = where


@dataclass(frozen=True)
class BatchStats:
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    terms: dict[str, float]  # per image, nats, this batch; "loss" is the objective
    elapsed: float  # seconds since training started

    @property
    def loss(self) -> float:
        return self.terms["loss"]


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    epochs: int
    train: dict[str, float]  # averaged over the epoch's images
    test: dict[str, float] | None
    epoch_seconds: float
    elapsed: float


@dataclass(frozen=True)
class WeightsPosition:
    """Which weights a model holds: after `steps` optimizer steps of a run."""

    steps: int
    batches_per_epoch: int

    @property
    def epochs_completed(self) -> int:
        return self.steps // self.batches_per_epoch

    @property
    def batch(self) -> int:
        """Batches done in the epoch under way (0 at an epoch's end)."""
        return self.steps % self.batches_per_epoch

    def describe(self) -> str:
        if self.batch == 0:
            return f"after {self.epochs_completed} full epoch(s)"
        return (f"from epoch {self.epochs_completed + 1}, after batch {self.batch} of "
                f"{self.batches_per_epoch} ({self.epochs_completed} full epoch(s) before it)")


def make_optimizer(parameters, learning_rate: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam, fused into one kernel where this torch offers that for the device."""
    parameters = list(parameters)
    try:
        return torch.optim.Adam(parameters, lr=learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused Adam for this device or torch
        return torch.optim.Adam(parameters, lr=learning_rate)


def warm_up_optimizer() -> None:
    """Build a throwaway Adam, so torch loads what its optimizers need now.

    The first torch.optim optimizer of a process imports torch._dynamo, about
    a second of importing on the 2-core box (4 s when busy). A GUI calls this
    on a helper thread when the training form first shows, so pressing Start
    does not pay for it.
    """
    make_optimizer([torch.nn.Parameter(torch.zeros(1))], 1e-3, torch.device("cpu"))


def check_data_fits(model: ExplorableModel, data: ImageSet) -> None:
    """One clear line when the images are not the shape the model was built for."""
    if tuple(data.image_shape) != tuple(model.image_shape):
        h, w = data.image_shape
        mh, mw = model.image_shape
        raise ConfigError(
            f"the {data.name} {data.split} images are {h}x{w} pixels but the model takes {mh}x{mw}"
        )


class Trainer:
    """Trains a model on a tensor-resident split with Adam; see the module docstring."""

    def __init__(
        self,
        model: ExplorableModel,
        train_set: ImageSet,
        test_set: ImageSet | None,
        config: TrainConfig,
        control: TrainingControl | None = None,
    ):
        for data in (train_set, test_set):
            if data is not None:
                check_data_fits(model, data)
        if len(train_set) == 0:
            raise ConfigError("the training split holds no images")
        self.config = config
        self.control = control or TrainingControl()
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        # The whole split lives on the device; batches are index slices, no DataLoader.
        self.train_images = train_set.images.to(self.device)
        self.train_labels = train_set.labels.to(self.device)
        self.test_set = test_set.to(self.device) if test_set is not None else None
        self.optimizer = make_optimizer(self.model.parameters(), config.learning_rate, self.device)
        self.scheduler = (
            torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=config.epochs)
            if config.lr_schedule == "cosine" else None
        )
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.history: list[EpochStats] = []
        self.position = WeightsPosition(0, self.batches_per_epoch)
        self.threads = threads_for(config.num_threads, self.device)

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.train_images.shape[0] / self.config.batch_size)

    def run(self) -> Iterator[BatchStats | EpochStats]:
        # Threads are set here, not in __init__: they belong to the thread that
        # trains, and the caller gets its own setting back when training ends.
        with torch_threads(self.threads):
            yield from self._run()

    def _run(self) -> Iterator[BatchStats | EpochStats]:
        cfg, model, images, labels = self.config, self.model, self.train_images, self.train_labels
        n, per_epoch = images.shape[0], self.batches_per_epoch
        started = time.perf_counter()
        last_good = self._weights_copy()
        good_position = self.position
        for epoch in range(1, cfg.epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            order = torch.randperm(n, generator=self.generator, device=self.device)
            sums: dict[str, float] = {}
            for batch in range(per_epoch):
                self.control.wait_while_paused()
                if self.control.cancelled:
                    return
                rows = order[batch * cfg.batch_size : (batch + 1) * cfg.batch_size]
                x = images.index_select(0, rows)
                self.optimizer.zero_grad(set_to_none=True)
                beta = cfg.beta_at(epoch, batch / per_epoch)
                terms = model.loss(x, beta=beta, generator=self.generator, labels=labels.index_select(0, rows))
                # One transfer (one sync on a GPU) for every number the stats need.
                values = dict(zip(terms, torch.stack([t.detach() for t in terms.values()]).tolist()))
                if not math.isfinite(values["loss"]):
                    if not self._params_finite():
                        model.load_state_dict(last_good)
                        self.position = good_position
                    raise TrainingDiverged(
                        f"the loss became {values['loss']} at epoch {epoch}, batch {batch + 1}",
                        self.position.describe(),
                    )
                terms["loss"].backward()
                self.optimizer.step()
                self.position = WeightsPosition(self.position.steps + 1, per_epoch)
                for name, value in values.items():
                    sums[name] = sums.get(name, 0.0) + value * x.shape[0]
                yield BatchStats(epoch, batch + 1, per_epoch, values, time.perf_counter() - started)
            train_terms = {name: total / n for name, total in sums.items()}
            test_terms = None
            if self.test_set is not None:
                test_terms = evaluate_terms(model, self.test_set, cfg.beta, cfg.eval_batch_size, cfg.seed)
            if self.scheduler is not None:
                self.scheduler.step()
            if self._params_finite():
                last_good, good_position = self._weights_copy(), self.position
            now = time.perf_counter()
            stats = EpochStats(epoch, cfg.epochs, train_terms, test_terms, now - epoch_start, now - started)
            self.history.append(stats)
            yield stats

    def _weights_copy(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _params_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.model.parameters())
