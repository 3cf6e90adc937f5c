"""Widgets that show decoded images: a single tile, and tiled grids and strips.

Each widget keeps the float array it shows (`array`, values in [0, 1]) so
exports and tests read exactly what is on screen.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget


def to_uint8(array: np.ndarray, vmax: float = 1.0) -> np.ndarray:
    """Values in [0, vmax] as bytes 0..255, rounded; NaN and out-of-range values are clipped."""
    scaled = np.clip(np.nan_to_num(np.asarray(array, np.float32)) / max(vmax, 1e-12), 0.0, 1.0)
    return (scaled * 255.0 + 0.5).astype(np.uint8)


def array_to_qimage(array: np.ndarray) -> QImage:
    """A grayscale QImage that owns a copy of array (H, W) in [0, 1]."""
    pixels = np.ascontiguousarray(to_uint8(array))
    h, w = pixels.shape
    image = QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8)
    return image.copy()  # detach from the numpy buffer, which dies with this frame


def qimage_to_array(image: QImage) -> np.ndarray:
    """Grayscale pixels of image as floats in [0, 1], shape (H, W)."""
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h, stride = gray.width(), gray.height(), gray.bytesPerLine()
    buffer = np.frombuffer(gray.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return buffer[:, :w].astype(np.float32) / 255.0


def save_array_png(array: np.ndarray, path: str, scale: int = 1) -> None:
    image = array_to_qimage(array)
    if scale > 1:
        image = image.scaled(image.width() * scale, image.height() * scale,
                             Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.FastTransformation)
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")


class ImageCanvas(QWidget):
    """Paints a grayscale array scaled to fit, keeping its aspect ratio, on a dark backdrop."""

    def __init__(self, minimum: int = 96, parent: QWidget | None = None):
        super().__init__(parent)
        self.array: np.ndarray | None = None
        self._image: QImage | None = None
        self._placeholder = ""
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_array(self, array: np.ndarray | None) -> None:
        self.array = None if array is None else np.asarray(array, dtype=np.float32).copy()
        self._image = None if array is None else array_to_qimage(self.array)
        self.updateGeometry()
        self.update()

    def fit_height_to_width(self) -> None:
        """Take exactly the height the image needs at the given width (for wide strips)."""
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    @property
    def placeholder(self) -> str:
        """What shows while there is no image."""
        return self._placeholder

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def heightForWidth(self, width: int) -> int:
        if self.array is None:
            return max(self.minimumHeight(), width // 8)
        h, w = self.array.shape
        return max(self.minimumHeight(), int(width * h / w))

    def hasHeightForWidth(self) -> bool:
        return True

    def sizeHint(self) -> QSize:
        return QSize(160, 160)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(12, 12, 14))
        if self._image is None:
            painter.setPen(QColor(140, 140, 150))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
            return
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        target_w, target_h = int(w * scale), int(h * scale)
        x, y = (self.width() - target_w) // 2, (self.height() - target_h) // 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(self.rect().adjusted(x, y, -(self.width() - x - target_w), -(self.height() - y - target_h)),
                          self._image)


class ImagePanel(QWidget):
    """A titled image with a caption line under it (z, label, ...)."""

    def __init__(self, title: str, placeholder: str = "", minimum: int = 96, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(f"<b>{title}</b>")
        self.canvas = ImageCanvas(minimum)
        self.canvas.set_placeholder(placeholder)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.caption)

    @property
    def array(self) -> np.ndarray | None:
        return self.canvas.array

    def set_image(self, array: np.ndarray | None, caption: str = "") -> None:
        self.canvas.set_array(array)
        self.caption.setText(caption)

    def show_note(self, note: str, caption: str = "") -> None:
        """No image: the note in its place (e.g. why this point cannot be decoded)."""
        self.canvas.set_placeholder(note)
        self.set_image(None, caption)
