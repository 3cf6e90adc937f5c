"""The wheel: every subpackage listed, the shipped files inside the package, and an installed wheel
that runs with no source tree around."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
SHIPPED = [
    "vae_explorer/checkpoints/mnist-2d.safetensors",
    "vae_explorer/resources/mnist/t10k-images-idx3-ubyte.gz",
    "vae_explorer/resources/mnist/t10k-labels-idx1-ubyte.gz",
]
NOT_COPIED = {".venv", ".git", "build", "dist", "out", ".pytest_cache"}  # at the top level only


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(PYPROJECT["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "vae_explorer").rglob("__init__.py")}
    missing = sorted(found - listed)
    assert not missing, f"pyproject.toml's [tool.setuptools] packages lacks {missing}: the wheel would too"
    mapped = PYPROJECT["package-dir"]
    gone = sorted(name for name in listed - found if not (REPO / mapped.get(name, "-")).is_dir())
    assert not gone, f"pyproject.toml lists packages with no folder: {gone}"


def _run(command, timeout=120, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _ignore(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == REPO
    return {n for n in names if n == "__pycache__" or (top and (n in NOT_COPIED or n.endswith(".egg-info")))}


CHECK_ISOLATION = """
import sys
from pathlib import Path
import vae_explorer
from vae_explorer.core.resources import bundled_mnist_folder, shipped_checkpoint_path
env, repo, outer = (Path(a).resolve() for a in sys.argv[1:])
assert Path(vae_explorer.__file__).resolve().is_relative_to(env), vae_explorer.__file__
inside = [p for p in sys.path if Path(p or '.').resolve().is_relative_to(repo) and Path(p).resolve() != outer]
assert not inside, f"sys.path reaches into the source tree: {inside}"
editable = [m for m in sys.modules if m.startswith('__editable__')]
assert not editable, f"the outer editable install is active: {editable}"
for path in (shipped_checkpoint_path(), bundled_mnist_folder()):
    assert path.exists() and path.resolve().is_relative_to(env), path
print('isolated')
"""

LOAD_SHIPPED = """
from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
from vae_explorer.core.data import load_bundled_test_split
loaded = load_checkpoint(default_checkpoint_path())
print(len(load_bundled_test_split()))
print(loaded.path)
"""


@pytest.mark.slow
def test_an_installed_wheel_carries_and_finds_the_shipped_files(tmp_path):
    started = time.perf_counter()
    source, dist, env, elsewhere = (tmp_path / name for name in ("src", "dist", "env", "elsewhere"))
    shutil.copytree(REPO, source, ignore=_ignore)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", str(dist), "."], cwd=source)
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in SHIPPED if n not in names] == []
    assert {n.split("/")[0] for n in names} == {"vae_explorer", wheel.name.split("-py")[0] + ".dist-info"}
    built = time.perf_counter()

    # A fresh environment holding only the wheel; torch, Qt and the rest come from the outer
    # environment through a path line in a .pth file (which runs none of the outer .pth files,
    # so the outer editable install of vae_explorer stays out: CHECK_ISOLATION makes sure).
    _run([sys.executable, "-m", "venv", "--without-pip", str(env)])
    python = env / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = _run([python, "-c", purelib]).stdout.strip()
    outer = sysconfig.get_paths()["purelib"]
    Path(site_packages, "outer-environment.pth").write_text(outer + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", str(wheel)])
    installed = time.perf_counter()

    elsewhere.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VAE_EXPLORER"))}
    environ.update(QT_QPA_PLATFORM="offscreen", PYTHONNOUSERSITE="1")
    environ.update({f"XDG_{kind.upper()}_HOME": str(tmp_path / kind) for kind in ("config", "data", "cache")})
    run = dict(cwd=elsewhere, env=environ)
    assert _run([python, "-c", CHECK_ISOLATION, env, REPO, outer], **run).stdout.split() == ["isolated"]

    report = dict(environ, VAE_EXPLORER_REPORT_FIRST_PAINT="1")  # prints start-up stamps, then quits
    app = _run([python, "-m", "vae_explorer"], cwd=elsewhere, env=report)
    stamps = [line.split()[0] for line in app.stdout.splitlines() if line.strip()]
    assert {"first-paint", "interactive", "ready"} <= set(stamps), app.stdout + app.stderr

    count, checkpoint = _run([python, "-c", LOAD_SHIPPED], **run).stdout.split("\n")[:2]
    assert count == "10000"
    assert Path(checkpoint).resolve().is_relative_to(env.resolve()), checkpoint
    finished = time.perf_counter()
    print(f"wheel built in {built - started:.1f} s, installed in {installed - built:.1f} s, "
          f"checked in {finished - installed:.1f} s; {finished - started:.1f} s in all")
