"""The same z through two decoders: the explored model's and another model's of the same latent size.

Made for the VAE-GAN, whose adversarial loss should make decodes sharper
than a VAE trained without it: the pinned z and a row of prior samples are
decoded by both, with the share of pixels that are nearly black or white
(crispness) under each. Works for any two models with one latent size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from vae_explorer.core import latent
from vae_explorer.core.resources import shipped_models
from vae_explorer.qt.image_views import ImagePanel

SAMPLES = 8


def crispness(images: np.ndarray) -> float:
    """Share of pixels below 0.1 or above 0.9: blurry decodes are mostly grey in between."""
    images = np.asarray(images)
    return float(((images < 0.1) | (images > 0.9)).mean())


class DecoderComparePanel(QWidget):
    """Pick a second model; see the pinned z and prior samples decoded by both."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = None
        self.other = None  # the second model (an ExplorableModel), or None
        self.z: np.ndarray | None = None
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("A shipped model with the same latent size to decode the same z")
        self.model_combo.currentIndexChanged.connect(self._on_model_chosen)
        self.mine = ImagePanel("This model", "Click the map", minimum=110)
        self.theirs = ImagePanel("The other model", "", minimum=110)
        self.samples = ImagePanel("Prior samples: this model (top), the other (bottom)", "", minimum=80)
        self.samples.canvas.fit_height_to_width()
        form = QFormLayout()
        form.addRow("Compare with", self.model_combo)
        pair = QHBoxLayout()
        pair.addWidget(self.mine)
        pair.addWidget(self.theirs)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(form)
        layout.addLayout(pair, 1)
        layout.addWidget(self.samples)
        layout.addStretch(0)

    def set_session(self, session) -> None:
        self.session = session
        if session is not None and self.z is not None and len(self.z) != session.latent_dim:
            self.z = None
        self._fill_models()
        adversarial = session is not None and "adversarial" in session.model.term_labels
        self.note.setText(
            "A VAE-GAN's discriminator pushes its decoder towards images that look real: compare its "
            "decodes with a VAE trained without one." if adversarial else
            "The same z decoded by this model and by another of the same latent size.")
        self.refresh()

    def _fill_models(self) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem("(none)", None)
        current = getattr(self.session.checkpoint, "path", None) if self.session is not None else None
        for title, path in shipped_models():
            if current is None or Path(path).resolve() != Path(current).resolve():
                self.model_combo.addItem(title, str(path))
        self.model_combo.blockSignals(False)
        self.other = None
        # A VAE-GAN compares with the first shipped model of its latent size (the plain VAE).
        if self.session is not None and "adversarial" in self.session.model.term_labels:
            for index in range(1, self.model_combo.count()):
                if self.choose(index):
                    break

    def choose(self, index: int) -> bool:
        """Compare with the combo's entry index; False when its latent size differs."""
        self.model_combo.setCurrentIndex(index)
        return self.other is not None

    def _on_model_chosen(self, index: int) -> None:
        path = self.model_combo.itemData(index)
        self.other = None
        if path and self.session is not None:
            from vae_explorer.core.checkpoint import CheckpointError, load_checkpoint

            try:
                model = load_checkpoint(path).model.eval()
            except (CheckpointError, OSError) as exc:
                self.theirs.set_image(None, f"Could not open it: {exc}")
                return
            if model.latent_dim != self.session.latent_dim or model.image_shape != self.session.model.image_shape:
                self.theirs.set_image(None, f"{model.describe()}: its latent size or image size differs "
                                            "from this model's, so the same z means nothing to it.")
                return
            self.other = model
        self.refresh()

    def show_z(self, z: np.ndarray) -> None:
        """Decode the full latent point z (the pinned point) by both models."""
        self.z = np.asarray(z, np.float32).reshape(-1)
        self.refresh()

    def _decode_other(self, z: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            labels = torch.full((len(z),), int(self.session.condition), dtype=torch.int64)
            return self.other.decode(torch.as_tensor(z, dtype=torch.float32), labels).numpy()

    def refresh(self) -> None:
        if self.session is None:
            return
        if self.z is not None:
            mine = self.session.decode(self.z[None])[0]
            self.mine.set_image(mine, f"crispness {crispness(mine):.0%}")
            if self.other is not None:
                theirs = self._decode_other(self.z[None])[0]
                self.theirs.set_image(theirs, f"{self.other.describe()} · crispness {crispness(theirs):.0%}")
        if self.other is None:
            if self.model_combo.currentData() is None:
                self.theirs.set_image(None, "Choose a model to compare with")
            self.samples.set_image(None, "")
            return
        z = latent.prior_samples(SAMPLES, self.session.latent_dim, 0)
        mine, theirs = self.session.decode(z), self._decode_other(z)
        self.samples.set_image(
            latent.tile_images(np.concatenate([mine, theirs]), 2, SAMPLES, padding=1),
            f"crispness over these samples: this model {crispness(mine):.0%}, the other {crispness(theirs):.0%}")
