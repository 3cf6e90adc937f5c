"""Small shared helpers for the headless commands' terminal output."""

from __future__ import annotations

import sys


def fail(message: str) -> None:
    """Print a user-facing error (never a traceback) on stderr."""
    print(f"vae-explorer: error: {message}", file=sys.stderr)


def describe_model(config) -> str:
    widths = "-".join(str(w) for w in (config.input_dim, *config.hidden_sizes, config.latent_dim))
    return f"MLP {widths}, {config.likelihood} likelihood"
