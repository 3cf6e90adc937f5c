"""Model kinds, each one module behind one interface (base.ExplorableModel).

A kind registers itself with @register in its own module; registry.py finds
the modules of this package, so adding a model means adding one file here.
This package's __init__ imports nothing heavy: the torch-free start-up path
may import it.
"""

# The largest model we agree to build: 100 M parameters (400 MB of float32),
# about 40x the largest MNIST model anyone here trains. Here, not in registry.py,
# so the torch-free checkpoint header check can bound file sizes with it.
MAX_PARAMETERS = 100_000_000
