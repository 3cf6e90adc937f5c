"""View > Holes in the latent space (H): the aggregate posterior against the prior, on the map.

For a 2-D model the map gets the aggregate posterior q(z) as a faint density
layer (log scale), the holes (where N(0, I) puts mass and q(z) is below a tenth
of it, core.latent_holes) tinted red, and the Samples tab's prior samples
marked: a red cross where a sample lands in a hole, a small ring elsewhere.
A line in the map's corner says how much of the prior lies in holes and how
many of the samples land there. Latents of other sizes get a note instead.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from vae_explorer.core import latent_holes
from vae_explorer.core.latent import sigma_from_logvar

KEY_DENSITY, KEY_HOLES, KEY_SAMPLES = "holes-density", "holes-tint", "holes-samples"
HOLE_RGBA = (230, 60, 60, 110)
IN_HOLE_COLOUR = (255, 80, 80)
DENSITY_DECADES = 4.0  # the density layer spans this many factors of ten below its peak


def _density_item(holes: latent_holes.HoleMap) -> pg.ImageItem:
    with np.errstate(divide="ignore"):
        log_q = np.log10(holes.density)
    floor = float(np.nanmax(log_q)) - DENSITY_DECADES
    values = np.where(log_q >= floor, log_q - floor, np.nan).astype(np.float32)
    item = pg.ImageItem(values, axisOrder="row-major")
    item.setLookupTable(pg.colormap.get("CET-L8").getLookupTable(nPts=256))
    item.setLevels((0.0, DENSITY_DECADES))
    item.setOpacity(0.45)
    return _stretch(item, holes.extent)


def _holes_item(holes: latent_holes.HoleMap) -> pg.ImageItem:
    rgba = np.zeros((*holes.holes.shape, 4), np.uint8)
    rgba[holes.holes] = HOLE_RGBA
    return _stretch(pg.ImageItem(rgba, axisOrder="row-major"), holes.extent)


def _stretch(item: pg.ImageItem, extent) -> pg.ImageItem:
    xmin, xmax, ymin, ymax = extent
    item.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
    return item


class HolesOverlay:
    def __init__(self, window):
        self.window = window
        self.holes: latent_holes.HoleMap | None = None
        self.in_holes: np.ndarray | None = None  # per sample of the Samples tab
        self.summary = ""
        self.caption = pg.LabelItem("", color="#f0c8c8", size="10pt")
        self.caption.setParentItem(window.latent_view.view_box)
        self.caption.anchor(itemPos=(0, 1), parentPos=(0, 1), offset=(10, -10))
        self.caption.setVisible(False)
        self.action = window.add_action(window.view_menu, "&Holes in the latent space", "H",
                                        "Where the prior N(0, I) puts mass and the encoded data does not, and "
                                        "which prior samples land there (2-D latents)", self.toggle)
        self.action.setCheckable(True)
        window.exploration.observe("shown", lambda _e: self.refresh())
        for spin in (window.sampling_panel.size_spin, window.sampling_panel.seed_spin):
            spin.valueChanged.connect(lambda _v: self.refresh())

    @property
    def visible(self) -> bool:
        return self.action.isChecked()

    def toggle(self) -> None:
        self.refresh() if self.visible else self.clear()

    def refresh(self) -> None:
        """Compute and draw for the shown model, when the layer is on."""
        if not self.visible:
            return
        session = self.window.shown
        if session is None or session.latent_dim != 2:
            self.clear()
            self.action.setChecked(False)
            size = "?" if session is None else f"{session.latent_dim}-D"
            self.window.statusBar().showMessage(
                f"Holes are drawn for 2-D latents; this one is {size}. The Traversals tab's KL bars show "
                "which dimensions the model uses.", 8000)
            return
        sigma = None if session.latent_logvar is None else sigma_from_logvar(session.latent_logvar)
        view = self.window.latent_view
        self.holes = latent_holes.find_holes(session.latent_mu, sigma)
        samples = np.asarray(self.window.sampling_panel.z, np.float64).reshape(-1, 2)
        self.in_holes = latent_holes.samples_in_holes(session.latent_mu, sigma, samples)
        view.show_items(KEY_DENSITY, [_density_item(self.holes)], -8)
        view.show_items(KEY_HOLES, [_holes_item(self.holes)], -7)
        marks = [pg.ScatterPlotItem(samples[~self.in_holes, 0], samples[~self.in_holes, 1], symbol="o", size=7,
                                    pen=pg.mkPen(235, 235, 240, width=1), brush=None),
                 pg.ScatterPlotItem(samples[self.in_holes, 0], samples[self.in_holes, 1], symbol="x", size=15,
                                    pen=pg.mkPen(*IN_HOLE_COLOUR, width=2), brush=pg.mkBrush(*IN_HOLE_COLOUR))]
        view.show_items(KEY_SAMPLES, marks, 35)
        kernel = "" if self.holes.bandwidth is None else (
            f" (codes without posteriors, smoothed by {self.holes.bandwidth[0]:.2f} × {self.holes.bandwidth[1]:.2f})")
        inside = latent_holes.share_inside_prior(session.latent_mu)
        lines = (f"Holes (red): {100 * self.holes.prior_mass_in_holes:.0f}% of the prior's mass,",
                 f"where the {len(session.latent_mu):,} encoded images put almost none{kernel}",
                 f"{int(self.in_holes.sum())} of the {len(samples)} prior samples (Samples tab) land in holes (×)",
                 f"{100 * inside:.0f}% of the encoded images lie in the prior's 95% disc,",
                 f"and their q(z) covers {100 * self.holes.overlap:.0f}% of the prior (∫ min(p, q) dz)")
        self.summary = " ".join(lines[:2]) + "; " + lines[2] + "; " + " ".join(lines[3:])
        self.caption.setText("<br>".join(lines))
        self.caption.setVisible(True)
        self.window.statusBar().showMessage(self.summary, 10000)

    def clear(self) -> None:
        for key in (KEY_DENSITY, KEY_HOLES, KEY_SAMPLES):
            self.window.latent_view.clear_overlay(key)
        self.caption.setVisible(False)
        self.holes, self.in_holes, self.summary = None, None, ""
