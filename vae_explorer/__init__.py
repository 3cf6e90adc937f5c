"""vae-explorer: train a variational autoencoder on MNIST and explore what it learned."""

__version__ = "0.1.0"
