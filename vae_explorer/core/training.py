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

from vae_explorer.core.adam import Adam
from vae_explorer.core.allocation import keep_freed_memory
from vae_explorer.core.config import TrainConfig
from vae_explorer.core.cpu_linear import fast_linear_for
from vae_explorer.core.data import ImageSet
from vae_explorer.core.devices import resolve_device
from vae_explorer.core.losses import LossTerms, negative_elbo
from vae_explorer.core.manual_step import ManualStep, supports
from vae_explorer.core.model import VAE

# Intra-op CPU threads when TrainConfig.num_threads is 0. Our layers are small:
# on an idle 2-core box a second thread takes a 784-400-20 step from about
# 3.5 to 2.2 ms, while on a busy machine every op waits for a descheduled OpenMP
# thread: on the shared 2-core box, 2 threads made an epoch of the 784-400-20
# model 5.8x slower than 1 (54 s against 9.3 s), and 1.6x to 8x slower even
# with a single other busy process. Set TrainConfig.num_threads for more.
DEFAULT_CPU_THREADS = 1


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
    batch_size: int = TrainConfig.eval_batch_size,
    seed: int = 0,
) -> LossTerms:
    """Mean negative ELBO per image over a split, one posterior sample per image."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    recon = kl = 0.0
    fast_linear = fast_linear_for(device)
    for start in range(0, len(data), batch_size):
        x = data.images[start : start + batch_size].to(device, non_blocking=True)
        with fast_linear():
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
        self.model = model.to(self.device)
        # The whole split lives on the device; batches are index slices, no DataLoader.
        self.train_images = train_set.images.to(self.device)
        self.test_set = test_set.to(self.device) if test_set is not None else None
        self.optimizer = Adam(self.model.parameters(), lr=config.learning_rate)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.history: list[EpochStats] = []
        # On the CPU the MLP VAE's gradients are written out (core/manual_step.py)
        # and the products go to oneDNN (core/cpu_linear.py); elsewhere, and for
        # models manual_step does not know, autograd and torch's kernels do it.
        self._fast_linear = fast_linear_for(self.device)
        self._manual_step = (
            ManualStep(self.model, config.beta) if supports(self.model, self.device) else None
        )

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.train_images.shape[0] / self.config.batch_size)

    def run(self) -> Iterator[BatchStats | EpochStats]:
        # Set here, not in __init__: OpenMP thread counts belong to the thread
        # that trains (a GUI worker may build the Trainer on another thread),
        # and the caller gets its own setting back when training ends.
        keep_freed_memory()  # no fresh pages every step (see core/allocation.py)
        threads_before = torch.get_num_threads()
        if self.device.type == "cpu":
            torch.set_num_threads(self.config.num_threads or DEFAULT_CPU_THREADS)
        elif self.config.num_threads:
            torch.set_num_threads(self.config.num_threads)
        try:
            yield from self._run()
        finally:
            torch.set_num_threads(threads_before)

    def _run(self) -> Iterator[BatchStats | EpochStats]:
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
            recon_total = kl_total = 0.0  # summed over the epoch's images
            for batch in range(per_epoch):
                self.control.wait_while_paused()
                if self.control.cancelled:
                    return
                rows = order[batch * cfg.batch_size : (batch + 1) * cfg.batch_size]
                x = images.index_select(0, rows)  # a plain gather, cheaper than images[rows]
                optimizer.zero_grad()
                if self._manual_step is not None:
                    loss_value, recon_sum, kl_sum = self._manual_step(x, self.generator)
                else:
                    loss_value, recon_sum, kl_sum = self._autograd_step(x)
                size = x.shape[0]
                if not math.isfinite(loss_value):
                    self._recover(last_good)
                    raise TrainingDiverged(
                        f"the loss became {loss_value} at epoch {epoch}, batch {batch + 1}; "
                        "training stopped and the last finite weights were kept. "
                        "Try a smaller learning rate."
                    )
                optimizer.step()
                recon_total += recon_sum
                kl_total += kl_sum
                r, k = recon_sum / size, kl_sum / size
                yield BatchStats(
                    epoch, batch + 1, per_epoch, r + cfg.beta * k, r, k,
                    time.perf_counter() - started,
                )
            r, k = recon_total / n, kl_total / n
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

    def _autograd_step(self, x: torch.Tensor) -> tuple[float, float, float]:
        """Loss per image, reconstruction and KL summed; gradients left in .grad."""
        model = self.model
        with self._fast_linear():
            logits, mu, logvar = model(x, self.generator)
        total, recon, kl = negative_elbo(logits, x, mu, logvar, model.config, self.config.beta)
        loss = total / x.shape[0]
        # The per-batch stats need these numbers anyway: read them in one
        # transfer (one sync on a GPU) and test finiteness in Python.
        values = torch.stack([loss.detach(), recon.detach(), kl.detach()]).tolist()
        if math.isfinite(values[0]):
            loss.backward()
        return values[0], values[1], values[2]

    def _schedule_learning_rate(self, epochs_done: int) -> None:
        cfg = self.config
        if cfg.lr_schedule == "cosine":
            lr = 0.5 * cfg.learning_rate * (1 + math.cos(math.pi * epochs_done / cfg.epochs))
            self.optimizer.lr = lr

    def _recover(self, last_good: dict[str, torch.Tensor]) -> None:
        if not _params_finite(self.model):
            self.model.load_state_dict(last_good)


def summary_metrics(trainer: Trainer) -> dict[str, float | int | str]:
    """The figures a checkpoint records, computed the same way whoever trained it.

    The test figure is the plain negative ELBO (beta 1, noise seed 0), as
    `vae-explorer evaluate` and the tests recompute it, whatever beta and seed
    the run used; the per-epoch figures in trainer.history use the run's own.
    """
    if not trainer.history:
        raise ValueError("no epoch has finished yet")
    last = trainer.history[-1]
    metrics: dict[str, float | int | str] = {
        "epochs_completed": len(trainer.history),
        "train_loss": last.train.total,
        "train_reconstruction": last.train.reconstruction,
        "train_kl": last.train.kl,
        "train_seconds": round(last.elapsed, 1),
    }
    test_set = trainer.test_set
    if test_set is not None:
        terms = evaluate_elbo(trainer.model, test_set, beta=1.0, seed=0)
        metrics.update(
            test_loss=terms.total,
            test_reconstruction=terms.reconstruction,
            test_kl=terms.kl,
            evaluation=(
                f"negative ELBO, nats per image, {test_set.name} {test_set.split} split "
                f"({len(test_set):,}), one z sample, seed 0"
            ),
        )
    return metrics
