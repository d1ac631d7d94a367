"""Offline datasets as in-memory tensors.

Every dataset here is built from data that ships inside installed packages, or generated, so
the site builds on a machine with no network:

* :func:`photo_patches` -- crops of the colour photographs bundled with scikit-image and
  scikit-learn, one class per photograph;
* :func:`digits` -- scikit-learn's bundled 8x8 handwritten digits, optionally resized;
* :func:`shapes` -- a generated compositional dataset (strokes -> corners and junctions ->
  shapes) that returns the ground-truth parts of every image;
* :func:`four_clusters` -- four classes of points in the plane;
* :func:`mnist1d` -- MNIST-1D (Greydanus 2020): the ten digits as 1-D signals of length 40,
  generated locally by the ``mnist1d`` package, where locality matters;
* :func:`spoken_words` -- generated sounds built like speech (tones and chirps -> "words"
  whose order matters), with the ground truth of every level.

:func:`permute_pixels` shuffles the pixels of a dataset with one fixed permutation.

Each returns a :class:`Dataset` with fixed-seed, disjoint train and test splits, standardised per
channel with the training set's statistics. :func:`load` also opens MNIST / CIFAR-10 when they
are already on disk; nothing here downloads anything unless asked to.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "PHOTOS",
    "SHAPE_CLASSES",
    "TONES",
    "WORDS",
    "Dataset",
    "digits",
    "four_clusters",
    "load",
    "mnist1d",
    "permute_pixels",
    "photo_patches",
    "pixel_permutation",
    "shapes",
    "spoken_words",
]


@dataclass(eq=False)
class Dataset:
    """Train and test tensors plus what is needed to read them.

    ``x_*`` are float32 tensors of shape (N, C, H, W) -- (N, C, L) for sounds, (N, F) for
    points -- standardised with the training set's per-channel (per-feature) ``mean`` and
    ``std``; ``y_*`` are int64 class indices. ``parts_*`` map a part name to a tensor with one
    row per image (only for datasets that know their parts).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    mean: torch.Tensor
    std: torch.Tensor
    parts_train: dict[str, torch.Tensor] = field(default_factory=dict)
    parts_test: dict[str, torch.Tensor] = field(default_factory=dict)
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return self.x_train.shape[1]

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.x_train.shape[-2:])

    def _channel_shape(self, x: torch.Tensor) -> tuple[int, ...]:
        """How to broadcast per-channel statistics over ``x``: a batch, or a single example."""
        batched = x.dim() == self.x_train.dim()
        return (1, -1) + (1,) * (x.dim() - 2) if batched else (-1,) + (1,) * (x.dim() - 1)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the standardisation: back to pixel values in [0, 1] (for display)."""
        shape = self._channel_shape(x)
        mean, std = self.mean.to(x.device), self.std.to(x.device)
        return (x * std.view(shape) + mean.view(shape)).clamp(0, 1)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise pixel values in [0, 1] the way this dataset's tensors are."""
        shape = self._channel_shape(x)
        mean, std = self.mean.to(x.device), self.std.to(x.device)
        return (x - mean.view(shape)) / std.view(shape)

    @property
    def fingerprint(self) -> str:
        """Hash of every tensor and label name; equal fingerprints mean equal data."""
        if self._fingerprint is None:
            h = hashlib.sha256(self.name.encode())
            tensors = [self.x_train, self.y_train, self.x_test, self.y_test]
            for t in tensors:
                h.update(str(tuple(t.shape)).encode())
                h.update(t.detach().cpu().contiguous().numpy().tobytes())
            h.update("\0".join(self.classes).encode())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def subset(self, n_train: int, *, seed: int = 0) -> Dataset:
        """The same dataset with a class-balanced random subset of ``n_train`` training images."""
        if not 0 < n_train <= len(self.y_train):
            raise ValueError(f"n_train must be in 1..{len(self.y_train)}, got {n_train}.")
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(self.y_train), generator=g)
        # Round-robin over classes so that small subsets still contain every class.
        by_class = [order[self.y_train[order] == c] for c in range(self.num_classes)]
        rank = torch.empty(len(order), dtype=torch.long)
        for members in by_class:
            rank[members] = torch.arange(len(members)) * self.num_classes
        chosen = torch.argsort(rank, stable=True)[:n_train].sort().values
        return Dataset(
            name=f"{self.name}[:{n_train}@{seed}]",
            x_train=self.x_train[chosen],
            y_train=self.y_train[chosen],
            x_test=self.x_test,
            y_test=self.y_test,
            classes=self.classes,
            mean=self.mean,
            std=self.std,
            parts_train={k: v[chosen] for k, v in self.parts_train.items()},
            parts_test=self.parts_test,
        )

    def select_classes(self, classes) -> Dataset:
        """The same dataset restricted to some classes, relabelled ``0..k-1`` in the given order.

        ``classes`` lists class names or indices, e.g. half of the classes for a transfer
        experiment. Training and test images of the other classes are dropped; the
        standardisation (``mean``, ``std``) is kept, so the images are unchanged.
        """
        wanted = []
        for c in classes:
            if isinstance(c, str):
                if c not in self.classes:
                    raise ValueError(
                        f"{self.name} has no class {c!r}; its classes are "
                        f"{', '.join(self.classes)}."
                    )
                c = self.classes.index(c)
            c = int(c)
            if not 0 <= c < self.num_classes:
                raise ValueError(f"class index {c} is outside 0..{self.num_classes - 1}.")
            wanted.append(c)
        if not wanted or len(set(wanted)) != len(wanted):
            raise ValueError("select_classes needs a non-empty list of distinct classes.")
        relabel = torch.full((self.num_classes,), -1, dtype=torch.long)
        relabel[wanted] = torch.arange(len(wanted))
        keep_train = relabel[self.y_train] >= 0
        keep_test = relabel[self.y_test] >= 0
        names = tuple(self.classes[c] for c in wanted)
        return Dataset(
            name=f"{self.name}[{','.join(names)}]",
            x_train=self.x_train[keep_train],
            y_train=relabel[self.y_train[keep_train]],
            x_test=self.x_test[keep_test],
            y_test=relabel[self.y_test[keep_test]],
            classes=names,
            mean=self.mean,
            std=self.std,
            parts_train={k: v[keep_train] for k, v in self.parts_train.items()},
            parts_test={k: v[keep_test] for k, v in self.parts_test.items()},
        )

    def __repr__(self) -> str:
        shape = "x".join(str(d) for d in self.x_train.shape[1:])
        what = "images" if self.x_train.dim() == 4 else "examples"
        return (
            f"Dataset({self.name!r}: {len(self.y_train)} train / {len(self.y_test)} test {what} "
            f"of {shape}, {self.num_classes} classes)"
        )


