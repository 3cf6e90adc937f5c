"""Training as a generator of statistics, knowing nothing of Qt or the terminal.

The caller (CLI progress bar, GUI worker thread, test) iterates over
Trainer.run() and gets a BatchStats after every optimizer step and an
EpochStats after every pass. Between batches the trainer honours a
TrainingControl, so cancel and pause take effect within one batch.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from vae_explorer.core.config import TrainConfig
from vae_explorer.core.data import ImageSet
from vae_explorer.core.devices import resolve_device
from vae_explorer.core.losses import LossTerms, negative_elbo
from vae_explorer.core.model import VAE


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model holds the last finite weights."""


@dataclass(frozen=True)
class BatchStats:
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    loss: float  # per image, nats, this batch
    reconstruction: float
    kl: float
    elapsed: float  # seconds since training started

    @property
    def fraction_done(self) -> float:
        return self.batch / self.batches_per_epoch


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    epochs: int
    train: LossTerms  # averaged over the epoch's batches
    test: LossTerms | None
    epoch_seconds: float
    elapsed: float


class TrainingControl:
    """Thread-safe cancel and pause flags that the trainer checks between batches."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused trainer so it can stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        while not self._running.wait(timeout=0.1):
            pass


@torch.no_grad()
def evaluate_elbo(
    model: VAE,
    data: ImageSet,
    beta: float = 1.0,
    batch_size: int = 10000,
    seed: int = 0,
) -> LossTerms:
    """Mean negative ELBO per image over a split, one posterior sample per image."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    total = recon = kl = 0.0
    for start in range(0, len(data), batch_size):
        x = data.images[start : start + batch_size].to(device, non_blocking=True)
        logits, mu, logvar = model(x, generator)
        _, r, k = negative_elbo(logits, x, mu, logvar, model.config, beta)
        recon += r.item()
        kl += k.item()
    model.train(was_training)
    n = len(data)
    recon, kl = recon / n, kl / n
    return LossTerms(recon + beta * kl, recon, kl)


def _params_finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def _make_adam(model: torch.nn.Module, lr: float, device: torch.device) -> torch.optim.Optimizer:
    # The fused kernel does the whole update in one pass; older torch lacks it on CPU.
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(model.parameters(), lr=lr, foreach=True)


class Trainer:
    """Trains a VAE on a tensor-resident split with Adam; see the module docstring."""

    def __init__(
        self,
        model: VAE,
        train_set: ImageSet,
        test_set: ImageSet | None,
        config: TrainConfig,
        control: TrainingControl | None = None,
    ):
        self.config = config
        self.control = control or TrainingControl()
        self.device = resolve_device(config.device)
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        self.model = model.to(self.device)
        # The whole split lives on the device; batches are index slices, no DataLoader.
        self.train_images = train_set.images.to(self.device)
        self.test_set = test_set.to(self.device) if test_set is not None else None
        self.optimizer = _make_adam(self.model, config.learning_rate, self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.history: list[EpochStats] = []

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.train_images.shape[0] / self.config.batch_size)

    def run(self) -> Iterator[BatchStats | EpochStats]:
        cfg = self.config
        torch.set_flush_denormal(True)  # denormal floats slow CPU matmuls badly
        model, optimizer, images = self.model, self.optimizer, self.train_images
        n = images.shape[0]
        per_epoch = self.batches_per_epoch
        started = time.perf_counter()
        last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
        for epoch in range(1, cfg.epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            order = torch.randperm(n, generator=self.generator, device=self.device)
            sums = torch.zeros(2, device=self.device)
            for batch in range(per_epoch):
                self.control.wait_while_paused()
                if self.control.cancelled:
                    return
                x = images[order[batch * cfg.batch_size : (batch + 1) * cfg.batch_size]]
                logits, mu, logvar = model(x, self.generator)
                total, recon, kl = negative_elbo(logits, x, mu, logvar, model.config, cfg.beta)
                size = x.shape[0]
                loss = total / size
                if not torch.isfinite(loss):
                    self._recover(last_good)
                    raise TrainingDiverged(
                        f"the loss became {loss.item()} at epoch {epoch}, batch {batch + 1}; "
                        "training stopped and the last finite weights were kept. "
                        "Try a smaller learning rate."
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                terms = torch.stack([recon.detach(), kl.detach()])
                sums += terms
                r, k = (terms / size).tolist()
                yield BatchStats(
                    epoch, batch + 1, per_epoch, r + cfg.beta * k, r, k,
                    time.perf_counter() - started,
                )
            r, k = (sums / n).tolist()
            train_terms = LossTerms(r + cfg.beta * k, r, k)
            test_terms = None
            if self.test_set is not None:
                test_terms = evaluate_elbo(
                    model, self.test_set, cfg.beta, cfg.eval_batch_size, seed=cfg.seed
                )
            self._schedule_learning_rate(epoch)
            if _params_finite(model):
                last_good = {k: v.detach().clone() for k, v in model.state_dict().items()}
            now = time.perf_counter()
            stats = EpochStats(
                epoch, cfg.epochs, train_terms, test_terms, now - epoch_start, now - started
            )
            self.history.append(stats)
            yield stats

    def _schedule_learning_rate(self, epochs_done: int) -> None:
        cfg = self.config
        if cfg.lr_schedule == "cosine":
            lr = 0.5 * cfg.learning_rate * (1 + math.cos(math.pi * epochs_done / cfg.epochs))
            for group in self.optimizer.param_groups:
                group["lr"] = lr

    def _recover(self, last_good: dict[str, torch.Tensor]) -> None:
        if not _params_finite(self.model):
            self.model.load_state_dict(last_good)
