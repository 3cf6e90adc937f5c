"""Small shared pieces of the headless commands: exit codes and error lines."""

from __future__ import annotations

import sys

# Exit codes: 0 fine, 1 the work failed or was interrupted, 2 bad input from the user.
EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(message: str) -> None:
    """Print a user-facing error (never a traceback) on stderr."""
    print(f"vae-explorer: error: {message}", file=sys.stderr)
