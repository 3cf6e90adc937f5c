"""The File menu's work: open, save, recent files, shipped models, exports.

Every failure a file can cause (missing, not a checkpoint, unwritable
folder) ends in a message box, and the model in place stays open.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from vae_explorer.core import latent
from vae_explorer.core.resources import shipped_models
from vae_explorer.qt.image_views import save_array_png


RECENT_KEY = "recentCheckpoints"
RECENT_LIMIT = 8
# Two clicks (File, then one of these) for the comparisons the theory is taught with.
COMPARE_PRESETS = (
    ("VAE beside its plain autoencoder", "mnist-2d", "mnist-ae-2d"),
    ("β = 1 beside β = 4", "mnist-2d", "mnist-beta4-2d"),
)
CHECKPOINT_FILTER = "vae-explorer checkpoints (*.safetensors);;All files (*)"


class WindowFiles:
    def __init__(self, window):
        self.window = window

    def build_menu(self) -> list:
        """Fill the File menu; returns what must wait until the model has loaded."""
        window = self.window
        menu = window.menuBar().addMenu("&File")
        self.open_action = window.add_action(menu, "&Open checkpoint…", QKeySequence.StandardKey.Open,
                                             "Open a .safetensors checkpoint saved by vae-explorer", self.on_open)
        self.save_action = window.add_action(menu, "&Save checkpoint as…", QKeySequence.StandardKey.SaveAs,
                                             "Save the explored model (for example one you just trained)",
                                             self.on_save_as)
        self.recent_menu = menu.addMenu("Open &recent")
        self.shipped_menu = menu.addMenu("S&hipped models")
        for title, path in shipped_models():
            window.add_action(self.shipped_menu, title, None, f"Open {path.name}, trained by vae-explorer's own "
                              "command (File ▸ Open shows the command in the file)",
                              lambda _=False, p=path: self.open_checkpoint(p))
        self.compare_menu = menu.addMenu("&Compare with")
        self.compare_menu.setToolTip("Open a second model beside the explored one: linked maps and their figures")
        for title, path in shipped_models():
            window.add_action(self.compare_menu, title, None, f"Show {path.name} beside the explored model",
                              lambda _=False, p=path: window.compare_with(p))
        self.compare_menu.addSeparator()
        shipped = {path.stem: path for _, path in shipped_models()}
        for text, left, right in COMPARE_PRESETS:
            if left in shipped and right in shipped:
                window.add_action(self.compare_menu, text, None, f"Open {left} and show {right} beside it",
                                  lambda _=False, a=shipped[left], b=shipped[right]: self.compare_pair(a, b))
        self.compare_menu.addSeparator()
        window.add_action(self.compare_menu, "Checkpoint file…", None, "Show a saved model beside the explored one",
                          self.on_compare_file)
        menu.addSeparator()
        export = menu.addMenu("&Export")
        for text, shortcut, tip, what, writer, *kind in (
            ("Pinned decoded image (PNG)…", "Ctrl+E", "The decode of the pinned point", "decoded image",
             self.export_decoded_image),
            ("Manifold (PNG)…", None, "The inverse-CDF manifold grid", "manifold", self.export_manifold),
            ("Interpolation strip (PNG)…", None, "The strip from A to B", "interpolation", self.export_interpolation),
            ("Prior samples (PNG)…", None, "The grid of samples from the prior", "samples", self.export_samples),
            ("Latent map (PNG)…", "Ctrl+Shift+E", "The map as it looks now", "latent map", self.export_map),
            ("Latent codes with labels (CSV)…", None, "Posterior means and log-variances of the shown split, "
             "one row per image", "latent codes", self.export_codes_csv, "CSV files (*.csv)", ".csv"),
        ):
            window.add_action(export, text, shortcut, tip,
                              lambda _=False, w=what, f=writer, k=kind: self.export_dialog(w, f, *k))
        menu.addSeparator()
        window.add_action(menu, "&Quit", QKeySequence.StandardKey.Quit, "Close vae-explorer", window.close)
        self.rebuild_recent_menu()
        return [self.open_action, self.save_action, self.recent_menu, self.shipped_menu, self.compare_menu, export]

    # ----- opening and saving ----------------------------------------------------------------

    def on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open checkpoint", self.last_folder(), CHECKPOINT_FILTER)
        if path:
            self.open_checkpoint(path)

    def on_compare_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Compare with checkpoint", self.last_folder(),
                                              CHECKPOINT_FILTER)
        if path:
            self.window.compare_with(path)

    def compare_pair(self, left: Path, right: Path) -> bool:
        """Explore `left` (unless it already is) and show `right` beside it."""
        current = self.window.session.checkpoint.path
        if (current is None or Path(current).resolve() != left.resolve()) and not self.open_checkpoint(left):
            return False
        return self.window.compare_with(right)

    def open_checkpoint(self, path: str | Path) -> bool:
        """Load and explore path; a bad file gets a message and the current model stays."""
        from vae_explorer.core.checkpoint import load_checkpoint

        window = self.window
        if not self.confirm_discard():
            return False
        try:
            checkpoint = load_checkpoint(path, device="cpu")
            window.set_checkpoint(checkpoint)
        except Exception as exc:  # noqa: BLE001 - a bad file or missing data: say so, keep the model
            QMessageBox.critical(window, "Cannot open checkpoint", f"{exc}\n\nThe current model stays open.")
            if not Path(path).exists():
                self.remember_recent(path, remove=True)
            return False
        window.latent_view.auto_range()  # another model's codes span another area
        window.exploration.unsaved = False
        window.update_title()
        self.remember_recent(path)
        window.statusBar().showMessage(f"Opened {Path(path).name}", 5000)
        return True

    def on_save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save checkpoint as", self.last_folder("model.safetensors"),
                                              "vae-explorer checkpoints (*.safetensors)")
        if path:
            self.save_checkpoint_as(path)

    def save_checkpoint_as(self, path: str | Path) -> bool:
        from vae_explorer.core.checkpoint import CheckpointError, save_checkpoint

        window, path = self.window, Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(path.suffix + ".safetensors") if path.suffix else path.with_suffix(".safetensors")
        try:
            save_checkpoint(window.session.checkpoint, path)
        except (OSError, CheckpointError) as exc:  # CheckpointError: a target that is no regular file
            QMessageBox.critical(window, "Cannot save checkpoint", f"Could not write {path}: {exc}\n\n"
                                 "The model is still open; save it somewhere else.")
            return False
        window.exploration.unsaved = False
        window.update_title()
        self.remember_recent(path)
        window.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def confirm_discard(self) -> bool:
        """True when it is fine to replace the current model (saved, or the user says so)."""
        if not self.window.unsaved:
            return True
        answer = QMessageBox.question(
            self.window, "Unsaved model", "The model you trained has not been saved. Save it first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            self.on_save_as()
            return not self.window.unsaved
        return answer == QMessageBox.StandardButton.Discard

    # ----- recent files ----------------------------------------------------------------------

    def last_folder(self, name: str = "") -> str:
        recent = self.recent_files()
        folder = Path(recent[0]).parent if recent else Path.home()
        return str(folder / name)

    def recent_files(self) -> list[str]:
        value = self.window.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def remove_crash_leftovers(self) -> None:
        """Delete the temp files that saves of the recent checkpoints left when a crash cut them short."""
        from vae_explorer.core.atomic_write import remove_stale_temps

        for path in self.recent_files():
            remove_stale_temps(Path(path))

    def remember_recent(self, path: str | Path, remove: bool = False) -> None:
        path = str(Path(path).resolve())
        files = [p for p in self.recent_files() if p != path]
        if not remove:
            files.insert(0, path)
        self.window.settings.setValue(RECENT_KEY, files[:RECENT_LIMIT])
        self.rebuild_recent_menu()

    def rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for number, path in enumerate(files, start=1):
            action = self.recent_menu.addAction(f"&{number} {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_checkpoint(p))
        self.recent_menu.setEnabled(bool(files))

    # ----- export ----------------------------------------------------------------------------

    def export_dialog(self, what: str, writer, filter_: str = "PNG images (*.png)", suffix: str = ".png") -> None:
        window = self.window
        path, _ = QFileDialog.getSaveFileName(window, f"Export {what}",
                                              self.last_folder(what.replace(" ", "-") + suffix), filter_)
        if not path:
            return
        if not path.lower().endswith(suffix):
            path += suffix
        try:
            writer(path)
        except (OSError, ValueError) as exc:
            QMessageBox.critical(window, f"Cannot export {what}", str(exc))
            return
        window.statusBar().showMessage(f"Exported {what} to {path}", 5000)

    def export_decoded_image(self, path: str) -> None:
        if self.window.pinned_panel.array is None:
            raise ValueError("nothing is pinned yet: click the map to pin a point first")
        save_array_png(self.window.pinned_panel.array, path)

    def export_manifold(self, path: str) -> None:
        save_array_png(self.window.manifold_panel.array, path)

    def export_interpolation(self, path: str) -> None:
        if self.window.interpolation_panel.array is None:
            raise ValueError("no interpolation yet: Shift+click two points on the map first")
        save_array_png(self.window.interpolation_panel.array, path)

    def export_samples(self, path: str) -> None:
        save_array_png(self.window.sampling_panel.array, path)

    def export_map(self, path: str) -> None:
        if not self.window.latent_view.plot_widget.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

    def export_codes_csv(self, path: str) -> None:
        exploration = self.window.exploration
        session = exploration.shown
        latent.write_codes_csv(path, session.latent_mu, session.labels,
                               None if exploration.previewing else session.latent_logvar, session.data.split)
