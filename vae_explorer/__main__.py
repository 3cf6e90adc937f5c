"""Allow `python -m vae_explorer`."""

import sys

from vae_explorer.cli import main

sys.exit(main())
