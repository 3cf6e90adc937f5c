"""The core must work without Qt: no module under vae_explorer/core imports it."""

import ast
import subprocess
import sys
from pathlib import Path

import vae_explorer.core

CORE = Path(vae_explorer.core.__file__).parent
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "vae_explorer.qt")


def imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_core_module_imports_qt_in_its_source():
    offenders = {
        str(path.relative_to(CORE)): sorted(n for n in imported_names(path) if n.startswith(QT_MODULES))
        for path in CORE.rglob("*.py")
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_importing_every_core_module_loads_no_qt():
    modules = [
        "vae_explorer.core." + ".".join(p.relative_to(CORE).with_suffix("").parts)
        for p in CORE.rglob("*.py") if p.stem != "__init__"
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"print(sorted(m for m in sys.modules if m.startswith({QT_MODULES!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_core_subpackage_is_covered():
    # rglob above must see the model kinds and the training run, not only top-level modules.
    found = {p.relative_to(CORE).parts[0] for p in CORE.rglob("*.py") if len(p.relative_to(CORE).parts) > 1}
    assert {"models", "training"} <= found
