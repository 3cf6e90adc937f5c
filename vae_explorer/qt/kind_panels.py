"""The tool tabs that belong to some model kinds: classes (conditional VAE), codes (VQ-VAE), and
the decoder comparison (made for the VAE-GAN, open to any two models).

A tab shows while the explored model has what it needs (is_conditional,
has_codes) and hides otherwise, so the dock only offers tools that apply.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QKeySequence, QShortcut

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
        for panel in (classes, codes, compare):
            panel.set_session(session)
        tabs.setTabVisible(class_tab, classes.applies)
        tabs.setTabVisible(codes_tab, codes.applies)

    def on_pinned(z: np.ndarray) -> None:
        classes.show_style_sheet(z)
        compare.show_z(z)

    window.sessionChanged.connect(on_session)
    window.dataPointPicked.connect(codes.choose_image)
    window.zPinned.connect(on_pinned)
    classes.conditionChanged.connect(window.set_condition)
    QShortcut(QKeySequence("Ctrl+]"), window, activated=lambda: classes.step_class(1))
    QShortcut(QKeySequence("Ctrl+["), window, activated=lambda: classes.step_class(-1))
    if window.session is not None:
        on_session(window.session)
    window.conditional_panel, window.codes_panel, window.compare_panel = classes, codes, compare
    return classes, codes, compare
