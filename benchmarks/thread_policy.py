"""How many CPU threads should training use? Our Trainer at 1 and N threads, on a quiet and a busy machine.

Each run is a fresh process training the 784-400-20 VAE for one epoch on the
first --limit training images (train + test pass timed). Thread counts
alternate (1, N, 1, N, ...). With --busy K the script itself keeps K other
processes spinning on the CPU for the duration (a stand-in for the other work a
shared machine has), and stops them at the end. It prints the median seconds per
epoch for each count and their ratio. It is a benchmark, not a test: it always exits 0.

    python benchmarks/thread_policy.py                # quiet machine, 1 vs 2 threads
    python benchmarks/thread_policy.py --busy 1       # one other busy process
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TRAIN_SPEED = REPO_ROOT / "benchmarks" / "train_speed.py"


def _spin(stop) -> None:
    while not stop.is_set():
        sum(range(10_000))


def _epoch_seconds(threads: int, args: argparse.Namespace) -> float:
    command = [sys.executable, str(TRAIN_SPEED), "--single", "ours", "--data-dir", args.data_dir,
               "--epochs", "1", "--limit", str(args.limit), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-1000:])
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("VAE_EXPLORER_DATA")
                        or str(REPO_ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="the N to compare with 1")
    parser.add_argument("--busy", type=int, default=0, help="other processes kept spinning meanwhile")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=20_000, help="training images per epoch")
    args = parser.parse_args(argv)
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.busy)]
    for process in spinners:
        process.start()
    try:
        times: dict[int, list[float]] = {1: [], args.threads: []}
        for repeat in range(args.repeats):
            for threads in times:
                times[threads].append(_epoch_seconds(threads, args))
                print(f"  run {repeat + 1}: {threads} thread(s) {times[threads][-1]:.2f} s/epoch", flush=True)
        one, many = (statistics.median(times[t]) for t in (1, args.threads))
        print(f"{os.cpu_count()} CPU(s), {args.busy} busy process(es), {args.limit:,} images per epoch")
        print(f"median s/epoch: 1 thread {one:.2f}, {args.threads} threads {many:.2f}; "
              f"{args.threads} threads / 1 thread = {many / one:.2f}x the time")
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not fail
        print(f"benchmark could not run: {exc}")
    finally:
        stop.set()
        for process in spinners:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
