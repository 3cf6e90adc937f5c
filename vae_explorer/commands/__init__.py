"""Headless commands behind `vae-explorer train` and `vae-explorer evaluate`."""
