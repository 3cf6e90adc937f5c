"""Where the shipped model and the bundled data live; imports nothing heavy.

The quick look at start-up needs these paths before torch has loaded, so they
are kept apart from checkpoint.py and data.py, which import torch.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def _shipped(*parts: str) -> Path:
    # The repository keeps checkpoints/ and resources/ at its top level, beside the package, and
    # a source checkout or editable install reads them there; a wheel carries them inside the
    # package (pyproject.toml maps them to vae_explorer.checkpoints and vae_explorer.resources).
    inside = _PACKAGE.joinpath(*parts)
    return inside if inside.exists() else _PACKAGE.parent.joinpath(*parts)


def shipped_checkpoints_folder() -> Path:
    """The folder holding the pretrained models shipped with the app."""
    return _shipped("checkpoints")


def shipped_checkpoint_path() -> Path:
    """The pretrained 2-D model the app opens with."""
    return shipped_checkpoints_folder() / "mnist-2d.safetensors"


# What the File menu calls each shipped model; a file not listed here shows under its name.
SHIPPED_TITLES = {
    "mnist-2d": "VAE, 2-D latent (MNIST)",
    "mnist-beta4-2d": "β-VAE (β = 4), 2-D latent (MNIST)",
    "mnist-20d": "VAE, 20-D latent (MNIST)",
    "mnist-cvae-2d": "Conditional VAE, 2-D latent (MNIST)",
    "mnist-ae-2d": "Plain autoencoder, 2-D code (MNIST)",
    "mnist-vqvae": "VQ-VAE, 7x7 codes (MNIST)",
    "mnist-vaegan-2d": "VAE-GAN, 2-D latent (MNIST)",
}


CLASSIFIER_SUFFIX = "-classifier"  # shipped digit classifiers (core.classifier) are named <dataset>-classifier


def shipped_classifier_path(dataset: str = "mnist") -> Path:
    """The shipped classifier that probes decoded images of `dataset`."""
    return shipped_checkpoints_folder() / f"{dataset}{CLASSIFIER_SUFFIX}.safetensors"


def user_folder(name: str) -> Path:
    """A folder of the app's own in the per-user data folder (data, recovered weights, classifiers)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("vae-explorer")) / name


def trained_classifier_path(dataset: str = "mnist") -> Path:
    """Where the app keeps a classifier it trained itself for `dataset` (in the per-user data folder)."""
    return user_folder("classifiers") / f"{dataset}{CLASSIFIER_SUFFIX}.safetensors"


def classifier_path(dataset: str = "mnist") -> Path | None:
    """The classifier to probe `dataset` with: the shipped one, else one the app trained; None if neither."""
    for path in (shipped_classifier_path(dataset), trained_classifier_path(dataset)):
        if path.is_file():
            return path
    return None


def shipped_models() -> list[tuple[str, Path]]:
    """(title, path) of every shipped model, in the order of SHIPPED_TITLES, then by name."""
    folder = shipped_checkpoints_folder()
    paths = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    paths = [p for p in paths if not p.stem.endswith(CLASSIFIER_SUFFIX)]  # probes, not models to explore
    order = list(SHIPPED_TITLES)
    paths.sort(key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.name))
    return [(SHIPPED_TITLES.get(p.stem, p.stem), p) for p in paths]


def bundled_mnist_folder() -> Path:
    """The folder holding the gzipped IDX files of the MNIST test split."""
    return _shipped("resources", "mnist")
