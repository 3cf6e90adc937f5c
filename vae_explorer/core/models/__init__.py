"""Model kinds, each one module behind one interface (base.ExplorableModel).

A kind registers itself with @register in its own module; registry.py finds
the modules of this package, so adding a model means adding one file here.
This package's __init__ imports nothing heavy: the torch-free start-up path
may import it.
"""
