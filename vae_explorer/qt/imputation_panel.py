"""Erase part of a test digit and watch the model fill it in, step by step.

The panel owns no model state beyond the session it was given. A run is a
core generator (iterative, grid posterior or gradient MAP) stepped by a
QTimer, one step per tick, so the GUI thread is never blocked for long and
the user sees every step: the imputation tiles update and the latent map
shows the path of the iterative method or the posterior heat map.
The map is reached only through the overlay signals, which attach() in
demo_panels connects to the latent view.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vae_explorer.core import imputation as imp
from vae_explorer.core.session import ExplorerSession
from vae_explorer.qt.mask_editor import MaskEditor
from vae_explorer.qt.overlay_keeper import OverlayKeeper, on_map_plane
from vae_explorer.qt.pixel_tiles import PixelTile
from vae_explorer.qt.scrolling import fill_with_scrolling

METHOD_ITERATIVE = "iterative"
METHOD_GRID = "grid"
METHOD_MAP = "map"
METHOD_TITLES = {
    METHOD_ITERATIVE: "Iterative (pseudo-Gibbs)",
    METHOD_GRID: "Exact posterior on a grid (2-D latent)",
    METHOD_MAP: "Gradient MAP, several starts",
}
# What each method draws on the latent map, said under the Impute button.
MAP_HINTS = {
    METHOD_ITERATIVE: "On the map: orange path = the latent point of each round, ☆ = the latest.",
    METHOD_GRID: "On the map: heat map = log p(z | kept pixels), cells within 1/1000 of the peak; ☆ = MAP point.",
    METHOD_MAP: "On the map: orange path = the best start's climb, ☆ = where it is now.",
}
# Overlay keys on the latent map.
KEY_PATH = "imputation-path"
KEY_HEATMAP = "imputation-posterior"
KEY_MAP_POINT = "imputation-map-point"
SAMPLE_COUNT = 6
GRID_EXTENT = 4.0
GRID_RESOLUTION = 100
SAMPLE_COLUMNS = 3
# Colour scale top for the per-pixel posterior std; pixel values lie in [0, 1], so 0.3 is already very unsure.
UNCERTAINTY_SCALE = 0.3


class ImputationPanel(QWidget):
    """Pick a test digit, erase part of it, impute with a chosen method, step by step."""

    overlayPath = Signal(str, object)  # key, points (N, 2)
    overlayHeatmap = Signal(str, object, object)  # key, density (R, R), extent
    overlayMarker = Signal(str, object)  # key, z (2,)
    overlayCleared = Signal(str)  # key
    runFinished = Signal(str)  # method
    zoomRequested = Signal(object)  # (xmin, xmax, ymin, ymax) on the latent map

    def __init__(self, session: ExplorerSession | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session: ExplorerSession | None = None
        self.index = 0
        self.original = np.zeros((28, 28), np.float32)
        self.result: np.ndarray | None = None
        self.method = METHOD_ITERATIVE
        self._steps: Iterator | None = None
        self._path: list[np.ndarray] = []
        self._last_status = ""
        self._focus: np.ndarray | None = None  # (M, 2) latent points worth zooming the map onto
        self._grids: dict[int, imp.LatentGrid] = {}
        self._rng = np.random.default_rng()
        self.overlays = OverlayKeeper(self.overlayCleared)
        self.timer = QTimer(self)
        self.timer.setInterval(80)
        self.timer.timeout.connect(self._on_tick)
        self._build()
        self.set_mask(imp.preset_mask("Middle rows 10-17"))
        self._on_method_chosen(0)
        if session is not None:
            self.set_session(session)

    # ----- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self._build_image_box())
        layout.addWidget(self._build_erase_box())
        layout.addWidget(self._build_method_box())
        layout.addWidget(self._build_result_box())
        layout.addStretch(1)
        fill_with_scrolling(self, content)

    def _build_image_box(self) -> QGroupBox:
        box = QGroupBox("1 · Choose a digit")
        self.index_spin = QSpinBox()
        self.index_spin.setRange(0, 0)
        self.index_spin.setToolTip("Index of the image in the split shown on the map")
        self.index_spin.valueChanged.connect(self.choose_image)
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Pick a random image")
        self.random_button.clicked.connect(self.choose_random_image)
        self.image_label = QLabel("")
        row = QHBoxLayout()
        row.addWidget(QLabel("Image #"))
        row.addWidget(self.index_spin)
        row.addWidget(self.random_button)
        row.addWidget(self.image_label, 1)
        hint = QLabel("…or click a data point on the latent map.")
        hint.setObjectName("hint")
        column = QVBoxLayout(box)
        column.setSpacing(2)
        column.addLayout(row)
        column.addWidget(hint)
        return box

    def _build_erase_box(self) -> QGroupBox:
        box = QGroupBox("2 · Erase pixels")
        self.editor = MaskEditor()
        self.editor.maskChanged.connect(self._on_mask_changed)
        self.rows_radio = QRadioButton("Rows")
        self.rect_radio = QRadioButton("Rectangle")
        self.rows_radio.setChecked(True)
        self.rows_radio.setToolTip("A drag erases every row it passes over")
        self.rect_radio.setToolTip("A drag erases the rectangle between its ends")
        group = QButtonGroup(self)
        group.addButton(self.rows_radio)
        group.addButton(self.rect_radio)
        self.rows_radio.toggled.connect(
            lambda on: self.editor.set_mode(MaskEditor.MODE_ROWS if on else MaskEditor.MODE_RECTANGLE))
        controls = QVBoxLayout()
        controls.addWidget(QLabel("Drag mode:"))
        controls.addWidget(self.rows_radio)
        controls.addWidget(self.rect_radio)
        controls.addSpacing(6)
        controls.addWidget(QLabel("Presets:"))
        self.preset_buttons: dict[str, QPushButton] = {}
        for name, (first, last) in imp.PRESET_ROWS.items():
            button = QPushButton(name.replace("Middle rows 10-17", "Rows 10–17"))
            button.setToolTip(f"Erase rows {first} to {last}")
            button.clicked.connect(lambda _=False, n=name: self.set_mask(imp.preset_mask(n)))
            controls.addWidget(button)
            self.preset_buttons[name] = button
        self.clear_mask_button = QPushButton("Restore all")
        self.clear_mask_button.setToolTip("Un-erase every pixel")
        self.clear_mask_button.clicked.connect(lambda: self.set_mask(imp.empty_mask()))
        controls.addWidget(self.clear_mask_button)
        controls.addStretch(1)
        row = QHBoxLayout(box)
        row.addWidget(self.editor, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(controls)
        return box

    def _build_method_box(self) -> QGroupBox:
        box = QGroupBox("3 · Impute")
        self.method_combo = QComboBox()
        for key, title in METHOD_TITLES.items():
            self.method_combo.addItem(title, key)
        self.method_combo.setToolTip(
            "Iterative: fill, encode, decode, restore the known pixels, repeat (path drawn on the map).\n"
            "Grid posterior: p(z | observed pixels) on a 100×100 grid, drawn as a heat map; the\n"
            "imputation is the posterior mean of the decoded images. Needs a 2-D latent.\n"
            "Gradient MAP: climb log p(observed | z) + log p(z) from several starts.")
        self.method_combo.currentIndexChanged.connect(self._on_method_chosen)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 500)
        self.steps_spin.setValue(25)
        self.steps_spin.setToolTip("Rounds of the iterative method")
        self.impute_button = QPushButton("Impute")
        self.impute_button.setDefault(True)
        self.impute_button.setToolTip("Run the chosen method, one step per frame")
        self.impute_button.clicked.connect(self.start_imputation)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_imputation)
        self.zoom_button = QPushButton("Zoom map")
        self.zoom_button.setEnabled(False)
        self.zoom_button.setToolTip("Fit the latent map around the posterior or the path of this run")
        self.zoom_button.clicked.connect(self.zoom_map)
        self.status_label = QLabel("Choose a digit, erase some rows, press Impute.")
        self.status_label.setWordWrap(True)
        self.map_hint = QLabel("")
        self.map_hint.setObjectName("hint")
        self.map_hint.setWordWrap(True)
        grid = QGridLayout(box)
        grid.addWidget(QLabel("Method:"), 0, 0)
        grid.addWidget(self.method_combo, 0, 1, 1, 3)
        # Long method titles must not widen the dock.
        self.method_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.method_combo.setMinimumContentsLength(12)
        self.steps_label = QLabel("Rounds:")
        grid.addWidget(self.steps_label, 1, 0)
        grid.addWidget(self.steps_spin, 1, 1)
        buttons = QHBoxLayout()
        for button in (self.impute_button, self.stop_button, self.zoom_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        grid.addLayout(buttons, 2, 0, 1, 4)
        grid.addWidget(self.status_label, 3, 0, 1, 4)
        grid.addWidget(self.map_hint, 4, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        return box

    def _build_result_box(self) -> QGroupBox:
        box = QGroupBox("Result")
        self.original_tile = PixelTile("Original", tooltip="The test image as it is")
        self.masked_tile = PixelTile("Masked input", tooltip="What the model sees: erased pixels set to 0")
        self.imputed_tile = PixelTile("Imputation", tooltip="Known pixels kept, erased pixels filled by the model")
        self.error_tile = PixelTile(
            "Error (erased)", tooltip="|imputation − original| on the erased pixels (bright = wrong); "
            "the kept pixels are dimmed")
        self.map_tile = PixelTile("MAP", tooltip="Imputation from the single most probable latent point")
        self.uncertainty_tile = PixelTile(
            "Uncertainty", tooltip="Per-pixel standard deviation of the decoded images under the posterior")
        top = QHBoxLayout()
        for tile in (self.original_tile, self.masked_tile, self.imputed_tile, self.error_tile):
            top.addWidget(tile, 0, Qt.AlignmentFlag.AlignTop)
        top.addStretch(1)
        self.samples_label = QLabel("<b>Posterior samples</b>")
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
        column = QVBoxLayout(box)
        column.addLayout(top)
        column.addLayout(middle)
        return box

    # ----- public API ------------------------------------------------------------------------

    @property
    def mask(self) -> np.ndarray:
        return self.editor.mask.copy()

    @property
    def running(self) -> bool:
        return self.timer.isActive()

    def set_session(self, session: ExplorerSession | None) -> None:
        self.stop_imputation()
        self.session = session
        self._grids.clear()
        grid_item = self.method_combo.model().item(self.method_combo.findData(METHOD_GRID))
        two_d = session is not None and session.latent_dim == 2
        grid_item.setEnabled(two_d)
        grid_item.setToolTip("" if two_d else "Needs a model with a 2-D latent space")
        if not two_d and self.method == METHOD_GRID:
            self.method_combo.setCurrentIndex(self.method_combo.findData(METHOD_ITERATIVE))
        count = 0 if session is None else len(session.data)
        self.index_spin.blockSignals(True)
        self.index_spin.setRange(0, max(count - 1, 0))
        self.index_spin.blockSignals(False)
        self.setEnabled(count > 0)
        if count:
            self.choose_image(min(self.index, count - 1))

    def choose_image(self, index: int) -> None:
        """Show image `index` of the session's split (also the slot for map clicks)."""
        if self.session is None or not 0 <= index < len(self.session.data):
            return
        self.stop_imputation()
        self.index = int(index)
        if self.index_spin.value() != index:
            self.index_spin.blockSignals(True)
            self.index_spin.setValue(index)
            self.index_spin.blockSignals(False)
        self.original = self.session.image(index).astype(np.float32)
        label = int(self.session.labels[index])
        self.image_label.setText(f"digit {label} · {self.session.data.split} split")
        self.image_label.setToolTip(f"{len(self.session.data):,} images in the {self.session.data.split} split")
        self.editor.set_image(self.original)
        self._reset_results()

    def choose_random_image(self) -> None:
        if self.session is not None and len(self.session.data):
            self.choose_image(int(self._rng.integers(len(self.session.data))))

    def set_mask(self, mask: np.ndarray) -> None:
        self.editor.set_mask(mask)

    def set_method(self, method: str) -> None:
        self.method_combo.setCurrentIndex(self.method_combo.findData(method))

    def start_imputation(self) -> None:
        """Begin a run of the chosen method; the timer shows one step per tick."""
        if self.session is None:
            return
        self.stop_imputation()
        self._reset_results()
        if not self.mask.any():
            self.status_label.setText("Nothing is erased yet: drag over the digit or pick a preset first.")
            return
        self._path = []
        self._steps = self._run(self.method)
        self.impute_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.timer.start()
        self._on_tick()  # the first step right away, so the click has a visible effect

    def stop_imputation(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
        self._steps = None
        self.impute_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def zoom_map(self) -> None:
        """Ask the map to show the region this run is about (at least 1.5 units across)."""
        if self._focus is None or not len(self._focus):
            return
        low, high = self._focus.min(axis=0), self._focus.max(axis=0)
        centre, half = (low + high) / 2, np.maximum((high - low) / 2 * 1.3, 0.75)
        self.zoomRequested.emit((float(centre[0] - half[0]), float(centre[0] + half[0]),
                                 float(centre[1] - half[1]), float(centre[1] + half[1])))

    def run_to_end(self) -> None:
        """Finish the current run at once (for scripts and tests)."""
        while self._steps is not None:
            self._on_tick()

    # ----- running ---------------------------------------------------------------------------

    def _run(self, method: str) -> Iterator[None]:
        """Generator of GUI updates; each next() does one small piece of work."""
        session = self.session
        assert session is not None
        model, image, mask = session.model, self.original.copy(), self.mask
        if method == METHOD_ITERATIVE:
            total = self.steps_spin.value()
            for step in imp.iterative_imputation(model, image, mask, steps=total):
                self._show_latent_step(step.z)
                self._show_imputation(step.image, f"Iterative round {step.step} of {total}")
                yield
            self._show_encoder_samples(step.image)
        elif method == METHOD_MAP:
            last = None
            for last in imp.gradient_map_steps(model, image, mask, generator=torch.Generator().manual_seed(0)):
                self._show_latent_step(last.z)
                self._show_imputation(last.image, f"Gradient MAP, iteration {last.step} "
                                      f"(log posterior {last.log_posterior:.1f})")
                self.map_tile.set_image(last.image, "best start")
                yield
            if last is not None:
                self._show_encoder_samples(last.image)
        else:
            grid = self._grids.get(id(model))
            if grid is None:
                grid = imp.LatentGrid(model, GRID_EXTENT, GRID_RESOLUTION)
                while not grid.ready:
                    done = grid.decode_next_chunk(1000)
                    self.status_label.setText(f"Decoding the {GRID_RESOLUTION}×{GRID_RESOLUTION} latent grid… "
                                              f"{100 * done:.0f}%")
                    yield
                self._grids[id(model)] = grid
            generator = torch.Generator()
            for posterior in imp.grid_posterior_steps(grid, image, mask):
                self._show_grid_step(posterior, generator)
                yield

    def _on_tick(self) -> None:
        if self._steps is None:
            return
        try:
            next(self._steps)
        except StopIteration:
            method = self.method
            self.stop_imputation()
            self.status_label.setText(f"Done. {self._last_status}{self._error_text()}")
            self.runFinished.emit(method)
        except Exception as exc:  # noqa: BLE001 - a failed run must not take the window with it
            self.stop_imputation()
            self.status_label.setText(f"Imputation stopped: {type(exc).__name__}: {exc}")

    def _error_text(self) -> str:
        if self.result is None:
            return ""
        mask = self.mask
        masked = imp.erased_mse(imp.apply_mask(self.original, mask), self.original, mask)
        error = imp.erased_mse(self.result, self.original, mask)
        return f" · MSE on erased pixels {error:.4f} (masked input {masked:.4f})"

    def _show_imputation(self, image: np.ndarray, status: str) -> None:
        self.result = np.asarray(image, np.float32)
        mask = self.mask
        error = np.abs(self.result - self.original) * mask
        mse = imp.erased_mse(self.result, self.original, mask)
        self.imputed_tile.set_image(self.result, "filled in")
        self.error_tile.set_heat(error, 1.0, f"MSE {mse:.4f}", backdrop=self.original, where=mask)
        self._last_status = status
        self.status_label.setText(status + self._error_text())

    def _show_latent_step(self, z: np.ndarray) -> None:
        self._path.append(on_map_plane(z))
        self._focus = np.stack(self._path)
        self.zoom_button.setEnabled(True)
        self.overlays.show(self.overlayPath, KEY_PATH, self._focus)
        self.overlays.show(self.overlayMarker, KEY_MAP_POINT, self._path[-1])

    def _show_grid_step(self, posterior: imp.GridPosterior, generator: torch.Generator) -> None:
        self.overlays.show(self.overlayHeatmap, KEY_HEATMAP, posterior.probabilities, posterior.grid.bounds)
        # Zoom onto the cells within a factor of 1,000 of the peak.
        likely = posterior.probabilities.reshape(-1) >= 1e-3 * posterior.probabilities.max()
        self._focus = posterior.grid.z.numpy()[likely]
        self.zoom_button.setEnabled(True)
        self.overlays.show(self.overlayMarker, KEY_MAP_POINT, posterior.map_z)
        rows = posterior.rows_seen
        stage = "prior only" if rows == 0 else f"observed rows 0–{rows - 1} taken in"
        self._show_imputation(posterior.mean_image, f"Grid posterior: {stage}")
        z = posterior.map_z
        self.map_tile.set_image(posterior.map_image, f"z=({z[0]:.2f}, {z[1]:.2f})")
        spread = posterior.uncertainty
        self.uncertainty_tile.set_heat(spread, UNCERTAINTY_SCALE, f"max σ {spread.max():.2f}",
                                       backdrop=self.original, where=self.mask)
        generator.manual_seed(0)  # the same draws every step, so the samples change only with the posterior
        _, samples = posterior.samples(SAMPLE_COUNT, generator)
        self.samples_label.setText("<b>Posterior samples</b>")
        self.samples_label.setToolTip("Imputations from z drawn from the grid posterior")
        for tile, sample in zip(self.sample_tiles, samples):
            tile.set_image(sample)

    def _show_encoder_samples(self, imputed: np.ndarray) -> None:
        """Samples and spread from q(z | imputed image): the encoder's view of what is left uncertain."""
        session = self.session
        if session is None:
            return
        mu, logvar = session.encode(imputed[None])
        generator = np.random.default_rng(0)
        z = mu + np.exp(0.5 * logvar) * generator.standard_normal((64, mu.shape[1])).astype(np.float32)
        decoded = session.decode(z)
        mask = self.mask
        filled = np.where(mask, decoded, self.original)
        spread = decoded.std(axis=0) * mask
        self.uncertainty_tile.set_heat(spread, UNCERTAINTY_SCALE, f"max σ {spread.max():.2f}",
                                       backdrop=self.original, where=mask)
        self.samples_label.setText("<b>Samples from q(z|x̂)</b>")
        self.samples_label.setToolTip("Imputations from z drawn from the encoder's posterior for the final imputation")
        for tile, sample in zip(self.sample_tiles, filled):
            tile.set_image(sample)

    def _reset_results(self) -> None:
        self.result = None
        self._focus = None
        self.zoom_button.setEnabled(False)
        mask = self.mask
        self.original_tile.set_image(self.original, f"#{self.index}")
        self.masked_tile.set_image(imp.apply_mask(self.original, mask), f"{int(mask.sum())} px erased")
        for tile in (self.imputed_tile, self.error_tile, self.map_tile, self.uncertainty_tile, *self.sample_tiles):
            tile.set_image(None)
        for key in (KEY_PATH, KEY_HEATMAP, KEY_MAP_POINT):
            self.overlays.clear(key)

    # ----- slots -----------------------------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.overlays.panel_shown()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self.overlays.panel_hidden()

    def _on_mask_changed(self, _mask: np.ndarray) -> None:
        self.stop_imputation()
        self._reset_results()
        self.status_label.setText("Press Impute to fill in the erased pixels.")

    def _on_method_chosen(self, _index: int) -> None:
        self.stop_imputation()
        self.method = self.method_combo.currentData()
        iterative = self.method == METHOD_ITERATIVE
        self.steps_spin.setVisible(iterative)
        self.steps_label.setVisible(iterative)
        self.map_tile.setVisible(not iterative)  # the iterative method has no MAP point
        grid = self.method == METHOD_GRID
        self.map_hint.setText(MAP_HINTS[self.method])
        self.samples_label.setText("<b>Posterior samples</b>" if grid else "<b>Samples from q(z|x̂)</b>")
        self._reset_results()
