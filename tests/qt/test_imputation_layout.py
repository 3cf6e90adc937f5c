"""The Impute tab's layout in the window: the result scrolled into view and fitting the tool dock."""

from __future__ import annotations

from tests.qt.test_imputation_panel import run_by_button


def test_the_result_is_scrolled_into_view_in_a_1400_by_900_window(qtbot, main_window):
    from vae_explorer.qt.demo_panels import attach

    imputation, _ = attach(main_window)
    main_window.show_tool(imputation)
    imputation.timer.setInterval(1)
    qtbot.waitUntil(lambda: imputation.scroll.viewport().height() > 100)
    viewport = imputation.scroll.viewport()
    results = imputation.results

    def shown_rows() -> int:
        """How many pixel rows of the result box are inside the scroll area's viewport."""
        top = results.mapTo(viewport, results.rect().topLeft()).y()
        return max(0, min(viewport.height(), top + results.height()) - max(0, top))

    before = shown_rows()
    assert before < results.height()  # cut off at the bottom of the dock before the run
    run_by_button(qtbot, imputation)
    assert imputation.scroll.verticalScrollBar().value() > 0
    assert shown_rows() > before and shown_rows() >= min(results.height(), viewport.height()) - 2
    # At the dock's width the panel fits across: no sideways scrolling, every tile whole in view.
    assert imputation.scroll.horizontalScrollBar().maximum() == 0
    assert results.height() <= viewport.height()  # the whole result at once, once scrolled to
    tiles = (imputation.original_tile, imputation.error_tile, imputation.uncertainty_tile, *imputation.sample_tiles)
    for tile in tiles:
        assert tile.isVisible()
        left = tile.mapTo(viewport, tile.rect().topLeft()).x()
        assert 0 <= left and left + tile.width() <= viewport.width()


def test_the_impute_modules_stay_under_400_lines():
    from pathlib import Path

    import vae_explorer

    package, tests = Path(vae_explorer.__file__).parent, Path(__file__).parents[1]
    modules = [*package.glob("qt/imputation*.py"), package / "qt/mask_editor.py", *package.glob("core/imputation*.py"),
               *tests.glob("*/test_imputation*.py")]
    assert len(modules) >= 10
    for module in modules:
        lines = len(module.read_text(encoding="utf-8").splitlines())
        assert lines < 400, f"{module.name} has {lines} lines"
