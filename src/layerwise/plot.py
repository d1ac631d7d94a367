"""Figure helpers shared by the pages: filter grids, image grids and feature maps.

Figures are drawn on an opaque white background, so they stay readable in the site's dark mode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["feature_map_grid", "filter_grid", "filter_images", "image_grid"]


def filter_images(weights: torch.Tensor, contrast: str = "max") -> np.ndarray:
    """Conv filters (out, in, k, k) as displayable images (out, k, k, 3) or (out, k, k).

    Zero is mid-grey, so the sign of every weight is visible: bright = positive, dark =
    negative. Each filter is scaled on its own: with ``contrast="max"`` its largest absolute
    weight becomes white (or black); with ``contrast="rms"``, 2.5 times its root-mean-square
    weight does (larger weights are clipped). The second rule gives noise and smooth, peaked
    filters the same contrast, so the two can be compared side by side.
    """
    w = weights.detach().float().cpu()
    if contrast == "max":
        scale = w.abs().amax(dim=(1, 2, 3), keepdim=True)
    elif contrast == "rms":
        scale = 2.5 * w.square().mean(dim=(1, 2, 3), keepdim=True).sqrt()
    else:
        raise ValueError(f"contrast must be 'max' or 'rms', got {contrast!r}.")
    img = (0.5 + 0.5 * (w / scale.clamp_min(1e-12)).clamp(-1, 1)).permute(0, 2, 3, 1).numpy()
    if img.shape[-1] == 3:
        return img
    return img.mean(-1)  # one channel (or several, averaged): grey-scale


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = ncols or min(n, max(4, math.ceil(math.sqrt(n))))
    return math.ceil(n / ncols), ncols


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    *,
    ncols: int | None = None,
    titles: Sequence[str] | None = None,
    cmap: str = "gray",
    size: float = 1.0,
    fig=None,
    vmin=None,
    vmax=None,
):
    """Draw images (H, W) or (H, W, 3) in a grid without axes; returns the figure."""
    n = len(images)
    rows, cols = _grid(n, ncols)
    if fig is None:
        fig = plt.figure(
            figsize=(cols * size, rows * size * (1.25 if titles else 1)), layout="constrained"
        )
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(images[i], cmap=cmap, interpolation="nearest", vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    return fig


def filter_grid(
    weights: torch.Tensor,
    *,
    ncols: int | None = 8,
    titles=None,
    size=0.8,
    fig=None,
    contrast: str = "max",
):
    """Draw first-layer conv filters as small images (see :func:`filter_images`)."""
    return image_grid(
        filter_images(weights, contrast),
        ncols=ncols,
        titles=titles,
        size=size,
        fig=fig,
        vmin=0,
        vmax=1,
    )


def feature_map_grid(
    maps: torch.Tensor, *, n: int = 8, ncols: int | None = None, size=0.9, fig=None, title=None
):
    """Draw the first ``n`` channels of a feature map (C, H, W), each on its own colour scale."""
    maps = maps.detach().float().cpu()[:n]
    fig = image_grid(list(maps.numpy()), ncols=ncols, cmap="magma", size=size, fig=fig)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
