"""Two models side by side: the explored model and another of the same latent size.

Made for the VAE-GAN, whose adversarial loss should make decodes sharper
than a VAE trained without it. A clicked data point is reconstructed by both
(the same image through two autoencoders: the fair comparison); the pinned z
and a row of prior samples are decoded by both. Two models learn their latent
spaces separately, so the same z is usually a different digit in each: those
rows compare sharpness, not content. Under each image, its crispness: the
share of pixels that are nearly black or white.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from vae_explorer.core import latent
from vae_explorer.core.resources import shipped_models
from vae_explorer.qt.image_views import ImagePanel

SAMPLES = 8
GAP_GREY = 0.22  # the grey between sample tiles, so neighbours stand apart


def crispness(images: np.ndarray) -> float:
    """Share of pixels below 0.1 or above 0.9: blurry decodes are mostly grey in between."""
    images = np.asarray(images)
    return float(((images < 0.1) | (images > 0.9)).mean())


class DecoderComparePanel(QWidget):
    """Pick a second model; see a clicked image, the pinned z and prior samples through both."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = None
        self.other = None  # the second model (an ExplorableModel), or None
        self.z: np.ndarray | None = None  # the pinned point, when it was the last thing clicked
        self.index: int | None = None  # the clicked data point, when it was the last thing clicked
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("A shipped model with the same latent size, to put beside this one")
        self.model_combo.currentIndexChanged.connect(self._on_model_chosen)
        self.other_label = QLabel()
        self.other_label.setWordWrap(True)
        self.other_label.setObjectName("hint")
        self.subject = QLabel()
        self.subject.setWordWrap(True)
        self.mine = ImagePanel("This model", "Click a data point or the map", minimum=110)
        self.theirs = ImagePanel("The other model", "", minimum=110)
        for panel in (self.mine, self.theirs):
            panel.canvas.fit_height_to_width()
        self.samples = ImagePanel("Prior samples: this model (top), the other (bottom)", "", minimum=60)
        self.samples.canvas.fit_height_to_width()
        form = QFormLayout()
        form.addRow("Compare with", self.model_combo)
        pair = QHBoxLayout()
        pair.addWidget(self.mine)
        pair.addWidget(self.theirs)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(form)
        layout.addWidget(self.other_label)
        layout.addWidget(self.subject)
        layout.addLayout(pair)
        layout.addWidget(self.samples)
        layout.addStretch(1)

    def set_session(self, session) -> None:
        self.session = session
        if session is not None and self.z is not None and len(self.z) != session.latent_dim:
            self.z = None
        if session is None or (self.index is not None and self.index >= len(session.data)):
            self.index = None
        self._fill_models()
        adversarial = session is not None and "adversarial" in session.model.term_labels
        lead = ("A VAE-GAN's discriminator pushes its decoder towards images that look real: compare it "
                "with a VAE trained without one. " if adversarial else "")
        self.note.setText(
            lead + "Click a data point to see both reconstruct it. A pinned z or a sample is another digit "
            "in each model (each learnt its own latent space): there, compare sharpness only.")
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
        self.other_label.clear()
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
        self.other_label.clear()
        if path and self.session is not None:
            from vae_explorer.core.checkpoint import CheckpointError, load_checkpoint

            try:
                model = load_checkpoint(path).model.eval()
            except (CheckpointError, OSError) as exc:
                self.other_label.setText(f"Could not open it: {exc}")
                self.refresh()
                return
            if model.latent_dim != self.session.latent_dim or model.image_shape != self.session.model.image_shape:
                self.other_label.setText(f"{model.describe()}: its latent size or image size differs from "
                                         "this model's, so the two cannot share a z.")
                # Greyed from now on (until the next model), and back to none.
                self.model_combo.model().item(index).setEnabled(False)
                self.model_combo.setItemData(index, "Another latent or image size", Qt.ItemDataRole.ToolTipRole)
                self.model_combo.blockSignals(True)
                self.model_combo.setCurrentIndex(0)
                self.model_combo.blockSignals(False)
                self.refresh()
                return
            self.other = model
            self.other_label.setText(f"The other model: {model.describe()}")
        self.refresh()

    def show_z(self, z: np.ndarray) -> None:
        """Decode the full latent point z (the pinned point) by both models."""
        z = np.asarray(z, np.float32).reshape(-1)
        if self.session is not None and z.size != self.session.latent_dim:  # a pin from a model being replaced
            return
        self.z, self.index = z, None
        self.refresh()

    def show_data_point(self, index: int) -> None:
        """Reconstruct data point index (of the session's data) by both models."""
        if self.session is None or not 0 <= index < len(self.session.data):
            return
        self.index, self.z = index, None
        self.refresh()

    def _labels(self, count: int, label: int | None = None):
        import torch

        return torch.full((count,), int(self.session.condition if label is None else label), dtype=torch.int64)

    def _decode_other(self, z: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.other.decode(torch.as_tensor(z, dtype=torch.float32), self._labels(len(z))).numpy()

    def _reconstruct_other(self, index: int) -> np.ndarray:
        import torch

        label = int(self.session.labels[index])
        with torch.no_grad():
            code = self.other.encode(self.other.rows(self.session.image(index)), self._labels(1, label))
            return self.other.decode(code.mean, self._labels(1, label))[0].numpy()

    def refresh(self) -> None:
        if self.session is not None:
            self._show_pair()
        for label in (self.other_label, self.subject):  # no empty lines between the boxes
            label.setVisible(bool(label.text()))
        self.samples.setVisible(self.other is not None)
        if self.session is None or self.other is None:
            self.samples.set_image(None, "")
            return
        z = latent.prior_samples(SAMPLES, self.session.latent_dim, 0)
        mine, theirs = self.session.decode(z), self._decode_other(z)
        self.samples.set_image(
            latent.tile_images(np.concatenate([mine, theirs]), 2, SAMPLES, padding=1, fill=GAP_GREY),
            f"Crispness over these samples: this model {crispness(mine):.0%}, the other {crispness(theirs):.0%}")

    def _show_pair(self) -> None:
        if self.index is not None:
            self.subject.setText(f"<b>Data point #{self.index}</b>, reconstructed by each model")
            mine = self.session.reconstruct(self.index)
            theirs = self._reconstruct_other(self.index) if self.other is not None else None
        elif self.z is not None:
            shown = ", ".join(f"{v:+.2f}" for v in self.z[:4]) + (", …" if len(self.z) > 4 else "")
            self.subject.setText(f"<b>The pinned z = ({shown})</b>, decoded by each model")
            mine = self.session.decode(self.z[None])[0]
            theirs = self._decode_other(self.z[None])[0] if self.other is not None else None
        else:
            self.subject.clear()
            self.mine.set_image(None)
            self.theirs.set_image(None)
            self.theirs.canvas.set_placeholder("Choose a model to compare with" if self.other is None
                                               else "Click a data point or the map")
            return
        self.mine.set_image(mine, f"crispness {crispness(mine):.0%}")
        if theirs is None:
            self.theirs.canvas.set_placeholder("Choose a model to compare with")
            self.theirs.set_image(None)
        else:
            self.theirs.set_image(theirs, f"crispness {crispness(theirs):.0%}")
