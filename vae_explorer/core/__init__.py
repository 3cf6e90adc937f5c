"""The engine under the app: models, losses, data, training, checkpoints.

Nothing in this package may import Qt (tests/core/test_layering.py checks it),
so it can be used from scripts, the CLI and tests without a display.
"""
