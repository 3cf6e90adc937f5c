"""The data splits the map can show, per dataset, loaded once and kept.

A model trained on Fashion-MNIST must be shown Fashion-MNIST: the window asks
this store for the split of the explored model's dataset. MNIST's test split
is bundled with the app; anything else comes from the data folder, and when
it is not there the error says which folder to give.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vae_explorer.core.data import ImageSet

SPLIT_TEST, SPLIT_TRAIN, SPLIT_BOTH = "test", "train", "train+test"


class SplitStore:
    """(dataset, split) -> ImageSet, loading on first use; see the module docstring."""

    def __init__(self, data_dir: str | None, mnist_test: ImageSet | None = None):
        self.data_dir = data_dir
        self._sets: dict[tuple[str, str], ImageSet] = {}
        if mnist_test is not None:
            self.put("mnist", SPLIT_TEST, mnist_test)

    def put(self, dataset: str, split: str, data: ImageSet) -> None:
        self._sets[(dataset, split)] = data

    def has(self, dataset: str, split: str) -> bool:
        return (dataset, split) in self._sets

    def get(self, dataset: str, split: str) -> ImageSet:
        """The split, loading it from the data folder if needed (no downloads from the window)."""
        if (dataset, split) in self._sets:
            return self._sets[(dataset, split)]
        from vae_explorer.core.datasets import dataset_info

        title = dataset_info(dataset).title
        if not self.data_dir:
            raise RuntimeError(f"the {title} {split} split needs a data folder: start vae-explorer with "
                               f"--data-dir DIR (or set VAE_EXPLORER_DATA)")
        from vae_explorer.core.data import ImageSet, load_dataset

        if split == SPLIT_BOTH:
            import torch

            train, test = self.get(dataset, SPLIT_TRAIN), self.get(dataset, SPLIT_TEST)
            data = ImageSet(torch.cat([train.images, test.images]), torch.cat([train.labels, test.labels]),
                            train.name, SPLIT_BOTH, train.image_shape)
        else:
            data = load_dataset(dataset, self.data_dir, split, download=False)
        self._sets[(dataset, split)] = data
        return data
