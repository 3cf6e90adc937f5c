"""Draw a digit with the mouse and see where the encoder puts it.

After every stroke the drawing is preprocessed as MNIST was (core.drawing),
at the model's image shape, encoded, and the panel shows that input, the
reconstruction and the five test images nearest in latent space; the
posterior mean with its 1- and 2-sigma ellipses goes to the latent map
through overlayPosterior (a model without a posterior gets its code point only).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vae_explorer.core.drawing import (
    BOX_SIZE,
    FIELD_SIZE,
    NOTHING_DRAWN,
    PreparedDrawing,
    box_shape,
    nearest_in_latent,
    preprocess_drawing,
)
from vae_explorer.core import latent
from vae_explorer.core.session import ExplorerSession
from vae_explorer.qt.overlay_keeper import OverlayKeeper, on_map_plane
from vae_explorer.qt.pixel_tiles import PixelTile
from vae_explorer.qt.scrolling import fill_with_scrolling

KEY_POSTERIOR = "drawing-posterior"
NEIGHBOURS = 5
UNDO_LIMIT = 50


class DrawingCanvas(QWidget):
    """A black square to draw on in white; strokeFinished after each mouse release."""

    strokeFinished = Signal()
    cleared = Signal()

    def __init__(self, side: int = 280, brush: int = 20, parent: QWidget | None = None):
        super().__init__(parent)
        self.side = side
        self.brush = brush
        self._image = self._blank()
        self._undo: list[QImage] = []
        self._last: QPointF | None = None
        self.setFixedSize(QSize(side, side))
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the left mouse button; Ctrl+Z undoes the last stroke")

    def _blank(self) -> QImage:
        image = QImage(self.side, self.side, QImage.Format.Format_Grayscale8)
        image.fill(0)
        return image

    # ----- state -----------------------------------------------------------------------------

    def ink(self) -> np.ndarray:
        """The drawing as floats in [0, 1], shape (side, side); 1 is full ink."""
        stride = self._image.bytesPerLine()
        buffer = np.frombuffer(self._image.constBits(), np.uint8, count=stride * self.side)
        return buffer.reshape(self.side, stride)[:, : self.side].astype(np.float32) / 255.0

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def set_brush(self, width: int) -> None:
        self.brush = int(width)

    def clear(self) -> None:
        if not self.ink().any():
            return
        self._push_undo()
        self._image = self._blank()
        self.update()
        self.cleared.emit()

    def undo(self) -> None:
        if not self._undo:
            return
        self._image = self._undo.pop()
        self.update()
        self.strokeFinished.emit()

    def _push_undo(self) -> None:
        self._undo.append(self._image.copy())
        del self._undo[:-UNDO_LIMIT]

    # ----- drawing ---------------------------------------------------------------------------

    def _paint_segment(self, start: QPointF, end: QPointF) -> None:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(QColor(255, 255, 255), self.brush, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                   Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        if start == end:
            painter.drawPoint(start)
        else:
            painter.drawLine(start, end)
        painter.end()
        self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._push_undo()
        self._last = event.position()
        self._paint_segment(self._last, self._last)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._last is None:
            return
        point = event.position()
        self._paint_segment(self._last, point)
        self._last = point

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self._last is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._paint_segment(self._last, event.position())
        self._last = None
        self.strokeFinished.emit()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.drawImage(0, 0, self._image)
        painter.setPen(QPen(QColor(80, 82, 92), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if not self._image.constBits() or not self.ink().any():
            painter.setPen(QColor(120, 122, 130))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Draw a digit here")


class DrawingPanel(QWidget):
    """The canvas, its tools, and what the model makes of the drawing."""

    overlayPosterior = Signal(str, object, object)  # key, mu (2,), sigma (2,); sigma 0 without a posterior
    overlayCleared = Signal(str)
    encoded = Signal(object, object)  # mu, sigma (None without a posterior) of the latest drawing

    def __init__(self, session: ExplorerSession | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session: ExplorerSession | None = None
        self.prepared: PreparedDrawing | None = None
        self.mu: np.ndarray | None = None
        self.sigma: np.ndarray | None = None
        self.neighbour_indices = np.zeros(0, np.int64)
        self.overlays = OverlayKeeper(self.overlayCleared)
        self._build()
        if session is not None:
            self.set_session(session)

    def _build(self) -> None:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)

        draw_box = QGroupBox("Draw a digit")
        self.canvas = DrawingCanvas()
        self.canvas.strokeFinished.connect(self.refresh)
        self.canvas.cleared.connect(self.refresh)
        self.brush_spin = QSpinBox()
        self.brush_spin.setRange(4, 60)
        self.brush_spin.setValue(self.canvas.brush)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setToolTip("Pen width on the 280×280 canvas (MNIST strokes are about 2 of 20 pixels)")
        self.brush_spin.valueChanged.connect(self.canvas.set_brush)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last stroke (Ctrl+Z)")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the canvas (Undo brings it back)")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.undo_shortcut = QShortcut(QKeySequence.StandardKey.Undo, self)
        self.undo_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_shortcut.activated.connect(self.canvas.undo)
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Brush:"))
        tools.addWidget(self.brush_spin)
        tools.addStretch(1)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.clear_button)
        draw_column = QVBoxLayout(draw_box)
        draw_column.addWidget(self.canvas, 0, Qt.AlignmentFlag.AlignHCenter)
        draw_column.addLayout(tools)
        layout.addWidget(draw_box)

        seen_box = QGroupBox("What the model sees")
        self.input_tile = PixelTile("Input")
        self._describe_input((FIELD_SIZE, FIELD_SIZE))
        self.reconstruction_tile = PixelTile("Reconstruction", tooltip="Decoded from the posterior mean")
        self.latent_label = QLabel(NOTHING_DRAWN)
        self.latent_label.setWordWrap(True)
        self.latent_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.input_tile, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.reconstruction_tile, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.latent_label, 1)
        seen_box.setLayout(row)
        layout.addWidget(seen_box)

        near_box = QGroupBox(f"{NEIGHBOURS} nearest images in latent space")
        self.neighbour_tiles = [PixelTile("", pixel_size=2) for _ in range(NEIGHBOURS)]
        near_row = QHBoxLayout(near_box)
        for tile in self.neighbour_tiles:
            tile.title.hide()
            near_row.addWidget(tile, 0, Qt.AlignmentFlag.AlignTop)
        near_row.addStretch(1)
        self.near_box = near_box
        layout.addWidget(near_box)
        layout.addStretch(1)

        fill_with_scrolling(self, content)

    # ----- public API ------------------------------------------------------------------------

    @property
    def image_shape(self) -> tuple[int, int]:
        """The shape drawings are prepared at: the model's, MNIST's before a model is loaded."""
        if self.session is None:
            return (FIELD_SIZE, FIELD_SIZE)
        return tuple(self.session.model.image_shape)

    def set_session(self, session: ExplorerSession | None) -> None:
        self.session = session
        if session is not None:
            self.near_box.setTitle(f"{NEIGHBOURS} nearest {session.data.split} images in latent space")
        self._describe_input(self.image_shape)
        self.refresh()

    def _describe_input(self, shape: tuple[int, int]) -> None:
        box = box_shape(shape)
        self.input_tile.title.setText(f"<b>Input {shape[0]}×{shape[1]}</b>")
        scale = "" if box == (BOX_SIZE, BOX_SIZE) else f" ({BOX_SIZE}/{FIELD_SIZE} of each side, as in MNIST)"
        self.input_tile.setToolTip(f"Cropped, scaled into {box[0]}×{box[1]}{scale} and centred by "
                                   "centre of mass, as MNIST digits were")

    def refresh(self) -> None:
        """Preprocess, encode and show the current drawing (also after undo and clear)."""
        self.undo_button.setEnabled(self.canvas.can_undo)
        self.prepared = preprocess_drawing(self.canvas.ink(), field_shape=self.image_shape)
        if self.prepared.empty or self.session is None:
            self._show_nothing(self.prepared.message if self.prepared.empty else "No model loaded.")
            return
        try:
            self._show_encoding(self.session)
        except Exception as exc:  # noqa: BLE001 - the canvas stays usable whatever the model does
            self._show_nothing(f"Could not encode the drawing: {type(exc).__name__}: {exc}")

    def _show_encoding(self, session: ExplorerSession) -> None:
        mu, logvar = session.encode(self.prepared.image[None])
        self.mu = mu[0]
        self.sigma = None if logvar is None else latent.sigma_from_logvar(logvar[0])
        reconstruction = session.decode(self.mu[None])[0]
        self.input_tile.set_image(self.prepared.image, "preprocessed")
        self.reconstruction_tile.set_image(reconstruction, "decoded at the mean")
        dims = ", ".join(f"{v:.2f}" for v in self.mu[:4]) + (", …" if self.mu.size > 4 else "")
        note = {1: "<br>(1-D latent: drawn at z₂ = 0)", 2: ""}.get(
            session.latent_dim, f"<br>(map shows the first 2 of {session.latent_dim} dims)")
        if self.sigma is None:
            self.latent_label.setText(f"Latent code<br>z = ({dims})<br>"
                                      f"No posterior, so no ellipses: a + marks it on the map.{note}")
        else:
            spread = ", ".join(f"{v:.2f}" for v in self.sigma[:4]) + (", …" if self.sigma.size > 4 else "")
            self.latent_label.setText(f"Posterior mean<br>μ = ({dims})<br>σ = ({spread})<br>"
                                      f"Ellipses on the map: 1σ solid, 2σ dashed.{note}")
        self.neighbour_indices, distances = nearest_in_latent(session.latent_mu, self.mu, NEIGHBOURS)
        labels = session.labels
        for tile, index, distance in zip(self.neighbour_tiles, self.neighbour_indices, distances):
            tile.set_image(session.image(int(index)), f"#{index} · {labels[index]}<br>d={distance:.2f}")
        for tile in self.neighbour_tiles[len(self.neighbour_indices):]:
            tile.set_image(None)
        # On the map's plane; a 1-D latent has no spread along z2.
        sigma = np.zeros_like(self.mu) if self.sigma is None else self.sigma
        self.overlays.show(self.overlayPosterior, KEY_POSTERIOR, on_map_plane(self.mu), on_map_plane(sigma))
        self.encoded.emit(self.mu.copy(), None if self.sigma is None else self.sigma.copy())

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.overlays.panel_shown()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self.overlays.panel_hidden()

    def _show_nothing(self, message: str) -> None:
        self.mu = self.sigma = None
        self.neighbour_indices = np.zeros(0, np.int64)
        self.input_tile.set_image(None)
        self.reconstruction_tile.set_image(None)
        for tile in self.neighbour_tiles:
            tile.set_image(None)
        self.latent_label.setText(message)
        self.overlays.clear(KEY_POSTERIOR)
