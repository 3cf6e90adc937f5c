"""Time to a good model: seconds from Start to a 2-D MNIST VAE at 140 nats test negative ELBO or better.

Two ways to get there, alternated in fresh processes on the same thread count
(1 by default), each stopped at the first epoch whose test loss reaches the
target:

  ours     vae_explorer's default settings, the ones the GUI's Start and
           `vae-explorer train` share (core.config.TrainConfig, the default
           VAE of core.models.vae), through core's Trainer: data loaded as
           tensors, the test split evaluated after every epoch;
  classic  the pytorch-examples-style loop: torchvision MNIST + ToTensor +
           DataLoader(batch 128, shuffle), Adam at 1e-3, a sigmoid decoder
           with summed binary cross-entropy plus the analytic KL, the test
           split evaluated after every epoch through a DataLoader, on the
           same architecture as ours (written out below in our own words).

The clock starts before the data is read (Start in the app reads it too) and
stops at the end of the evaluation that first shows the target. It prints each
run, the medians and the ratio classic / ours (target: 5x or more).
It is a benchmark, not a test: it always exits 0.

    python benchmarks/time_to_good.py                  # 1 run each, 1 thread
    python benchmarks/time_to_good.py --repeats 2 --target 140 --max-epochs 150
    python benchmarks/time_to_good.py --quick          # smoke run: target 200 nats
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEED_TARGET = 5.0


def _data_dir(given: str | None) -> str:
    return given or os.environ.get("VAE_EXPLORER_DATA") or str(REPO_ROOT.parent / "shared" / "mnist")


# --------------------------------------------------------------------------- the two runs, in a child


def run_ours(data_dir: str, target: float, max_epochs: int) -> None:
    from vae_explorer.core.config import TrainConfig
    from vae_explorer.core.data import load_dataset
    from vae_explorer.core.models import registry
    from vae_explorer.core.training.trainer import EpochStats, Trainer

    start = time.perf_counter()
    train, test = (load_dataset("mnist", data_dir, split, download=False) for split in ("train", "test"))
    config = TrainConfig(device="cpu", num_threads=1)  # every other setting: the default
    model = registry.build("vae", registry.get_kind("vae").Config(), seed=config.seed)
    settings = (f"batch {config.batch_size}, lr {config.learning_rate:g} {config.lr_schedule}, "
                f"{config.epochs} epochs")
    for event in Trainer(model, train, test, config).run():
        if isinstance(event, EpochStats):
            report(event.epoch, time.perf_counter() - start, event.test["loss"], settings)
            if event.test["loss"] <= target:
                return


def run_classic(data_dir: str, target: float, max_epochs: int) -> None:
    import torch
    from torch import nn
    from torch.nn import functional as F
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    class ClassicVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU())
            self.mean, self.logvar = nn.Linear(256, 2), nn.Linear(256, 2)
            self.decoder = nn.Sequential(nn.Linear(2, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                                         nn.Linear(512, 784), nn.Sigmoid())

        def forward(self, x):
            hidden = self.encoder(x.view(-1, 784))
            mean, logvar = self.mean(hidden), self.logvar(hidden)
            z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
            return self.decoder(z), mean, logvar

    def loss_of(recon, x, mean, logvar):
        bce = F.binary_cross_entropy(recon, x.view(-1, 784), reduction="sum")
        return bce - 0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp())

    torch.manual_seed(0)
    start = time.perf_counter()
    train = DataLoader(datasets.MNIST(data_dir, train=True, download=False, transform=transforms.ToTensor()),
                       batch_size=128, shuffle=True)
    test = DataLoader(datasets.MNIST(data_dir, train=False, download=False, transform=transforms.ToTensor()),
                      batch_size=128)
    model = ClassicVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, max_epochs + 1):
        model.train()
        for x, _ in train:
            optimizer.zero_grad()
            loss = loss_of(*_unpack(model(x), x))
            loss.backward()
            optimizer.step()
        model.eval()
        total = 0.0
        with torch.no_grad():
            for x, _ in test:
                total += loss_of(*_unpack(model(x), x)).item()
        test_loss = total / len(test.dataset)
        report(epoch, time.perf_counter() - start, test_loss, "DataLoader, batch 128, Adam 1e-3")
        if test_loss <= target:
            return


def _unpack(output, x):
    recon, mean, logvar = output
    return recon, x, mean, logvar


def report(epoch: int, seconds: float, test_loss: float, settings: str) -> None:
    print(json.dumps({"epoch": epoch, "seconds": seconds, "test": test_loss, "settings": settings}), flush=True)


# --------------------------------------------------------------------------- the parent


def child(which: str, args) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    command = [sys.executable, __file__, "--child", which, "--data-dir", _data_dir(args.data_dir),
               "--target", str(args.target), "--max-epochs", str(args.max_epochs), "--threads", str(args.threads)]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    epochs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not epochs:
        return {"which": which, "error": (result.stderr.strip().splitlines() or ["no output"])[-1]}
    last = epochs[-1]
    return {"which": which, "reached": last["test"] <= args.target, "seconds": last["seconds"],
            "epochs": last["epoch"], "test": last["test"], "settings": last["settings"],
            "trace": " ".join(f"{e['epoch']}:{e['test']:.1f}" for e in epochs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--target", type=float, default=140.0, help="test negative ELBO to reach (nats)")
    parser.add_argument("--max-epochs", type=int, default=150, help="the classic loop's cap")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke run: target 200 nats")
    parser.add_argument("--child", choices=["ours", "classic"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.target = 200.0
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        (run_ours if args.child == "ours" else run_classic)(_data_dir(args.data_dir), args.target, args.max_epochs)
        return
    print(f"time to {args.target:g} nats, {args.threads} thread(s), {args.repeats} run(s) each, alternated")
    results: dict[str, list[dict]] = {"classic": [], "ours": []}
    for _ in range(args.repeats):
        for which in ("classic", "ours"):
            outcome = child(which, args)
            results[which].append(outcome)
            if "error" in outcome:
                print(f"  {which:8s} failed: {outcome['error']}")
            else:
                state = "reached" if outcome["reached"] else "NOT reached"
                print(f"  {which:8s} {state} {outcome['test']:.2f} at epoch {outcome['epochs']} after "
                      f"{outcome['seconds']:.1f} s  ({outcome['settings']})\n           {outcome['trace']}",
                      flush=True)
    medians = {}
    for which, runs in results.items():
        good = [r["seconds"] for r in runs if r.get("reached")]
        medians[which] = statistics.median(good) if len(good) == len(runs) and good else None
    if medians["ours"] and medians["classic"]:
        ratio = medians["classic"] / medians["ours"]
        verdict = "meets" if ratio >= SPEED_TARGET else "misses"
        print(f"median: classic {medians['classic']:.1f} s, ours {medians['ours']:.1f} s: {ratio:.2f}x "
              f"({verdict} the {SPEED_TARGET:g}x target)")
    else:
        print("median: not every run reached the target; no ratio")


if __name__ == "__main__":
    main()
