"""Encoder and decoder bodies shared by the model kinds: a multilayer perceptron or a small CNN.

Every kind is an encoder trunk, heads that make its latent code, a decoder
trunk and a head that makes one output per pixel. The trunks here are the
parts two kinds would otherwise write twice; the heads stay in each kind.

- Encoder trunk: image rows (N, H*W), plus optional extra inputs (N, E) such
  as a one-hot label, -> features (N, F).
- Decoder: (N, d [+ E]) -> one value per pixel (N, H*W), as `trunk` then `head`.

The MLP parts are plain nn.Sequential stacks, so their weights keep the names
that version-1 checkpoints use ("encoder.0.weight", "to_logits.weight").
The convolutional parts use two stride-2 convolutions (32 and 64 channels,
kernel 4), so a 28x28 image becomes 64 maps of 7x7; any image size works,
the decoder crops its 4x upsampling to the image.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ARCHITECTURES = ("mlp", "conv")
CONV_CHANNELS = (32, 64)


def mlp_layers(sizes: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for width_in, width_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(width_in, width_out), nn.ReLU()]
    return layers


class MLPTrunk(nn.Sequential):
    """Linear + ReLU layers; extra inputs are joined to the input row."""

    def __init__(self, sizes: list[int]):
        super().__init__(*mlp_layers(sizes))
        self.out_features = sizes[-1]

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:  # noqa: D102
        if extra is not None:
            x = torch.cat([x, extra.to(x.dtype)], dim=-1)
        return super().forward(x)


def _conv_out(side: int) -> int:
    # kernel 4, stride 2, padding 1
    return (side + 2 - 4) // 2 + 1


class ConvEncoderTrunk(nn.Module):
    """Two stride-2 convolutions, then a linear layer to `width` features (extra inputs join there)."""

    def __init__(self, image_shape: tuple[int, int], width: int, extra_features: int = 0):
        super().__init__()
        h, w = image_shape
        if min(h, w) < 4:
            raise ValueError("the convolutional encoder needs images of at least 4x4 pixels")
        self.image_shape = (h, w)
        c1, c2 = CONV_CHANNELS
        self.convs = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        flat = c2 * _conv_out(_conv_out(h)) * _conv_out(_conv_out(w))
        self.fc = nn.Sequential(nn.Linear(flat + extra_features, width), nn.ReLU())
        self.out_features = width

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:  # noqa: D102
        features = self.convs(x.reshape(x.shape[0], 1, *self.image_shape))
        if extra is not None:
            features = torch.cat([features, extra.to(features.dtype)], dim=-1)
        return self.fc(features)


class ConvDecoderTrunk(nn.Module):
    """(N, inputs) -> linear layers -> 64 maps at a quarter of the image size -> one upsampling."""

    def __init__(self, inputs: int, width: int, image_shape: tuple[int, int]):
        super().__init__()
        h, w = image_shape
        self.grid = (math.ceil(h / 4), math.ceil(w / 4))
        c1, c2 = CONV_CHANNELS
        self.layers = nn.Sequential(
            nn.Linear(inputs, width), nn.ReLU(),
            nn.Linear(width, c2 * self.grid[0] * self.grid[1]), nn.ReLU(),
            nn.Unflatten(1, (c2, *self.grid)),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.layers(z)


class ConvPixelHead(nn.Module):
    """The last upsampling to `channels` maps of the image size, cropped, as rows (N, channels*H*W)."""

    def __init__(self, image_shape: tuple[int, int], channels: int = 1):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.up = nn.ConvTranspose2d(CONV_CHANNELS[0], channels, 4, stride=2, padding=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # noqa: D102
        h, w = self.image_shape
        out = self.up(features)[:, :, :h, :w]
        return out.reshape(out.shape[0], -1)


def encoder_trunk(
    architecture: str, image_shape: tuple[int, int], hidden_sizes: tuple[int, ...], extra_features: int = 0
) -> nn.Module:
    """The encoder body; its `out_features` is what the kind's heads read."""
    if architecture == "conv":
        return ConvEncoderTrunk(image_shape, hidden_sizes[-1], extra_features)
    return MLPTrunk([image_shape[0] * image_shape[1] + extra_features, *hidden_sizes])


def decoder(
    architecture: str, inputs: int, hidden_sizes: tuple[int, ...], image_shape: tuple[int, int],
    channels: int = 1,
) -> tuple[nn.Module, nn.Module]:
    """(trunk, head): inputs -> ... -> (N, channels * H * W) values per pixel.

    For the MLP the head is a linear layer from the widest hidden layer, so
    the weights keep the names of the original model ("decoder.*", "to_logits.*").
    """
    if architecture == "conv":
        return ConvDecoderTrunk(inputs, hidden_sizes[0], image_shape), ConvPixelHead(image_shape, channels)
    pixels = image_shape[0] * image_shape[1]
    return MLPTrunk([inputs, *reversed(hidden_sizes)]), nn.Linear(hidden_sizes[0], channels * pixels)