def _standardised(name, x_train, y_train, x_test, y_test, classes, **parts) -> Dataset:
    dims = (0, *range(2, x_train.dim()))  # every axis but the channel (or feature) axis
    mean = x_train.mean(dim=dims)
    std = x_train.std(dim=dims).clamp_min(1e-6)
    shape = (1, -1) + (1,) * (x_train.dim() - 2)
    return Dataset(
        name=name,
        x_train=((x_train - mean.view(shape)) / std.view(shape)).contiguous(),
        y_train=y_train,
        x_test=((x_test - mean.view(shape)) / std.view(shape)).contiguous(),
        y_test=y_test,
        classes=tuple(classes),
        mean=mean,
        std=std,
        parts_train=parts.get("parts_train", {}),
        parts_test=parts.get("parts_test", {}),
    )


# ---------------------------------------------------------------------------------------------
# Photo patches
# ---------------------------------------------------------------------------------------------

#: The bundled photographs used by :func:`photo_patches`, one class each: eight colour photos and
#: four grey-scale ones (three textures and the cameraman), which only shape, not colour, tells
#: apart.
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


def _tile_split(shape, tile, test_fraction, rng):
    """Assign each tile of an image to train (False) or test (True)."""
    rows, cols = shape[0] // tile, shape[1] // tile
    n = rows * cols
    n_test = max(1, round(test_fraction * n))
    is_test = np.zeros(n, dtype=bool)
    is_test[rng.choice(n, size=n_test, replace=False)] = True
    return is_test.reshape(rows, cols)


