"""Which images the map shows: the test split, or with --data-dir the training split and both.

Switching encodes the chosen split with the explored model (a second or two
for 70,000 images); a split that cannot be loaded leaves the current one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QMessageBox

from vae_explorer.qt.split_store import SPLIT_BOTH, SPLIT_TEST, SPLIT_TRAIN

if TYPE_CHECKING:
    from vae_explorer.core.data import ImageSet


class WindowSplits:
    def __init__(self, window, test_count: int):
        self.window = window
        self.test_count = test_count
        self.combo = QComboBox()
        self.combo.activated.connect(lambda _index: self.show_split(self.combo.currentData()))

    def show_split(self, split: str) -> bool:
        """Encode and draw another split; on failure say why and keep the current one."""
        from vae_explorer.core.session import ExplorerSession
        from vae_explorer.qt.busy import busy_cursor

        window = self.window
        try:
            with busy_cursor():
                data = self._load(split)
                session = ExplorerSession.create(window.session.checkpoint, data)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the current split in place
            QMessageBox.warning(window, "Cannot show that split", f"{exc}\n\nThe map keeps showing the "
                                f"{window.session.data.split} split.")
            self.combo.setCurrentIndex(max(0, self.combo.findData(window.session.data.split)))
            return False
        window.exploration.unpick()
        window.install_session(session)
        self.combo.setCurrentIndex(max(0, self.combo.findData(split)))
        window.latent_view.auto_range()
        if window.side_by_side is not None:
            window.side_by_side.follow_data(session.data)
        return True

    def set_data_dir(self, data_dir: str | None) -> None:
        """Offer the training split on the map when data_dir holds MNIST."""
        window = self.window
        window.data_dir = data_dir
        window.splits.data_dir = data_dir
        self.combo.clear()
        self.combo.addItem(f"Test split ({self.test_count:,} images)", SPLIT_TEST)
        if data_dir:
            self.combo.addItem("Training split (60,000)", SPLIT_TRAIN)
            self.combo.addItem("Training + test (70,000)", SPLIT_BOTH)
        self.combo.setToolTip("Which images are encoded and drawn on the map"
                              + ("" if data_dir else " (start with --data-dir to add the training split)"))

    def _load(self, split: str) -> ImageSet:
        window = self.window
        dataset = window.session.data.name
        if not window.splits.has(dataset, split):
            window.statusBar().showMessage(f"Loading the {split} split from {window.data_dir}…")
        try:
            return window.splits.get(dataset, split)
        finally:
            window.statusBar().clearMessage()
