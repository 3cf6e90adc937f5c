"""Erase part of a test digit and watch the model fill it in, step by step.

The panel owns no model state beyond the session it was given. A run is a
core generator (iterative, grid posterior or gradient MAP) stepped by a
QTimer, one step per tick, so the GUI thread is never blocked for long and
the user sees every step: the imputation tiles update and the latent map
shows the path of the iterative method or the posterior heat map.
The map is reached only through the overlay signals, which attach() in
demo_panels connects to the latent view. The image shape, the presets and
which methods are offered all come from the session's model; a method the
model cannot run is greyed out with the reason as its tooltip.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QVBoxLayout,
    QWidget,
)

from vae_explorer.core import imputation as imp
from vae_explorer.core.session import ExplorerSession
from vae_explorer.qt.imputation_layout import build_image_box, build_method_box
from vae_explorer.qt.imputation_results import ResultTiles
from vae_explorer.qt.mask_editor import EraseBox
from vae_explorer.qt.overlay_keeper import OverlayKeeper, on_map_plane
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
GRID_EXTENT = 4.0
GRID_RESOLUTION = 100


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
        self.original = np.zeros(self.image_shape, np.float32)
        self.erase_box.start_with_a_preset()
        self._on_method_chosen(0)
        if session is not None:
            self.set_session(session)

    # ----- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(build_image_box(self))
        layout.addWidget(self._build_erase_box())
        layout.addWidget(build_method_box(self, METHOD_TITLES))
        layout.addWidget(self._build_result_box())
        layout.addStretch(1)
        self.scroll = fill_with_scrolling(self, content)

    def _build_erase_box(self) -> EraseBox:
        self.erase_box = EraseBox("2 · Erase pixels")
        self.erase_box.editor.maskChanged.connect(self._on_mask_changed)
        for name in ("editor", "rows_radio", "rect_radio", "preset_buttons", "clear_mask_button"):
            setattr(self, name, getattr(self.erase_box, name))
        return self.erase_box

    def _build_result_box(self) -> ResultTiles:
        self.results = ResultTiles()
        # The tiles under their own names too: scripts and tests read what is on screen.
        for name in ("original_tile", "masked_tile", "imputed_tile", "error_tile", "map_tile",
                     "uncertainty_tile", "sample_tiles", "samples_label"):
            setattr(self, name, getattr(self.results, name))
        return self.results

    # ----- public API ------------------------------------------------------------------------

    @property
    def mask(self) -> np.ndarray:
        return self.editor.mask.copy()

    @property
    def running(self) -> bool:
        return self.timer.isActive()

    @property
    def image_shape(self) -> tuple[int, int]:
        return self.editor.image_shape

    def set_session(self, session: ExplorerSession | None) -> None:
        self.stop_imputation()
        self.session = session
        self._grids.clear()
        if session is not None and tuple(session.model.image_shape) != self.image_shape:
            self.original = np.zeros(session.model.image_shape, np.float32)
            self.erase_box.set_image_shape(session.model.image_shape)
        self._offer_methods(session)
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
        # A conditional model is told the digit's own class (a drawn or edited image has the index's).
        model = session.model_for_class(session.labels[self.index] if self.index < len(session.data)
                                        else session.condition)
        image, mask = self.original.copy(), self.mask
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
            for posterior in imp.grid_posterior_steps(grid, image, mask, refine=False):  # the prior first, always
                self._show_grid_step(posterior, generator)
                yield
            # The fine grid over the posterior's mass, decoded a chunk per tick.
            for item in imp.refining(posterior):
                if isinstance(item, imp.GridPosterior):
                    if item is not posterior:
                        self._show_grid_step(item, generator)
                else:
                    self.status_label.setText(f"Refining onto a fine grid over the posterior's mass… "
                                              f"{100 * item:.0f}%")
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
            self.scroll.ensureWidgetVisible(self.results)  # the result is below the fold at 1400 x 900
            self.runFinished.emit(method)
        except ValueError as exc:  # the model cannot do what this method needs: say so, briefly
            self.stop_imputation()
            self.status_label.setText(f"Not available for this model: {exc}.")
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
        self.results.show_imputation(self.result, self.original, self.mask)
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
        rows, grid = posterior.rows_seen, posterior.grid
        if rows == 0:
            stage = "the prior alone, before any pixel is seen"
        elif grid.half != (GRID_EXTENT, GRID_EXTENT):
            stage = (f"all observed rows, on a fine {grid.resolution}×{grid.resolution} grid over its mass "
                     f"(cells {grid.cell_size[0]:.4f} wide)")
        else:
            stage = f"the observed pixels of rows 0–{rows - 1}"
        self._show_imputation(posterior.mean_image, f"Grid posterior from {stage}")
        self.results.show_grid_posterior(posterior, self.mask, generator)

    def _show_encoder_samples(self, imputed: np.ndarray) -> None:
        """Samples and spread from q(z | imputed image): the encoder's view of what is left uncertain."""
        session = self.session
        if session is None:
            return
        mu, logvar = session.encode(imputed[None])
        if logvar is None:  # a deterministic code: nothing to draw from
            self.results.show_no_samples("this model has no posterior q(z|x).")
            return
        generator = np.random.default_rng(0)
        z = mu + np.exp(0.5 * logvar) * generator.standard_normal((64, mu.shape[1])).astype(np.float32)
        decoded = session.decode(z)
        mask = self.mask
        filled = np.where(mask, decoded, self.original)
        self.results.show_encoder_samples(filled, decoded.std(axis=0) * mask, self.original, mask)

    def _offer_methods(self, session: ExplorerSession | None) -> None:
        """Grey out the methods this session's model cannot run, the reason as tooltip."""
        reasons = {METHOD_ITERATIVE: None, METHOD_GRID: None, METHOD_MAP: None}
        if session is not None:
            reasons[METHOD_GRID] = imp.grid_unavailable(session.decoding_model)
            reasons[METHOD_MAP] = imp.map_unavailable(session.decoding_model)
        for method, reason in reasons.items():
            item = self.method_combo.model().item(self.method_combo.findData(method))
            item.setEnabled(reason is None)
            item.setToolTip("" if reason is None else f"Not available: {reason}")
        if reasons[self.method] is not None:
            self.method_combo.setCurrentIndex(self.method_combo.findData(METHOD_ITERATIVE))

    def _reset_results(self) -> None:
        self.result = None
        self._focus = None
        self.zoom_button.setEnabled(False)
        self.results.show_input(self.original, self.mask, self.index)
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
        # The iterative method has no MAP point.
        self.results.show_method(grid=self.method == METHOD_GRID, has_map_point=not iterative)
        self.map_hint.setText(MAP_HINTS[self.method])
        self._reset_results()
        self._last_status = ""
        self.status_label.setText(f"Press Impute to run {self.method_combo.currentText()}.")
