"""The tool tabs that belong to some model kinds: classes (conditional VAE), codes (VQ-VAE), and
the decoder comparison (made for the VAE-GAN, open to any two models).

A tab shows while the explored model has what it needs (is_conditional,
has_codes) and hides otherwise, so the dock only offers tools that apply.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QAction, QKeySequence

from vae_explorer.qt.codes_panel import CodesPanel
from vae_explorer.qt.conditional_panel import ConditionalPanel
from vae_explorer.qt.decoder_compare_panel import DecoderComparePanel


def attach(window) -> tuple[ConditionalPanel, CodesPanel, DecoderComparePanel]:
    """Add the Classes, Codes and Compare tabs to `window` (a MainWindow) and connect them."""
    classes, codes, compare = ConditionalPanel(), CodesPanel(), DecoderComparePanel()
    tabs = window.tool_tabs
    class_tab = window.add_tool_panel(classes, "Classes")
    codes_tab = window.add_tool_panel(codes, "Codes")
    window.add_tool_panel(compare, "Compare")

    def on_session(session) -> None:
        # The window re-pins and re-picks before it announces the session: hand the panels its
        # clicked point, so the Codes tab shows the image the inspector shows.
        picked = getattr(window, "picked_index", None)
        if picked is not None:
            codes.image_index = picked
        for panel in (classes, codes, compare):
            panel.set_session(session)
        for index, panel in ((class_tab, classes), (codes_tab, codes)):
            tabs.setTabVisible(index, panel.applies)
            window.tool_actions[panel].setVisible(panel.applies)
        pinned = getattr(window, "pinned_z", None)
        if pinned is not None:  # a panel that dropped its z (another latent size) takes the pin's
            if classes.z is None:
                classes.show_style_sheet(pinned)
            if compare.z is None and compare.index is None:
                compare.show_z(pinned)

    last_pin: list[np.ndarray] = []

    def on_pinned(z: np.ndarray) -> None:
        # The window pins again whatever was pinned when it redraws (a new class, a new model):
        # that is no new click, so a clicked data point keeps its style sheet and comparison.
        repeat = bool(last_pin) and last_pin[0].shape == z.shape and np.array_equal(last_pin[0], z)
        last_pin[:] = [np.array(z, copy=True)]
        if not repeat:
            classes.show_style_sheet(z)
            compare.show_z(z)

    def on_condition(label: int) -> None:
        window.set_condition(label)
        compare.refresh()  # a conditional model decodes the new class there too

    def on_picked(index: int) -> None:
        codes.choose_image(index)
        classes.show_data_point(index)
        compare.show_data_point(index)

    window.sessionChanged.connect(on_session)
    window.dataPointPicked.connect(on_picked)
    window.zPinned.connect(on_pinned)
    classes.conditionChanged.connect(on_condition)
    window.view_menu.addSeparator()
    for keys, step, text in (("Ctrl+]", 1, "Next class"), ("Ctrl+[", -1, "Previous class")):
        action = QAction(text, window)
        action.setShortcut(QKeySequence(keys))
        action.setStatusTip(f"{text} for a conditional model's decodes")
        action.triggered.connect(lambda _=False, s=step: classes.step_class(s))
        window.view_menu.addAction(action)
    if window.session is not None:
        on_session(window.session)
    window.conditional_panel, window.codes_panel, window.compare_panel = classes, codes, compare
    return classes, codes, compare
