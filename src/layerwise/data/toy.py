"""Small classic datasets: scikit-learn's 8x8 digits, MNIST-1D and four clusters of points."""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import Dataset, split_standardised, standardised


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
    return standardised(
        f"digits(size={size}, seed={seed})",
        x[idx_train],
        y[idx_train],
        x[idx_test],
        y[idx_test],
        [str(d) for d in range(10)],
    )


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
    from ..train import cache_dir  # where the model cache lives; the data sit beside it

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
    return standardised(
        f"mnist1d(num_samples={num_samples}, seed={seed}, mnist1d={version})",
        torch.from_numpy(arrays["x"]).float().unsqueeze(1),
        torch.from_numpy(arrays["y"]).long(),
        torch.from_numpy(arrays["x_test"]).float().unsqueeze(1),
        torch.from_numpy(arrays["y_test"]).long(),
        [str(d) for d in range(10)],
    )


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
    return split_standardised(
        f"four_clusters(spread={spread}, seed={seed})",
        x,
        y,
        n_train,
        ("(-,-)", "(+,-)", "(-,+)", "(+,+)"),
    )