def _crops(img, tiles, tile, size, n, rng):
    """``n`` random ``size`` x ``size`` crops, each lying inside one of the given tiles."""
    which = rng.integers(0, len(tiles), size=n)
    ty, tx = tiles[which, 0] * tile, tiles[which, 1] * tile
    y0 = ty + rng.integers(0, tile - size + 1, size=n)
    x0 = tx + rng.integers(0, tile - size + 1, size=n)
    offs = np.arange(size)
    rows = (y0[:, None] + offs)[:, :, None]
    cols = (x0[:, None] + offs)[:, None, :]
    return img[rows, cols], np.stack([y0, x0], axis=1)  # (n, size, size, 3), (n, 2)


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
    ``parts_train["origin"]`` and ``parts_test["origin"]`` hold each crop's top-left corner
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
        x = torch.from_numpy(np.concatenate(parts)).permute(0, 3, 1, 2).float() / 255.0
        return x.contiguous()

    return _standardised(
        f"photo_patches(size={size}, seed={seed})",
        to_tensor(xs_train),
        torch.from_numpy(np.concatenate(ys_train)).long(),
        to_tensor(xs_test),
        torch.from_numpy(np.concatenate(ys_test)).long(),
        photos,
        parts_train={"origin": torch.from_numpy(np.concatenate(at_train)).long()},
        parts_test={"origin": torch.from_numpy(np.concatenate(at_test)).long()},
    )


# ---------------------------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------------------------


def digits(size: int = 8, *, test_fraction: float = 0.3, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 bundled handwritten digits (8x8), optionally resized to ``size``.

    The split is stratified by class with a fixed seed.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = torch.from_numpy(bunch.images).float().unsqueeze(1) / 16.0
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        x = x.clamp(0, 1)
    y = torch.from_numpy(bunch.target).long()
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=test_fraction, random_state=seed, stratify=bunch.target
    )
    idx_train, idx_test = torch.from_numpy(idx_train), torch.from_numpy(idx_test)
    return _standardised(
        f"digits(size={size}, seed={seed})",
        x[idx_train],
        y[idx_train],
        x[idx_test],
        y[idx_test],
        [str(d) for d in range(10)],
    )


# ---------------------------------------------------------------------------------------------
# MNIST-1D
# ---------------------------------------------------------------------------------------------


