"""The one place that decides how many CPU threads torch trains with, and gives them back.

Our layers are small. On the shared 2-core box a second thread helps only
when the machine is otherwise idle (an epoch of 784-400-20 about 1.5x
faster) and hurts badly when it is not: every op then waits for a
descheduled OpenMP thread, and 2 threads measured 4x to 8.6x slower than 1.
So the default is one thread, for the CLI, the GUI and the library alike;
`--threads` or the form's thread box asks for more.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

DEFAULT_CPU_THREADS = 1


def threads_for(requested: int, device: torch.device) -> int | None:
    """How many intra-op threads a run uses; None leaves torch's setting alone (GPU, no request)."""
    if requested > 0:
        return requested
    return DEFAULT_CPU_THREADS if device.type == "cpu" else None


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with `count` intra-op threads, then restore the caller's setting."""
    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
