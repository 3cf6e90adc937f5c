"""The MLP VAE's forward passes in numpy alone, for the app's first look before torch loads.

Importing torch takes seconds; the shipped model is a small MLP, so numpy can
place the test digits on the map and decode under the cursor meanwhile
(core/quickstart.py). This twin reads the parameters vae.py names for its MLP
(encoder.0, encoder.2, ..., to_mu, decoder.*, to_logits) and lives beside it,
so a change to one is seen next to the other; a test checks they agree.

It mirrors the VAE with the MLP architecture only. The mean image is
sigmoid(logits) under every likelihood the VAE has, a learned σ included, so
the likelihood does not matter here; a convolutional VAE or another kind is
declined (mirrors() is False) and the app waits for torch.
"""

from __future__ import annotations

import numpy as np

# The VAE's kind, and the name it had when the shipped file was saved (format 1 files name none).
KINDS = ("vae", "mlp_vae")
V1_KIND = "mlp_vae"
_PREFIXES = ("encoder.", "to_mu.", "decoder.", "to_logits.")
_LIKELIHOODS = ("bernoulli", "gaussian", "learned_gaussian")


def mirrors(kind: str, config: dict) -> bool:
    """Whether this twin computes what the torch model of this kind and stored config computes."""
    return (kind in KINDS and isinstance(config, dict) and config.get("architecture", "mlp") == "mlp"
            and config.get("likelihood", "bernoulli") in _LIKELIHOODS)


def wanted(tensor_name: str) -> bool:
    """Whether the twin needs this tensor of the file."""
    return tensor_name.startswith(_PREFIXES)


def _relu_layers(x: np.ndarray, weights: dict[str, np.ndarray], prefix: str, layers: int) -> np.ndarray:
    for layer in range(layers):
        w, b = weights[f"{prefix}.{2 * layer}.weight"], weights[f"{prefix}.{2 * layer}.bias"]
        x = np.maximum(x @ w.T + b, 0.0)
    return x


class NumpyMLPVAE:
    """Posterior means and decoded images from a stored config (a dict) and weights."""

    def __init__(self, config: dict, weights: dict[str, np.ndarray]):
        self.layers = len(config["hidden_sizes"])
        self.latent_dim = int(config["latent_dim"])
        self.image_shape = tuple(int(side) for side in config["image_shape"])
        self.weights = weights

    def encode_means(self, images: np.ndarray) -> np.ndarray:
        hidden = _relu_layers(images.reshape(images.shape[0], -1), self.weights, "encoder", self.layers)
        return (hidden @ self.weights["to_mu.weight"].T + self.weights["to_mu.bias"]).astype(np.float32)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Mean images (M, H, W) in [0, 1], as the VAE's decode computes them."""
        hidden = _relu_layers(np.asarray(z, np.float32).reshape(-1, self.latent_dim), self.weights,
                              "decoder", self.layers)
        logits = hidden @ self.weights["to_logits.weight"].T + self.weights["to_logits.bias"]
        probabilities = 0.5 * (1.0 + np.tanh(0.5 * logits))  # the sigmoid, without overflow warnings
        return probabilities.astype(np.float32).reshape(-1, *self.image_shape)

    def drop_encoder(self) -> None:
        """Keep only what decoding needs, once the codes are computed."""
        self.weights = {k: v for k, v in self.weights.items() if k.startswith(("decoder.", "to_logits."))}
