"""The :class:`Dataset` container: train and test tensors, standardised, with their labels.

Also the one transformation every generator shares (:func:`standardised`) and one that reorders
the pixels of any dataset (:func:`permute_pixels`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import torch


@dataclass(eq=False)
class Dataset:
    """Train and test tensors plus what is needed to read them.

    ``x_*`` are float32 tensors of shape (N, C, H, W) -- (N, C, L) for sounds, (N, F) for
    points -- standardised with the training set's per-channel (per-feature) ``mean`` and
    ``std``; ``y_*`` are int64 class indices. ``labels_*`` hold the ground truth besides the
    class, for the datasets that know it: a name (e.g. ``"corner"``, ``"onset"``, ``"origin"``)
    maps to a tensor with one row per example, in the order of ``x_*``. They are not part of
    :attr:`fingerprint`.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    mean: torch.Tensor
    std: torch.Tensor
    labels_train: dict[str, torch.Tensor] = field(default_factory=dict)
    labels_test: dict[str, torch.Tensor] = field(default_factory=dict)
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

    def _changed(self, **fields) -> Dataset:
        """A copy with some fields replaced; its fingerprint is computed afresh."""
        return replace(self, _fingerprint=None, **fields)

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
        """The same dataset with a class-balanced random subset of ``n_train`` training images
        (those :meth:`subset_indices` names)."""
        chosen = self.subset_indices(n_train, seed=seed)
        return self._changed(
            name=f"{self.name}[:{n_train}@{seed}]",
            x_train=self.x_train[chosen],
            y_train=self.y_train[chosen],
            labels_train={k: v[chosen] for k, v in self.labels_train.items()},
        )

    def subset_indices(self, n_train: int, *, seed: int = 0) -> torch.Tensor:
        """The positions in the training split of the images ``subset(n_train, seed=seed)``
        keeps, in increasing order: for data computed once for the whole split (features of a
        large network, say) and then read for the subset."""
        if not 0 < n_train <= len(self.y_train):
            raise ValueError(f"n_train must be in 1..{len(self.y_train)}, got {n_train}.")
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(self.y_train), generator=g)
        # Round-robin over classes so that small subsets still contain every class.
        by_class = [order[self.y_train[order] == c] for c in range(self.num_classes)]
        rank = torch.empty(len(order), dtype=torch.long)
        for members in by_class:
            rank[members] = torch.arange(len(members)) * self.num_classes
        return torch.argsort(rank, stable=True)[:n_train].sort().values

    def first_test(self, n_test: int) -> Dataset:
        """The same dataset with only its first ``n_test`` test images (and their labels)."""
        if not 0 < n_test <= len(self.y_test):
            raise ValueError(f"n_test must be in 1..{len(self.y_test)}, got {n_test}.")
        return self._changed(
            name=f"{self.name}[test :{n_test}]",
            x_test=self.x_test[:n_test],
            y_test=self.y_test[:n_test],
            labels_test={k: v[:n_test] for k, v in self.labels_test.items()},
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
        return self._changed(
            name=f"{self.name}[{','.join(names)}]",
            x_train=self.x_train[keep_train],
            y_train=relabel[self.y_train[keep_train]],
            x_test=self.x_test[keep_test],
            y_test=relabel[self.y_test[keep_test]],
            classes=names,
            labels_train={k: v[keep_train] for k, v in self.labels_train.items()},
            labels_test={k: v[keep_test] for k, v in self.labels_test.items()},
        )

    def __repr__(self) -> str:
        shape = "x".join(str(d) for d in self.x_train.shape[1:])
        what = "images" if self.x_train.dim() == 4 else "examples"
        return (
            f"Dataset({self.name!r}: {len(self.y_train)} train / {len(self.y_test)} test {what} "
            f"of {shape}, {self.num_classes} classes)"
        )


def standardised(
    name, x_train, y_train, x_test, y_test, classes, *, labels_train=None, labels_test=None
) -> Dataset:
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
        labels_train=labels_train or {},
        labels_test=labels_test or {},
    )


def split_standardised(name, x, y, n_train, classes, labels=None) -> Dataset:
    """:func:`standardised` for examples generated in one stream: the first ``n_train`` are the
    training split and the rest the test split. ``labels`` (a name -> one row per example, as
    in ``Dataset.labels_*``) are split the same way."""
    labels = labels or {}
    tr, te = slice(0, n_train), slice(n_train, None)
    return standardised(
        name,
        x[tr],
        y[tr],
        x[te],
        y[te],
        classes,
        labels_train={k: v[tr] for k, v in labels.items()},
        labels_test={k: v[te] for k, v in labels.items()},
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
    return dataset._changed(
        name=f"{dataset.name}|pixels permuted {digest}",
        x_train=shuffle(dataset.x_train),
        x_test=shuffle(dataset.x_test),
    )
