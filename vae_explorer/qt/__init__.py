"""Qt widgets of the desktop explorer; they talk to vae_explorer.core through plain objects."""
