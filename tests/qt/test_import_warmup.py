import subprocess
import sys

from vae_explorer.qt.import_warmup import MODULE, warm_up_in_background

SCRIPT = f"""
import sys
import torch
from vae_explorer.qt.import_warmup import warm_up_in_background
assert {MODULE!r} not in sys.modules, "torch already pulled it in: the warm-up has nothing to do"
thread = warm_up_in_background()
thread.join(120)
print(thread.daemon, {MODULE!r} in sys.modules, warm_up_in_background())
"""


def test_warm_up_imports_the_optimizer_machinery_on_a_daemon_thread():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True", "None"]


def test_warm_up_does_nothing_once_imported():
    assert MODULE in sys.modules  # conftest imports it
    assert warm_up_in_background() is None
