"""One dark Fusion palette for the whole app, matching the dark plots."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

# Plots share one dark background and label colour so they sit in the dark window.
PLOT_BACKGROUND = (20, 22, 26)
PLOT_TEXT = "#c8c8d0"


def style_fixed_plot(plot) -> None:
    """A pyqtgraph PlotItem that shows, not explores: no menu, no zoom (the wheel scrolls the panel),
    our axis colours and a left axis wide enough for the numbers."""
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    for axis in ("left", "bottom"):
        plot.getAxis(axis).setTextPen(PLOT_TEXT)
        plot.getAxis(axis).setPen("#6a6c74")
    plot.getAxis("left").setWidth(52)

STYLE_SHEET = """
QToolTip { color: #e8e8ec; background-color: #2b2d33; border: 1px solid #55575f; padding: 4px; }
QDockWidget::title { padding: 5px 8px; background: #2a2c31; font-weight: bold; }
QLabel#hint { color: #9a9ca5; }
QTabWidget::pane { border: 1px solid #3a3c43; }
QTabBar::tab { background: #2c2e34; color: #c4c4cc; border: 1px solid #3a3c43; border-bottom: none;
               padding: 5px 9px; margin-right: 1px; border-top-left-radius: 3px; border-top-right-radius: 3px; }
QTabBar::tab:selected { background: #41444d; color: #ffffff; }
QTabBar::tab:hover:!selected { background: #35373e; }
QTabBar::tab:disabled { color: #6c6e75; }
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: QColor(36, 38, 43),
        QPalette.ColorRole.WindowText: QColor(225, 225, 230),
        QPalette.ColorRole.Base: QColor(26, 28, 32),
        QPalette.ColorRole.AlternateBase: QColor(44, 46, 52),
        QPalette.ColorRole.ToolTipBase: QColor(43, 45, 51),
        QPalette.ColorRole.ToolTipText: QColor(232, 232, 236),
        QPalette.ColorRole.Text: QColor(225, 225, 230),
        QPalette.ColorRole.Button: QColor(48, 50, 56),
        QPalette.ColorRole.ButtonText: QColor(225, 225, 230),
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Link: QColor(100, 170, 255),
        QPalette.ColorRole.Highlight: QColor(58, 120, 200),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.PlaceholderText: QColor(130, 132, 140),
    }
    for role, colour in colours.items():
        palette.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 122, 128))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
