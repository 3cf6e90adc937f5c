"""The shape of the code: no import cycles, and no module outside a model's own that knows its insides."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import vae_explorer

PACKAGE = Path(vae_explorer.__file__).parent
MODELS = PACKAGE / "core" / "models"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, known: set[str]) -> set[str]:
    """vae_explorer modules this file imports anywhere in it (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import mod` imports pkg.mod when that is a module.
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name in known:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(paths)
    graph = {}
    for name, path in paths.items():
        # A package's own __init__ and its parents are imported implicitly; they are not edges.
        graph[name] = {m for m in project_imports(path, known) if not name.startswith(m + ".") and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


# What only a model's own module may say: its classes, its weight names, its likelihood switch.
INSIDES = re.compile(
    r"\bMLPVAE\b|mlp_vae import|\.likelihood ==|config\.likelihood|gaussian_std|hidden_sizes\[|"
    r"\"to_mu|'to_mu|\.to_mu\b|\.to_logvar\b|\.to_logits\b|isinstance\([^)]*(VAE|Model)\b|"
    r"\b(VAE|ConditionalVAE|Autoencoder|DenoisingAutoencoder)(Config)?\(|\bVAEConfig\b|"
    r"models(\.| import )(vae|autoencoder|conditional_vae)\b|\.to_code\b|\braw_std\b|\.pixel_std\(|"
    r"config\.(variance|min_std|corruption)\b"
)
ALLOWED: set[str] = set()


def test_no_module_outside_the_models_knows_a_models_insides():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if path.is_relative_to(MODELS) or rel in ALLOWED:
            continue
        hits = [line.strip() for line in path.read_text().splitlines() if INSIDES.search(line)]
        if hits:
            offenders[rel] = hits
    assert offenders == {}


# Known to be long, with the issue that shortens it: MainWindow still holds the explored
# model's state and seven jobs; the comparison issue moves them into session objects and views.
KNOWN_LONG = {"qt/main_window.py"}


def test_no_module_is_much_above_400_lines():
    long = {p.relative_to(PACKAGE).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 450}
    assert set(long) <= KNOWN_LONG, long


def test_the_insides_pattern_catches_what_it_is_for():
    for line in ("if model.config.likelihood == 'bernoulli':", "from vae_explorer.core.models.mlp_vae import MLPVAE",
                 "isinstance(model, MLPVAE)", "weights['to_mu.weight']", "std = config.gaussian_std",
                 "from vae_explorer.core.models.vae import VAEConfig", "from vae_explorer.core.models import autoencoder",
                 "ConditionalVAE(config)", "if model.config.variance == 'shared':", "model.pixel_std()",
                 "state['raw_std']", "if config.corruption == 'mask':"):
        assert INSIDES.search(line), line
    assert not INSIDES.search("model.likelihood(z).log_prob(x)")
    assert not INSIDES.search("a variational autoencoder (VAE) from vae_explorer.core.models import registry")
