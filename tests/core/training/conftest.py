import pytest

from vae_explorer.core.data import ImageSet


def part(data: ImageSet, start: int, stop: int, split: str) -> ImageSet:
    return ImageSet(data.images[start:stop], data.labels[start:stop], data.name, split, data.image_shape)


@pytest.fixture(scope="module")
def small_sets(bundled_test_set):
    """3,000 images to train on and 1,000 others to test on, from the bundled split (no download)."""
    return part(bundled_test_set, 0, 3000, "train"), part(bundled_test_set, 9000, 10000, "test")
