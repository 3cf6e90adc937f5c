"""A save killed halfway: the previous checkpoint stays whole and loadable, and the next start of the app
removes what the killed save left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from tests.core.test_checkpoint import write_good
from vae_explorer.core.checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

# The child saves a different model over the target and is killed while its temp file is being written:
# the write of the payload is held open (a real write, just slowed) until the parent has killed it.
CHILD = textwrap.dedent('''
    import os, sys, time
    from vae_explorer.core import atomic_write
    from vae_explorer.core.checkpoint import load_checkpoint, save_checkpoint

    real_fdopen = os.fdopen

    class SlowFile:
        def __init__(self, handle):
            self.handle = handle
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)
        def write(self, data):
            self.handle.write(data[: len(data) // 2])  # half of it reaches the disk
            self.handle.flush()
            print("half written", flush=True)
            time.sleep(60)  # killed here
        def __getattr__(self, name):
            return getattr(self.handle, name)

    atomic_write.os.fdopen = lambda fd, mode: SlowFile(real_fdopen(fd, mode))
    checkpoint = load_checkpoint(sys.argv[1])
    for p in checkpoint.model.parameters():
        p.data.add_(1.0)
    save_checkpoint(checkpoint, sys.argv[1])
''')


def test_a_save_killed_halfway_leaves_the_previous_file_whole_and_the_next_start_cleans_up(
        tmp_path, qtbot, settings, shipped_session):
    target = write_good(tmp_path / "model.safetensors")
    before = {k: v.clone() for k, v in load_checkpoint(target).model.state_dict().items()}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "half written"
        leftovers = [p for p in tmp_path.iterdir() if p.name != target.name]
        assert len(leftovers) == 1 and leftovers[0].name.startswith(".model.safetensors.")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    after = load_checkpoint(target).model.state_dict()  # the previous file, whole
    for key, value in before.items():
        torch.testing.assert_close(after[key], value)

    # The next start of the app finds the target among the recent files and removes the dead save's temp.
    from vae_explorer.qt.main_window import MainWindow
    from vae_explorer.qt.window_files import RECENT_KEY

    settings.setValue(RECENT_KEY, [str(target)])
    window = MainWindow(shipped_session, settings=settings)
    qtbot.addWidget(window)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]
