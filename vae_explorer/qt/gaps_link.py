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
        index, session = exploration.picked_index, exploration.shown
        if index is None:
            self.view.clear()
        elif session is exploration.session:  # not a training preview: its weights are about to change
            label = int(session.labels[index])
            names = session.data.class_names
            name = names[label] if 0 <= label < len(names) else str(label)
            self.view.show_image(session.image(index), f"Digit #{index} ({name}) of the {session.data.split} split")

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
