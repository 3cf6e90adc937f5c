"""The Gaps tab in the window: the inference gaps of the clicked or drawn digit of a 2-D model."""

from __future__ import annotations

from vae_explorer.qt.gaps_view import GapsView


class GapsLink:
    def __init__(self, window, view: GapsView):
        self.window, self.view = window, view
        exploration = window.exploration
        exploration.observe("committed", self._on_committed)
        exploration.observe("picked", self._on_picked)
        drawing = getattr(window, "drawing_panel", None)
        if drawing is not None:
            drawing.encoded.connect(lambda *_: self._on_drawn(drawing))
        if exploration.session is not None:
            self._on_committed(exploration)

    def _on_committed(self, exploration) -> None:
        self.view.set_model(exploration.session.model)

    def _on_picked(self, exploration) -> None:
        digit = exploration.picked_digit()
        if digit is None:
            self.view.clear()
        elif not exploration.previewing:  # a training preview's weights are about to change
            image, _, title = digit
            self.view.show_image(image, title)

    def _on_drawn(self, drawing) -> None:
        prepared = getattr(drawing, "prepared", None)
        if prepared is not None:
            self.view.show_image(prepared.image, "Your drawing")


def attach(window) -> GapsView:
    view = GapsView(window.latent_view)
    window.add_tool_panel(view, "Gaps")
    window.gaps_view = view
    window.gaps_link = GapsLink(window, view)
    return view
