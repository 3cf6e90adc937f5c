"""The numpy quick look agrees with the torch model and never imports torch."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import torch

from vae_explorer.core.quickstart import quick_look
from vae_explorer.core.resources import shipped_checkpoint_path


def test_quick_look_codes_match_the_torch_encoder(tmp_path):
    from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
    from vae_explorer.core.data import load_bundled_test_split
    from vae_explorer.core.session import encode_dataset

    assert shipped_checkpoint_path() == default_checkpoint_path()
    quick = quick_look(shipped_checkpoint_path())
    data = load_bundled_test_split()
    mu, _ = encode_dataset(load_checkpoint(default_checkpoint_path()).model, data.images)
    np.testing.assert_allclose(quick.codes, mu, atol=1e-4)
    np.testing.assert_array_equal(quick.labels, data.labels.numpy())
    assert quick.latent_dim == 2
    z = np.array([[0.0, 0.0], [1.5, -2.0], [-30.0, 40.0]], np.float32)  # far out: saturated logits
    model = load_checkpoint(default_checkpoint_path()).model
    with torch.no_grad():
        expected = model.decode(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(quick.decode(z), expected, atol=1e-5)


def test_quick_look_gives_up_quietly_on_a_bad_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04 not a checkpoint")
    assert quick_look(bad) is None
    assert quick_look(tmp_path / "missing.safetensors") is None
    assert quick_look(tmp_path) is None  # a folder
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.safetensors")
        assert quick_look(tmp_path / "pipe.safetensors") is None  # refused, not opened: nothing hangs


def test_quick_look_does_not_import_torch():
    code = ("import sys; from vae_explorer.core.quickstart import quick_look; "
            "from vae_explorer.core.resources import shipped_checkpoint_path; "
            "assert quick_look(shipped_checkpoint_path()) is not None; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
