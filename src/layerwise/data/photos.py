"""Crops of the colour photographs bundled with scikit-image and scikit-learn, one class per
photograph."""

from __future__ import annotations

import numpy as np
import torch

from .dataset import Dataset, standardised

# Public, and documented, as layerwise.data.PHOTOS.
PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "china",
    "flower",
    "brick",
    "grass",
    "gravel",
    "camera",
)


def photo(name: str) -> np.ndarray:
    """One bundled colour photograph as an (H, W, 3) uint8 array (see :data:`PHOTOS`)."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return np.asarray(load_sample_image(f"{name}.jpg"))
    import skimage.data

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; the bundled photos are {', '.join(PHOTOS)}.")
    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 2:  # grey-scale textures: the same picture in every channel
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img


def photo_tensor(name: str) -> torch.Tensor:
    """One bundled photograph as a float tensor (3, H, W) with values in [0, 1]: the layout and
    scale a network takes (:func:`photo` gives the (H, W, 3) uint8 array)."""
    return torch.from_numpy(photo(name)).permute(2, 0, 1).float() / 255


def _tile_split(shape, tile, test_fraction, rng):
    """Assign each tile of an image to train (False) or test (True)."""
    rows, cols = shape[0] // tile, shape[1] // tile
    n = rows * cols
    n_test = max(1, round(test_fraction * n))
    is_test = np.zeros(n, dtype=bool)
    is_test[rng.choice(n, size=n_test, replace=False)] = True
    return is_test.reshape(rows, cols)


def _crops(img, tiles, tile, size, n, rng):
    """``n`` random ``size`` x ``size`` crops, each lying inside one of the given tiles, channels
    first: an (n, 3, size, size) array of the image's values, and the (n, 2) top-left corners.

    Each crop is one entry of a view of every window of the image, so one gather picks them
    all (a third faster, with the copy to a network's layout below, than the row and column
    indexing before it). The gathered array keeps the image's order in memory, channels
    innermost.
    """
    which = rng.integers(0, len(tiles), size=n)
    ty, tx = tiles[which, 0] * tile, tiles[which, 1] * tile
    y0 = ty + rng.integers(0, tile - size + 1, size=n)
    x0 = tx + rng.integers(0, tile - size + 1, size=n)
    windows = np.lib.stride_tricks.sliding_window_view(img, (size, size), axis=(0, 1))
    return windows[y0, x0], np.stack([y0, x0], axis=1)


def photo_patches(
    size: int = 32,
    n_train: int = 8000,
    n_test: int = 2000,
    *,
    photos: tuple[str, ...] = PHOTOS,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> Dataset:
    """Random crops of bundled colour photographs; the label says which photograph.

    Each photograph is cut into square tiles of side ``2 * size``; a fixed-seed random
    ``test_fraction`` of the tiles supplies the test crops and the rest the training crops, and
    every crop lies inside a single tile. No test pixel is ever seen in training.
    ``labels_train["origin"]`` and ``labels_test["origin"]`` hold each crop's top-left corner
    (row, column) in its photograph.
    """
    if size < 4:
        raise ValueError(f"size must be at least 4 pixels, got {size}.")
    rng = np.random.default_rng(seed)
    tile = 2 * size
    per_class = [n_train // len(photos) + (i < n_train % len(photos)) for i in range(len(photos))]
    per_class_test = [
        n_test // len(photos) + (i < n_test % len(photos)) for i in range(len(photos))
    ]
    xs_train, ys_train, xs_test, ys_test, at_train, at_test = [], [], [], [], [], []
    for label, name in enumerate(photos):
        img = photo(name)
        is_test = _tile_split(img.shape, tile, test_fraction, rng)
        for split, count, xs, ys, at in (
            (False, per_class[label], xs_train, ys_train, at_train),
            (True, per_class_test[label], xs_test, ys_test, at_test),
        ):
            crops, origins = _crops(img, np.argwhere(is_test == split), tile, size, count, rng)
            xs.append(crops)
            ys.append(np.full(count, label))
            at.append(origins)

    def to_tensor(parts):
        # In the default layout before any arithmetic: the mean and standard deviation below
        # then add the same numbers in the same order as always, to the last bit.
        return torch.from_numpy(np.ascontiguousarray(np.concatenate(parts))).float() / 255.0

    return standardised(
        f"photo_patches(size={size}, seed={seed})",
        to_tensor(xs_train),
        torch.from_numpy(np.concatenate(ys_train)).long(),
        to_tensor(xs_test),
        torch.from_numpy(np.concatenate(ys_test)).long(),
        photos,
        labels_train={"origin": torch.from_numpy(np.concatenate(at_train)).long()},
        labels_test={"origin": torch.from_numpy(np.concatenate(at_test)).long()},
    )
