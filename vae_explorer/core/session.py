"""The model being explored, frozen, with the encoded data beside it.

An ExplorerSession is what the views share: a copy of the weights in eval mode
on the CPU (so interactive decoding never waits on a training thread), the
displayed split, and its posterior means and log-variances. It is a plain
object; widgets receive a new one whenever the model or data changes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from vae_explorer.core.checkpoint import Checkpoint
from vae_explorer.core.data import ImageSet
from vae_explorer.core.latent import sigma_from_logvar
from vae_explorer.core.models.base import ExplorableModel


@torch.no_grad()
def encode_dataset(
    model: ExplorableModel, images: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 10000
) -> tuple[np.ndarray, np.ndarray | None]:
    """Latent means and (for a posterior) log-variances of every image, as float32 numpy arrays."""
    device = model.device
    means, logvars = [], []
    for start in range(0, images.shape[0], batch_size):
        batch_labels = labels[start : start + batch_size].to(device) if labels is not None else None
        code = model.encode(images[start : start + batch_size].to(device), batch_labels)
        means.append(code.mean.cpu())
        if code.logvar is not None:
            logvars.append(code.logvar.cpu())
    return torch.cat(means).numpy(), (torch.cat(logvars).numpy() if logvars else None)


def frozen_copy(model: ExplorableModel) -> ExplorableModel:
    """A CPU copy in eval mode with gradients off, safe to use while the original trains."""
    clone = copy.deepcopy(model).to("cpu").eval()
    for parameter in clone.parameters():
        parameter.requires_grad_(False)
    return clone


@dataclass
class ExplorerSession:
    checkpoint: Checkpoint
    model: ExplorableModel  # frozen CPU copy used by every view
    data: ImageSet  # the displayed split, on the CPU
    latent_mu: np.ndarray  # (N, latent_dim)
    latent_logvar: np.ndarray | None  # (N, latent_dim); None for a deterministic code
    # The class a conditional model decodes when the caller gives none (the map's class picker).
    condition: int = 0

    @classmethod
    def create(cls, checkpoint: Checkpoint, data: ImageSet) -> "ExplorerSession":
        model = frozen_copy(checkpoint.model)
        data = data.to("cpu")
        mu, logvar = encode_dataset(model, data.images, data.labels)
        return cls(checkpoint, model, data, mu, logvar)

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def decoding_model(self) -> ExplorableModel:
        """The model as the views use it: a conditional one with the chosen class bound to it."""
        return self.model_for_class(self.condition)

    def model_for_class(self, label: int) -> ExplorableModel:
        """The model with class `label` bound to it when it is conditional; else the model itself."""
        if not self.model.is_conditional:
            return self.model
        from vae_explorer.core.models.base import WithClass

        return WithClass(self.model, int(label))

    @property
    def labels(self) -> np.ndarray:
        return self.data.labels.numpy()

    @torch.no_grad()
    def decode(self, z: np.ndarray, labels: np.ndarray | int | None = None) -> np.ndarray:
        """Decoded mean images in [0, 1] for latent points z (M, d): shape (M, H, W).

        labels (one per point, or one for all) matter only to a conditional
        model, which decodes `condition` when none are given.
        """
        z_t = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, self.latent_dim)
        return self.model.decode(z_t, self._labels(labels, z_t.shape[0])).numpy()

    @torch.no_grad()
    def encode(self, images: np.ndarray, labels: np.ndarray | int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Latent mean and log-variance (None without a posterior) for images (M, H*W) or (M, H, W)."""
        rows = self.model.rows(images)
        code = self.model.encode(rows, self._labels(labels, rows.shape[0]))
        return code.mean.numpy(), (code.logvar.numpy() if code.logvar is not None else None)

    def _labels(self, labels, count: int) -> torch.Tensor | None:
        if not self.model.is_conditional:
            return None
        chosen = np.asarray(self.condition if labels is None else labels, dtype=np.int64).reshape(-1)
        if chosen.size == 1:
            chosen = np.full(count, chosen[0], dtype=np.int64)
        return torch.as_tensor(chosen)

    def image(self, index: int) -> np.ndarray:
        return self.data.images[index].reshape(self.data.image_shape).numpy()

    def posterior(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean and standard deviation of q(z|x) for data point index (None without a posterior)."""
        mu, logvar = self.encode(self.data.images[index : index + 1].numpy(), self.labels[index])
        return mu[0], (sigma_from_logvar(logvar[0]) if logvar is not None else None)

    def reconstruct(self, index: int) -> np.ndarray:
        """The decoded posterior mean of data point index, shape (H, W)."""
        label = self.labels[index]
        mu, _ = self.encode(self.data.images[index : index + 1].numpy(), label)
        return self.decode(mu, label)[0]
