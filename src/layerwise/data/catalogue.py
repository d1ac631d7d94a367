"""One entry point to the datasets by name, with MNIST and CIFAR-10 when they are on disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .dataset import standardised
from .drawings import shapes
from .photos import photo_patches
from .toy import digits

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
    return standardised(key, x_train, y_train, x_test, y_test, [str(c) for c in train.classes])
