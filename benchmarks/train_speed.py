"""Training speed: our Trainer against a loop written in the classic PyTorch style.

Both train the classic example's VAE (784-400-20 MLP, Bernoulli likelihood,
BCE summed + analytic KL, Adam 1e-3, batch 128, fixed seed) for the same
number of epochs on the CPU:

  reference  torchvision MNIST + ToTensor + DataLoader(shuffle=True), and a
             per-batch test loop with a DataLoader of batch 128;
  plain      the same model, loss and torch.optim.Adam, with the data held as
             tensors and batches sliced through a permutation: the "plain
             tensor-resident loop" the issue says gives about 3x, measured
             here to calibrate what the machine allows;
  ours       vae_explorer.core.training.Trainer on tensor-resident splits,
             with as many threads as `vae-explorer train` uses (all cores).

Runs alternate (reference, plain, ours, reference, ...) so all meet the same
background load, and every run is a fresh subprocess so thread settings and
flags of one cannot leak into the other. The script prints medians of seconds
per epoch (train only, and train + test), the ratios reference/ours and
plain/ours, the final test losses (nats per image), and whether the targets are met:
ours >= 4x faster per epoch, test loss within 1 nat of the reference.

It is a benchmark, not a test: it always exits 0.

    python benchmarks/train_speed.py                 # 2 epochs, 2 runs each
    python benchmarks/train_speed.py --quick         # smoke run, a few seconds
    python benchmarks/train_speed.py --epochs 3 --repeats 3
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

SPEED_TARGET = 4.0  # reference seconds per epoch / ours
LOSS_TOLERANCE = 1.0  # nats per image
REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- #
# (a) the reference: the classic example's model and loops, in our own words
# --------------------------------------------------------------------------- #


def _classic_model_and_loss():
    """The classic example's model and loss, built in a function so torch loads in the child."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class ClassicVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)  # mean of q(z|x)
            self.fc22 = nn.Linear(400, 20)  # log-variance of q(z|x)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def forward(self, x: torch.Tensor):
            hidden = F.relu(self.fc1(x.view(-1, 784)))
            mu, logvar = self.fc21(hidden), self.fc22(hidden)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            probs = torch.sigmoid(self.fc4(F.relu(self.fc3(z))))
            return probs, mu, logvar

    def elbo_loss(probs, x, mu, logvar):
        bce = F.binary_cross_entropy(probs, x.view(-1, 784), reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kl

    return ClassicVAE, elbo_loss


def _time_classic_epochs(epochs: int, train_batches, test_batches, test_count: int) -> dict:
    """Train and test the classic model for `epochs`, the classic way, timing each epoch.

    train_batches() and test_batches() return fresh iterables of image batches
    (the data source is all that differs between the reference and the plain loop).
    """
    import torch

    ClassicVAE, elbo_loss = _classic_model_and_loss()
    model = ClassicVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_seconds, total_seconds, test_loss = [], [], float("nan")
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for images in train_batches():
            optimizer.zero_grad()
            probs, mu, logvar = model(images)
            loss = elbo_loss(probs, images, mu, logvar)
            loss.backward()
            train_loss += loss.item()  # the classic loop keeps a running sum for its log lines
            optimizer.step()
        trained = time.perf_counter()

        model.eval()
        summed = 0.0
        with torch.no_grad():
            for images in test_batches():
                probs, mu, logvar = model(images)
                summed += elbo_loss(probs, images, mu, logvar).item()
        test_loss = summed / test_count  # nats per image, the classic way
        done = time.perf_counter()
        train_seconds.append(trained - start)
        total_seconds.append(done - start)
    return {"train_seconds": train_seconds, "total_seconds": total_seconds, "test_loss": test_loss}


def run_reference(
    data_dir: str, epochs: int, seed: int, limit: int | None, threads: int = 0
) -> dict:
    import torch
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    if threads:  # not the classic default; only for an equal-threads comparison
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    to_tensor = transforms.ToTensor()
    train_data = datasets.MNIST(data_dir, train=True, download=False, transform=to_tensor)
    test_data = datasets.MNIST(data_dir, train=False, download=False, transform=to_tensor)
    if limit:
        train_data = Subset(train_data, range(limit))
        test_data = Subset(test_data, range(min(limit, len(test_data))))
    train_loader = DataLoader(train_data, batch_size=128, shuffle=True)
    test_loader = DataLoader(test_data, batch_size=128, shuffle=False)

    return _time_classic_epochs(
        epochs,
        lambda: (images for images, _labels in train_loader),
        lambda: (images for images, _labels in test_loader),
        len(test_data),
    )


# --------------------------------------------------------------------------- #
# (c) calibration: the same classic loop with the data held as tensors
# --------------------------------------------------------------------------- #


def run_plain(data_dir: str, epochs: int, seed: int, limit: int | None, threads: int = 0) -> dict:
    """The classic model, loss and torch.optim.Adam, but no DataLoader: batches are
    slices of one tensor through a random permutation, the test pass in one batch
    of 1,000. The issue expects such a loop to be about 3x the reference; how far
    it gets on the machine at hand says how much of ours is profiling."""
    import torch

    from vae_explorer.core.data import load_mnist

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    train = load_mnist(data_dir, "train", download=False)
    test = load_mnist(data_dir, "test", download=False)
    if limit:
        train, test = train.subset(limit), test.subset(limit)
    train_x = train.images.reshape(len(train), 784)
    test_x = test.images.reshape(len(test), 784)

    def train_batches():
        order = torch.randperm(len(train_x))
        return (train_x[order[first : first + 128]] for first in range(0, len(train_x), 128))

    def test_batches():
        return (test_x[first : first + 1000] for first in range(0, len(test_x), 1000))

    return _time_classic_epochs(epochs, train_batches, test_batches, len(test_x))


# --------------------------------------------------------------------------- #
# (b) ours: the project's Trainer with the same architecture and settings
# --------------------------------------------------------------------------- #


def run_ours(data_dir: str, epochs: int, seed: int, limit: int | None, threads: int = 0) -> dict:
    from vae_explorer.core.config import ModelConfig, TrainConfig
    from vae_explorer.core.data import load_mnist
    from vae_explorer.core.model import build_model
    from vae_explorer.core.training import BatchStats, EpochStats, Trainer

    train_set = load_mnist(data_dir, "train", download=False)
    test_set = load_mnist(data_dir, "test", download=False)
    if limit:
        train_set, test_set = train_set.subset(limit), test_set.subset(limit)
    model_config = ModelConfig(hidden_sizes=(400,), latent_dim=20)
    train_config = TrainConfig(
        epochs=epochs, batch_size=128, learning_rate=1e-3, seed=seed, device="cpu",
        num_threads=threads,
    )
    trainer = Trainer(build_model(model_config, seed), train_set, test_set, train_config)

    # Timed from outside, as for the reference: the train part ends when the
    # epoch's last batch is handed over, the epoch when its EpochStats is.
    train_seconds, total_seconds, test_loss = [], [], float("nan")
    start = trained = time.perf_counter()
    for stats in trainer.run():
        if isinstance(stats, BatchStats) and stats.batch == stats.batches_per_epoch:
            trained = time.perf_counter()
        elif isinstance(stats, EpochStats):
            done = time.perf_counter()
            train_seconds.append(trained - start)
            total_seconds.append(done - start)
            test_loss = stats.test.total
            start = time.perf_counter()
    return {"train_seconds": train_seconds, "total_seconds": total_seconds, "test_loss": test_loss}


RUNNERS = {"reference": run_reference, "plain": run_plain, "ours": run_ours}


# --------------------------------------------------------------------------- #
# driver: alternate fresh subprocesses, then summarise
# --------------------------------------------------------------------------- #


def _one_run(kind: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable, __file__, "--single", kind, "--data-dir", args.data_dir,
        "--epochs", str(args.epochs), "--seed", str(args.seed),
    ]
    if args.limit:
        command += ["--limit", str(args.limit)]
    # Always passed: the child's own default for --threads is ours (all cores),
    # and 0 must reach it as 0 (the Trainer's default) or torch's default.
    threads = args.threads if kind == "ours" else args.reference_threads
    command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} run failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median_per_epoch(runs: list[dict], key: str) -> float:
    return statistics.median(s for run in runs for s in run[key])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="MNIST root (torchvision layout)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each loop (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, 5,000 images")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1,
        help="TrainConfig.num_threads for ours (default: all cores, as `vae-explorer train` "
        "uses; 0 = the library Trainer's own default of one, which the GUI uses)",
    )
    parser.add_argument(
        "--reference-threads", type=int, default=0,
        help="torch threads for the reference (default 0: torch's default, as a user has it)",
    )
    parser.add_argument("--single", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir or os.environ.get("VAE_EXPLORER_DATA") or str(
        REPO_ROOT.parent / "shared" / "mnist"
    )
    if args.quick:
        args.epochs, args.repeats, args.limit = 1, 1, args.limit or 5000

    if args.single:  # child process: one run, result as a JSON line
        run = RUNNERS[args.single](args.data_dir, args.epochs, args.seed, args.limit, args.threads)
        print(json.dumps(run))
        return 0

    try:
        return _compare(args)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not fail
        print(f"benchmark could not run: {exc}")
        return 0


def _compare(args: argparse.Namespace) -> int:
    print(
        f"train_speed: {args.epochs} epoch(s) x {args.repeats} run(s) each, alternating; "
        f"{os.cpu_count()} CPU(s); data {args.data_dir}"
        + (f"; first {args.limit} images only" if args.limit else "")
    )
    print(
        f"threads: reference {args.reference_threads or 'torch default'}, "
        f"ours {args.threads or 'Trainer default (1)'}"
    )
    results: dict[str, list[dict]] = {kind: [] for kind in RUNNERS}
    for repeat in range(args.repeats):
        for kind in RUNNERS:
            run = _one_run(kind, args)
            results[kind].append(run)
            epochs = ", ".join(f"{s:.2f}" for s in run["train_seconds"])
            totals = ", ".join(f"{s:.2f}" for s in run["total_seconds"])
            print(
                f"  run {repeat + 1} {kind:9s}  train s/epoch [{epochs}]  with test [{totals}]  "
                f"test loss {run['test_loss']:.2f}"
            )

    ref, plain, ours = results["reference"], results["plain"], results["ours"]
    rows = []
    for label, key in (("train only", "train_seconds"), ("train + test", "total_seconds")):
        r, p, o = (_median_per_epoch(runs, key) for runs in (ref, plain, ours))
        rows.append((label, r, p, o, r / o))
    losses = {kind: statistics.median(run["test_loss"] for run in runs) for kind, runs in results.items()}
    ref_loss, our_loss = losses["reference"], losses["ours"]

    print("\nmedian seconds per epoch   reference     plain      ours    reference/ours  plain/ours")
    for label, r, p, o, ratio in rows:
        print(f"  {label:22s} {r:10.2f} {p:9.2f} {o:9.2f}    {ratio:9.2f}x {p / o:10.2f}x")
    print(f"final test loss (nats/image): reference {ref_loss:.2f}, plain {losses['plain']:.2f}, "
          f"ours {our_loss:.2f}, ours - reference {our_loss - ref_loss:+.2f}")
    _, r, p, _, _ = rows[1]
    print(f"calibration: the plain tensor-resident loop is {r / p:.2f}x the reference here "
          "(the issue expects about 3x on its machine)")

    ratio = rows[1][4]  # train + test: the whole epoch as a user waits for it
    speed_ok = ratio >= SPEED_TARGET
    loss_ok = abs(our_loss - ref_loss) <= LOSS_TOLERANCE
    print(f"target speed  >= {SPEED_TARGET:.0f}x per epoch (train + test): "
          f"{'MET' if speed_ok else 'NOT MET'} ({ratio:.2f}x)")
    print(f"target loss   within {LOSS_TOLERANCE:.0f} nat of the reference: "
          f"{'MET' if loss_ok else 'NOT MET'} ({our_loss - ref_loss:+.2f})")
    if args.limit or args.epochs != 2:
        print("(not the standard setting of 2 full epochs: figures are indicative only)")
    print("caveat: the CPU may be shared with other work; compare medians of alternated runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