def mnist1d(num_samples: int = 5000, *, seed: int = 42) -> Dataset:
    """MNIST-1D: the ten digits drawn as 1-D signals of length 40 (Greydanus 2020).

    Generated on this machine by the ``mnist1d`` package's own generator (templates of the ten
    digits, padded, shifted, scaled, sheared and noised), with its authors' settings: 80 % for
    training (4,000 of the default 5,000), 20 % for testing. Nothing is downloaded. Generating
    takes a few seconds, so the arrays are kept next to the model cache (``$LAYERWISE_CACHE``)
    and reused. Tensors have shape (N, 1, 40).
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:  # pragma: no cover - a dependency of layerwise
        raise ImportError(
            "layerwise.data.mnist1d needs the mnist1d package: pip install mnist1d"
        ) from err
    import importlib.metadata

    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    version = importlib.metadata.version("mnist1d")
    from .train import cache_dir  # where the model cache lives; the data sit beside it

    path = cache_dir().parent / "data" / f"mnist1d-{version}-{num_samples}-{seed}.npz"
    try:
        with np.load(path) as saved:
            arrays = {k: saved[k] for k in ("x", "y", "x_test", "y_test")}
    except (OSError, ValueError, KeyError):
        made = make_dataset(args)
        arrays = {k: np.asarray(made[k]) for k in ("x", "y", "x_test", "y_test")}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    return _standardised(
        f"mnist1d(num_samples={num_samples}, seed={seed}, mnist1d={version})",
        torch.from_numpy(arrays["x"]).float().unsqueeze(1),
        torch.from_numpy(arrays["y"]).long(),
        torch.from_numpy(arrays["x_test"]).float().unsqueeze(1),
        torch.from_numpy(arrays["y_test"]).long(),
        [str(d) for d in range(10)],
    )


# ---------------------------------------------------------------------------------------------
# Shapes: a compositional dataset with ground-truth parts
# ---------------------------------------------------------------------------------------------


def _polygon(points, closed=True):
    pts = list(points)
    ends = pts[1:] + pts[:1] if closed else pts[1:]
    return [(*a, *b) for a, b in zip(pts, ends, strict=False)]


def _arc(start, stop, n):
    t = np.linspace(start, stop, n + 1)
    return _polygon(zip(np.cos(t), np.sin(t), strict=True), closed=False)


# Each class: its segments in unit coordinates, and the parts it contains.
_TEMPLATES = {
    "square": (_polygon([(-0.75, -0.75), (0.75, -0.75), (0.75, 0.75), (-0.75, 0.75)]), {"corner"}),
    "triangle": (
        _polygon([(math.cos(a), math.sin(a)) for a in np.radians([90, 210, 330])]),
        {"corner"},
    ),
    "circle": (_arc(0, 2 * math.pi, 20), {"curve"}),
    "plus": ([(-1, 0, 1, 0), (0, -1, 0, 1)], {"junction"}),
    "tee": ([(-0.8, -0.8, 0.8, -0.8), (0, -0.8, 0, 1)], {"junction"}),
    "ell": ([(-0.7, -0.9, -0.7, 0.7), (-0.7, 0.7, 0.9, 0.7)], {"corner"}),
    "arc": (_arc(0, math.pi, 10), {"curve"}),
    "bars": ([(-0.85, -0.45, 0.85, -0.45), (-0.85, 0.45, 0.85, 0.45)], set()),
}
#: Class names of :func:`shapes`, in label order.
SHAPE_CLASSES = tuple(_TEMPLATES)
# Small clutter drawn beside the object, so that parts are not a function of the class.
_DISTRACTORS = {
    "corner": ([(-1, -1, -1, 1), (-1, 1, 1, 1)], {"corner"}),
    "junction": ([(-1, -1, 1, -1), (0, -1, 0, 1)], {"junction"}),
    "curve": (_arc(0, math.pi / 1.2, 6), {"curve"}),
    "stroke": ([(-1, 0, 1, 0)], set()),
}
_PART_NAMES = ("corner", "junction", "curve")


def _place(segments, scale, angle, centre):
    s = np.asarray(segments, dtype=np.float64).reshape(-1, 2, 2)
    c, si = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -si], [si, c]])
    return (s @ rot.T * scale + centre).reshape(-1, 4)


def _render(segments, size, width):
    """Anti-aliased strokes; also the orientation (0..3, in 45-degree bins) of the nearest stroke.

    ``segments``: (N, S, 4) padded with NaN; ``width``: (N,) stroke widths in pixels.
    """
    n, s_max, _ = segments.shape
    centres = torch.arange(size, dtype=torch.float32) + 0.5
    py = centres.repeat_interleave(size)[None]  # (1, P), row-major pixel centres
    px = centres.repeat(size)[None]
    best = torch.full((n, size * size), float("inf"))
    theta = torch.zeros((n, size * size))
    for k in range(s_max):
        ax, ay, bx, by = (segments[:, k, i : i + 1] for i in range(4))  # (N, 1) each
        dx, dy = bx - ax, by - ay
        t = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy).clamp_min(1e-9)).clamp(0, 1)
        d2 = (ax + t * dx - px).square() + (ay + t * dy - py).square()
        closer = d2 < best  # False for padding (NaN)
        best = torch.where(closer, d2, best)
        theta = torch.where(closer, torch.atan2(dy, dx), theta)
    best = best.sqrt()
    ink = (1.0 - (best - width[:, None] / 2)).clamp(0, 1)
    orientation = torch.round((theta % math.pi) / (math.pi / 4)).long() % 4
    return ink.view(n, size, size), orientation.view(n, size, size)


def _orientation_grid(ink, orientation, cells):
    """Dominant stroke orientation in each cell of a ``cells`` x ``cells`` grid; 4 = empty."""
    n, size, _ = ink.shape
    c = size // cells
    inked = ink > 0.5
    onehot = F.one_hot(orientation, 4).float() * inked[..., None]
    counts = onehot.view(n, cells, c, cells, c, 4).sum(dim=(2, 4))  # (N, cells, cells, 4)
    label = counts.argmax(-1)
    label[counts.sum(-1) < c / 2] = 4
    return label


def shapes(
    n_train: int = 8000,
    n_test: int = 2000,
    *,
    size: int = 32,
    distractors: int = 2,
    noise: float = 0.05,
    seed: int = 0,
) -> Dataset:
    """Generated line drawings built from parts, with the ground truth of every level.

    An image holds one object -- a square, triangle, circle, plus, tee, ell, arc or pair of
    bars, randomly placed, scaled and rotated -- and up to ``distractors`` small pieces of
    clutter (a corner, a junction, a curve or a stroke), so that which parts an image contains
    is not a function of its class. The three levels of the hierarchy are returned in
    ``parts_train`` / ``parts_test``:

    * ``orientation``: (N, 4, 4) dominant stroke orientation in each cell of a 4x4 grid, in
      45-degree bins (0 = horizontal, 1 = 45 degrees, 2 = vertical, 3 = 135 degrees;
      4 = no stroke);
    * ``corner``, ``junction``, ``curve``: (N,) 1 if the image contains that part;
    * the object class is the label ``y``.

    Train and test images are drawn from disjoint random streams of the same seed.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    labels = rng.integers(0, len(SHAPE_CLASSES), size=n)
    all_segments, has = [], np.zeros((n, len(_PART_NAMES)), dtype=np.int64)
    for i, label in enumerate(labels):
        segs, parts = _TEMPLATES[SHAPE_CLASSES[label]]
        scale = rng.uniform(0.24, 0.34) * size
        reach = scale * np.linalg.norm(np.asarray(segs).reshape(-1, 2), axis=1).max()
        centre = rng.uniform(reach + 1, size - reach - 1, size=2)
        placed = [_place(segs, scale, rng.uniform(0, 2 * math.pi), centre)]
        present = set(parts)
        for _ in range(rng.integers(0, distractors + 1)):
            kind = list(_DISTRACTORS)[rng.integers(0, len(_DISTRACTORS))]
            dsegs, dparts = _DISTRACTORS[kind]
            dscale = rng.uniform(0.08, 0.11) * size
            placed.append(
                _place(
                    dsegs,
                    dscale,
                    rng.uniform(0, 2 * math.pi),
                    rng.uniform(2 * dscale, size - 2 * dscale, size=2),
                )
            )
            present |= dparts
        all_segments.append(np.concatenate(placed))
        has[i] = [name in present for name in _PART_NAMES]
    s_max = max(len(s) for s in all_segments)
    padded = np.full((n, s_max, 4), np.nan, dtype=np.float32)
    for i, s in enumerate(all_segments):
        padded[i, : len(s)] = s
    width = torch.from_numpy(rng.uniform(1.2, 2.0, size=n).astype(np.float32))
    segments = torch.from_numpy(padded)
    inks, orients = [], []
    for start in range(0, n, 2048):  # bounded memory
        ink, orient = _render(segments[start : start + 2048], size, width[start : start + 2048])
        inks.append(ink)
        orients.append(_orientation_grid(ink, orient, 4))
    ink, grid = torch.cat(inks), torch.cat(orients)
    g = torch.Generator().manual_seed(seed)
    x = (ink + noise * torch.randn(ink.shape, generator=g)).clamp(0, 1).unsqueeze(1)
    y = torch.from_numpy(labels).long()
    parts = {"orientation": grid}
    parts.update({name: torch.from_numpy(has[:, j]) for j, name in enumerate(_PART_NAMES)})
    tr, te = slice(0, n_train), slice(n_train, n)
    return _standardised(
        f"shapes(size={size}, distractors={distractors}, seed={seed})",
        x[tr],
        y[tr],
        x[te],
        y[te],
        SHAPE_CLASSES,
        parts_train={k: v[tr] for k, v in parts.items()},
        parts_test={k: v[te] for k, v in parts.items()},
    )


