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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vae_explorer.core.idx import read_idx
from vae_explorer.core.resources import bundled_mnist_folder


@dataclass(frozen=True)
class QuickLook:
    codes: np.ndarray  # (N, latent_dim) posterior means, float32
    labels: np.ndarray  # (N,) int64
    config: dict  # the checkpoint's model config, as stored
    weights: dict[str, np.ndarray]  # the decoder's, so hovering works before torch is there

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decoded mean images (M, H, W) in [0, 1], as the MLP VAE's decode computes them."""
        hidden = np.asarray(z, np.float32).reshape(-1, self.config["latent_dim"])
        for layer in range(len(self.config["hidden_sizes"])):
            w, b = self.weights[f"decoder.{2 * layer}.weight"], self.weights[f"decoder.{2 * layer}.bias"]
            hidden = np.maximum(hidden @ w.T + b, 0.0)
        logits = hidden @ self.weights["to_logits.weight"].T + self.weights["to_logits.bias"]
        probabilities = 0.5 * (1.0 + np.tanh(0.5 * logits))  # the sigmoid, without overflow warnings
        return probabilities.astype(np.float32).reshape(-1, *self.config["image_shape"])


# The kind this module can run in numpy: the MLP VAE (format-1 files have no kind field).
QUICK_KIND = "mlp_vae"


def bundled_test_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 784) float32 in [0, 1] and labels of the bundled MNIST test split."""
    folder = bundled_mnist_folder()
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    return images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255.0), labels.astype(np.int64)


def encoder_means(weights: dict[str, np.ndarray], images: np.ndarray, layers: int) -> np.ndarray:
    """The VAE encoder's posterior means: ReLU MLP (encoder.0, encoder.2, ...) then to_mu."""
    hidden = images
    for layer in range(layers):
        w, b = weights[f"encoder.{2 * layer}.weight"], weights[f"encoder.{2 * layer}.bias"]
        hidden = np.maximum(hidden @ w.T + b, 0.0)
    return (hidden @ weights["to_mu.weight"].T + weights["to_mu.bias"]).astype(np.float32)


def quick_look(checkpoint_path: str | Path) -> QuickLook | None:
    """Posterior means of the bundled test split under the checkpoint, or None if anything is off.

    Only the MLP VAE has a numpy twin here (the shipped model is one); any
    other kind simply waits for torch. The full load validates the file; this
    look trusts nothing either: any surprise means None.
    """
    try:
        from safetensors import safe_open

        from vae_explorer.core.checkpoint_header import check_version, read_header

        path = Path(checkpoint_path)
        with open(path, "rb") as raw:  # the same framing checks as the full load, before any read
            check_version(read_header(raw, path.stat().st_size, path.name).metadata, path.name)
        with safe_open(str(checkpoint_path), framework="np") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("kind", QUICK_KIND) != QUICK_KIND:
                return None
            config = json.loads(metadata["model_config"])
            shape = tuple(int(side) for side in config["image_shape"])
            if len(shape) != 2 or not all(0 < side <= 512 for side in shape):
                return None
            weights = {name: handle.get_tensor(name).astype(np.float32) for name in handle.keys()
                       if name.startswith(("encoder.", "to_mu.", "decoder.", "to_logits."))}
        images, labels = bundled_test_arrays()
        if images.shape[1] != shape[0] * shape[1]:
            return None
        codes = encoder_means(weights, images, len(config["hidden_sizes"]))
    except Exception:  # noqa: BLE001 - the quick look is optional; the full load reports real errors
        return None
    if not np.isfinite(codes).all():
        return None
    decoder_weights = {name: w for name, w in weights.items() if name.startswith(("decoder.", "to_logits."))}
    return QuickLook(codes, labels, config, decoder_weights)
