"""A first look at the latent map before torch has loaded, in numpy alone.

Importing torch takes two to four seconds on a busy 2-core machine, longer
than the whole start-up budget. The encoder is a small MLP, so numpy can run
it: this module reads a checkpoint's weights and the bundled test split
without torch and returns the posterior means, which the window paints at
once. The real session (torch model, exact codes) replaces them moments
later. Anything unexpected returns None and the app simply waits for torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vae_explorer.core.idx import read_idx
from vae_explorer.core.models import mlp_vae_numpy
from vae_explorer.core.models.mlp_vae_numpy import NumpyMLPVAE
from vae_explorer.core.resources import bundled_mnist_folder


@dataclass(frozen=True)
class QuickLook:
    codes: np.ndarray  # (N, latent_dim) posterior means, float32
    labels: np.ndarray  # (N,) int64
    model: NumpyMLPVAE  # decodes under the cursor before torch is there

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decoded mean images (M, H, W) in [0, 1], as the torch model computes them."""
        return self.model.decode(z)


def bundled_test_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 784) float32 in [0, 1] and labels of the bundled MNIST test split."""
    folder = bundled_mnist_folder()
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    return images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255.0), labels.astype(np.int64)


def quick_look(checkpoint_path: str | Path) -> QuickLook | None:
    """Posterior means of the bundled test split under the checkpoint, or None if anything is off.

    Only the MLP VAE has a numpy twin here (the shipped model is one); any
    other kind simply waits for torch. The full load validates the file; this
    look trusts nothing either: any surprise means None.
    """
    try:
        from safetensors import safe_open

        from vae_explorer.core.atomic_write import open_for_reading
        from vae_explorer.core.checkpoint_header import check_version, read_header

        path = Path(checkpoint_path)
        # The same framing checks as the full load, before any read; a FIFO or a folder is refused unopened.
        with open_for_reading(path) as raw:
            check_version(read_header(raw, os.fstat(raw.fileno()).st_size, path.name).metadata, path.name)
        with safe_open(str(checkpoint_path), framework="np") as handle:
            metadata = handle.metadata() or {}
            config = json.loads(metadata["model_config"])
            if not mlp_vae_numpy.mirrors(metadata.get("kind", mlp_vae_numpy.V1_KIND), config):
                return None  # no numpy twin for this model: wait for torch
            shape = tuple(int(side) for side in config["image_shape"])
            if len(shape) != 2 or not all(0 < side <= 512 for side in shape):
                return None
            weights = {name: handle.get_tensor(name).astype(np.float32) for name in handle.keys()
                       if mlp_vae_numpy.wanted(name)}
        images, labels = bundled_test_arrays()
        if images.shape[1] != shape[0] * shape[1]:
            return None
        model = NumpyMLPVAE(config, weights)
        codes = model.encode_means(images)
    except Exception:  # noqa: BLE001 - the quick look is optional; the full load reports real errors
        return None
    if not np.isfinite(codes).all():
        return None
    model.drop_encoder()
    return QuickLook(codes, labels, model)