# ---------------------------------------------------------------------------------------------
# Questions: points in the plane, shuffled pixels, generated words
# ---------------------------------------------------------------------------------------------


def four_clusters(
    n_train: int = 400, n_test: int = 400, *, spread: float = 0.35, seed: int = 0
) -> Dataset:
    """Four classes of 2-D points: Gaussian clusters around the corners of a square.

    Class ``k`` is centred on ``(+-1, +-1)`` (bit 0 of ``k`` gives the sign of the first
    coordinate, bit 1 the sign of the second) with standard deviation ``spread``. Two straight
    lines are enough to separate the classes, so a network with two hidden units can. ``x_*``
    have shape (N, 2).
    """
    if spread <= 0:
        raise ValueError(f"spread must be positive, got {spread}.")
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_test
    y = torch.randint(0, 4, (n,), generator=g)
    centres = torch.stack([(y % 2) * 2.0 - 1, (y // 2) * 2.0 - 1], dim=1)
    x = centres + spread * torch.randn(n, 2, generator=g)
    return _standardised(
        f"four_clusters(spread={spread}, seed={seed})",
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        ("(-,-)", "(+,-)", "(-,+)", "(+,+)"),
    )


def pixel_permutation(num_pixels: int, *, seed: int = 0) -> torch.Tensor:
    """A fixed random permutation of ``num_pixels`` pixel positions (flat, row-major)."""
    if num_pixels < 1:
        raise ValueError(f"num_pixels must be positive, got {num_pixels}.")
    return torch.randperm(num_pixels, generator=torch.Generator().manual_seed(seed))


def permute_pixels(dataset: Dataset, permutation: torch.Tensor) -> Dataset:
    """The same images with their pixels shuffled by one ``permutation``, train and test alike.

    Pixel ``permutation[i]`` of every image (flat index, row-major, the same for every channel)
    moves to position ``i``. Nothing a dense layer can use is lost, but neighbouring pixels are
    no longer neighbours. The permutation must be a bijection of the pixel positions.
    """
    h, w = dataset.image_size
    perm = torch.as_tensor(permutation).long().flatten()
    if perm.numel() != h * w or not torch.equal(perm.sort().values, torch.arange(h * w)):
        raise ValueError(f"permutation must rearrange the {h * w} pixel positions 0..{h * w - 1}.")

    def shuffle(x):
        return x.flatten(2)[:, :, perm].reshape(x.shape).contiguous()

    digest = hashlib.sha256(perm.numpy().tobytes()).hexdigest()[:8]
    return Dataset(
        name=f"{dataset.name}|pixels permuted {digest}",
        x_train=shuffle(dataset.x_train),
        y_train=dataset.y_train,
        x_test=shuffle(dataset.x_test),
        y_test=dataset.y_test,
        classes=dataset.classes,
        mean=dataset.mean,
        std=dataset.std,
        parts_train=dataset.parts_train,
        parts_test=dataset.parts_test,
    )


#: Elementary sounds of :func:`spoken_words`: three steady tones and two chirps.
TONES = ("low", "mid", "high", "rising", "falling")
_TONE_HZ = {
    "low": (300, 300),
    "mid": (600, 600),
    "high": (1200, 1200),
    "rising": (300, 1200),
    "falling": (1200, 300),
}
#: "Words" of :func:`spoken_words`: four sounds each, in pairs. The two words of a pair use the
#: same tones (three of one, one of another) and, counting the silence around the word, the
#: same pairs of neighbouring sounds: ``low low high low`` and ``low high low low`` both hold
#: low-low, low-high and high-low once. Only a stretch of three sounds in a row (low-low-high
#: against high-low-low) tells them apart. Different pairs use different tones, so *which
#: tones occur* names the pair and needs no order at all.
WORDS = {
    "LLHL": ("low", "low", "high", "low"),
    "LHLL": ("low", "high", "low", "low"),
    "HHRH": ("high", "high", "rising", "high"),
    "HRHH": ("high", "rising", "high", "high"),
    "MMFM": ("mid", "mid", "falling", "mid"),
    "MFMM": ("mid", "falling", "mid", "mid"),
    "RRLR": ("rising", "rising", "low", "rising"),
    "RLRR": ("rising", "low", "rising", "rising"),
}


def spoken_words(
    n_train: int = 2000,
    n_test: int = 1000,
    *,
    length: int = 768,
    segment: int = 128,
    sample_rate: int = 4000,
    noise: float = 0.3,
    seed: int = 0,
) -> Dataset:
    """Generated sound clips built like speech: sounds -> words whose order matters.

    A clip holds one word from :data:`WORDS`: four sounds from :data:`TONES` in a row (a steady
    tone or a chirp, ``segment`` samples long, with a smooth envelope). The word starts at a
    random time; every sound's pitch varies by up to 8 % and its loudness by a factor up to 2;
    Gaussian noise of standard deviation ``noise`` is added. ``x_*`` have shape
    (N, 1, ``length``); the label is the word. Two easier labels are in ``parts_train`` /
    ``parts_test``, with the ground truth:

    * ``tone_set`` (N,): which tones occur (an order-free label; one class per pair of words);
    * ``order`` (N,): which word of its pair it is, 0 or 1 (needs three sounds in a row);
    * ``tones`` (N, 4): the four sounds (indices into :data:`TONES`); ``onset`` (N,): the
      start sample.
    """
    if length < 4 * segment:
        raise ValueError(f"length must hold the four sounds of a word: at least {4 * segment}.")
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    word_names = list(WORDS)
    words = rng.integers(0, len(WORDS), size=n)
    tones = np.array([[TONES.index(t) for t in WORDS[word_names[w]]] for w in words])  # (N, 4)
    onset = rng.integers(0, length - 4 * segment + 1, size=n)
    t = np.arange(segment) / sample_rate
    envelope = np.sin(np.pi * np.arange(segment) / segment) ** 0.5
    x = np.zeros((n, length))
    for k in range(4):
        f0, f1 = np.array([_TONE_HZ[TONES[i]] for i in tones[:, k]], dtype=float).T
        pitch = rng.uniform(0.92, 1.08, size=n)
        f0, f1 = f0 * pitch, f1 * pitch
        # Linear chirp: the phase is the integral of a frequency going from f0 to f1.
        duration = segment / sample_rate
        phase = 2 * np.pi * (f0[:, None] * t + (f1 - f0)[:, None] * t**2 / (2 * duration))
        phase += rng.uniform(0, 2 * np.pi, size=(n, 1))
        loud = rng.uniform(0.5, 1.0, size=(n, 1))
        sound = loud * envelope * np.sin(phase)
        cols = onset[:, None] + k * segment + np.arange(segment)
        x[np.arange(n)[:, None], cols] = sound
    x += noise * rng.standard_normal(x.shape)
    x = torch.from_numpy(x).float().unsqueeze(1)
    parts = {
        "tone_set": torch.from_numpy(words // 2).long(),
        "order": torch.from_numpy(words % 2).long(),
        "tones": torch.from_numpy(tones).long(),
        "onset": torch.from_numpy(onset).long(),
    }
    y = torch.from_numpy(words).long()
    tr, te = slice(0, n_train), slice(n_train, n)
    return _standardised(
        f"spoken_words(length={length}, segment={segment}, noise={noise}, seed={seed}, v2)",
        x[tr],
        y[tr],
        x[te],
        y[te],
        word_names,
        parts_train={k: v[tr] for k, v in parts.items()},
        parts_test={k: v[te] for k, v in parts.items()},
    )


# ---------------------------------------------------------------------------------------------
# One entry point, with the datasets a user may have on disk
# ---------------------------------------------------------------------------------------------

_OFFLINE = {"photo_patches": photo_patches, "digits": digits, "shapes": shapes}


def load(name: str, *, root: str | os.PathLike | None = None, download: bool = False, **kwargs):
    """Load a dataset by name.

    ``photo_patches``, ``digits`` and ``shapes`` are built offline (keyword arguments go to
    their functions). ``mnist`` and ``cifar10`` are read with torchvision from ``root``
    (default: ``$LAYERWISE_DATA`` or ``~/.cache/layerwise/data``); they are downloaded only when
    ``download=True``.
    """
    key = name.lower().replace("-", "_")
    if key in _OFFLINE:
        return _OFFLINE[key](**kwargs)
    if key not in ("mnist", "cifar10"):
        raise ValueError(
            f"unknown dataset {name!r}; offline datasets: {', '.join(_OFFLINE)}; "
            "on disk: mnist, cifar10."
        )
    import torchvision

    root = Path(root or os.environ.get("LAYERWISE_DATA", "~/.cache/layerwise/data")).expanduser()
    cls = torchvision.datasets.MNIST if key == "mnist" else torchvision.datasets.CIFAR10
    try:
        train = cls(root, train=True, download=download)
        test = cls(root, train=False, download=download)
    except RuntimeError as err:
        raise FileNotFoundError(
            f"{name} is not under {root}; pass download=True where there is a network, or use "
            f"an offline dataset: {', '.join(_OFFLINE)}."
        ) from err

    def tensors(ds):
        x = torch.as_tensor(np.asarray(ds.data)).float() / 255.0
        x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
        return x.contiguous(), torch.as_tensor(np.asarray(ds.targets)).long()

    x_train, y_train = tensors(train)
    x_test, y_test = tensors(test)
    return _standardised(key, x_train, y_train, x_test, y_test, [str(c) for c in train.classes])
