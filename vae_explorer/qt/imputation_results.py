"""The Result box of the Impute tab: the image, what the model saw, what it filled in, and how sure it is.

A plain view: the imputation panel computes, this box shows. Kept apart from
the panel so each stays a readable size.
"""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from vae_explorer.core import imputation as imp
from vae_explorer.qt.pixel_tiles import PixelTile

SAMPLE_COUNT = 6
SAMPLE_COLUMNS = 3
# Colour scale top for the per-pixel posterior std; pixel values lie in [0, 1], so 0.3 is already very unsure.
UNCERTAINTY_SCALE = 0.3
GRID_SAMPLES_TITLE = "<b>Posterior samples</b>"
ENCODER_SAMPLES_TITLE = "<b>Samples from q(z|x̂)</b>"


class ResultTiles(QGroupBox):
    """Original, masked input, imputation, error, MAP, uncertainty and sample tiles."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Result", parent)
        self.original_tile = PixelTile("Original", tooltip="The test image as it is")
        self.masked_tile = PixelTile("Masked input", tooltip="What the model sees: erased pixels set to 0")
        self.imputed_tile = PixelTile("Imputation", tooltip="Known pixels kept, erased pixels filled by the model")
        self.error_tile = PixelTile(
            "Error (erased)", tooltip="|imputation − original| on the erased pixels (bright = wrong); "
            "the kept pixels are dimmed")
        self.map_tile = PixelTile("MAP", tooltip="Imputation from the single most probable latent point "
                                  "(its z under the image)")
        self.uncertainty_tile = PixelTile(
            "Uncertainty", tooltip="Per-pixel standard deviation of the decoded images under the posterior")
        top = QHBoxLayout()
        for tile in (self.original_tile, self.masked_tile, self.imputed_tile, self.error_tile):
            top.addWidget(tile, 0, Qt.AlignmentFlag.AlignTop)
        top.addStretch(1)
        self.samples_label = QLabel(GRID_SAMPLES_TITLE)
        self.samples_label.setWordWrap(True)
        self.sample_tiles = [PixelTile("", pixel_size=2) for _ in range(SAMPLE_COUNT)]
        samples = QGridLayout()
        samples.setSpacing(4)
        samples.addWidget(self.samples_label, 0, 0, 1, SAMPLE_COLUMNS)
        for i, tile in enumerate(self.sample_tiles):
            tile.title.hide()
            tile.caption.hide()
            samples.addWidget(tile, 1 + i // SAMPLE_COLUMNS, i % SAMPLE_COLUMNS)
        middle = QHBoxLayout()
        middle.addWidget(self.map_tile, 0, Qt.AlignmentFlag.AlignTop)
        middle.addWidget(self.uncertainty_tile, 0, Qt.AlignmentFlag.AlignTop)
        middle.addLayout(samples)
        middle.addStretch(1)
        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addLayout(middle)

    def show_method(self, grid: bool, has_map_point: bool) -> None:
        self.map_tile.setVisible(has_map_point)
        self.samples_label.setText(GRID_SAMPLES_TITLE if grid else ENCODER_SAMPLES_TITLE)

    def show_input(self, original: np.ndarray, mask: np.ndarray, index: int) -> None:
        """A fresh start: the image and its masked version, every result tile cleared."""
        self.original_tile.set_image(original, f"#{index}")
        self.masked_tile.set_image(imp.apply_mask(original, mask), f"{int(mask.sum())} px erased")
        for tile in (self.imputed_tile, self.error_tile, self.map_tile, self.uncertainty_tile, *self.sample_tiles):
            tile.set_image(None)

    def show_imputation(self, result: np.ndarray, original: np.ndarray, mask: np.ndarray) -> None:
        error = np.abs(result - original) * mask
        mse = imp.erased_mse(result, original, mask)
        self.imputed_tile.set_image(result, "filled in")
        self.error_tile.set_heat(error, 1.0, f"MSE {mse:.4f}", backdrop=original, where=mask)

    def show_grid_posterior(self, posterior: imp.GridPosterior, mask: np.ndarray,
                            generator: torch.Generator) -> None:
        """MAP image, per-pixel spread and posterior samples of one grid step."""
        z = posterior.map_z
        self.map_tile.set_image(posterior.map_image, f"({z[0]:.2f}, {z[1]:.2f})")  # "z=" would wrap the line
        self.show_uncertainty(posterior.uncertainty, posterior.original, mask)
        generator.manual_seed(0)  # the same draws every step, so the samples change only with the posterior
        _, samples = posterior.samples(SAMPLE_COUNT, generator)
        self.samples_label.setText(GRID_SAMPLES_TITLE)
        self.samples_label.setToolTip("Imputations from z drawn from the grid posterior")
        for tile, sample in zip(self.sample_tiles, samples):
            tile.set_image(sample)

    def show_encoder_samples(self, filled: np.ndarray, spread: np.ndarray, original: np.ndarray,
                             mask: np.ndarray) -> None:
        self.show_uncertainty(spread, original, mask)
        self.samples_label.setText(ENCODER_SAMPLES_TITLE)
        self.samples_label.setToolTip("Imputations from z drawn from the encoder's posterior for the final imputation")
        for tile, sample in zip(self.sample_tiles, filled):
            tile.set_image(sample)

    def show_no_samples(self, why: str) -> None:
        for tile in self.sample_tiles:
            tile.set_image(None)
        self.samples_label.setText(f"<b>No samples</b>: {why}")

    def show_uncertainty(self, spread: np.ndarray, original: np.ndarray, mask: np.ndarray) -> None:
        self.uncertainty_tile.set_heat(spread, UNCERTAINTY_SCALE, f"max σ {spread.max():.2f}",
                                       backdrop=original, where=mask)
