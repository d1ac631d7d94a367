"""Figure helpers shared by the pages: filter grids, image grids, feature maps, animations, and
measurements drawn with their 95 % intervals.

Figures are drawn on an opaque white background, so they stay readable in the site's dark mode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = [
    "architecture",
    "band",
    "bar",
    "errorbar",
    "feature_map_grid",
    "field_map",
    "filter_grid",
    "filter_images",
    "group_dots",
    "image_animation",
    "image_grid",
    "image_rows",
    "interval_errors",
    "paired_runs",
    "runs",
    "signed_image",
    "to_image",
    "transfer_networks",
]


def to_image(x: torch.Tensor, dataset=None) -> np.ndarray:
    """An image tensor (C, H, W), or a batch (N, C, H, W), as an array ``imshow`` draws.

    With ``dataset`` (a :class:`layerwise.data.Dataset`), ``x`` is taken to be standardised the
    way that dataset's tensors are and is turned back into pixel values first. Channels go
    last -- (H, W, 3) for colour, (H, W) for one channel -- and values are clipped to [0, 1].
    """
    x = x.detach().float().cpu()
    if dataset is not None:
        x = dataset.denormalize(x)
    x = x.clamp(0, 1).movedim(-3, -1)
    return (x[..., 0] if x.shape[-1] == 1 else x).numpy()


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


def image_rows(
    rows: Sequence[Sequence[np.ndarray]],
    *,
    titles: Sequence[Sequence[str]] | None = None,
    row_titles: Sequence[str] | None = None,
    examples: Sequence[Sequence[Sequence[np.ndarray]]] | None = None,
    example_titles: Sequence[Sequence[Sequence[str]]] | None = None,
    cmap: str | None = None,
    figsize: tuple[float, float] | None = None,
    size: float = 1.6,
):
    """Draw groups of images one row per group (a layer, a stage, a condition); returns the figure.

    ``rows[i][j]`` is an image (H, W) or (H, W, 3) with values in [0, 1]; ``titles[i][j]`` is its
    small title and ``row_titles[i]`` a heading over row ``i``. Rows may hold different numbers
    of images: every row has as many columns as the longest, and the cells left over stay empty.
    ``examples[i][j]``, if given, is a list of smaller images drawn in a strip under image ``j``
    of row ``i`` (say, the photographs that excite the unit the image was made for), with
    ``example_titles`` shaped like ``examples``. ``cmap`` colours the one-channel images (maps,
    filters); colour images ignore it. The figure is ``figsize``, or ``size`` inches per image.
    """
    if titles is not None and [len(t) for t in titles] != [len(r) for r in rows]:
        raise ValueError("titles must hold one title per image, row by row, like rows.")
    if row_titles is not None and len(row_titles) != len(rows):
        raise ValueError(f"{len(rows)} rows but {len(row_titles)} row titles.")
    if examples is not None and [len(e) for e in examples] != [len(r) for r in rows]:
        raise ValueError("examples must hold one list of images per image, row by row.")
    if example_titles is not None and (
        examples is None
        or [[len(t) for t in row] for row in example_titles]
        != [[len(e) for e in row] for row in examples]
    ):
        raise ValueError("example_titles must hold one title per example image, like examples.")
    ncols = max(len(images) for images in rows)
    strip = max((len(e) for row in examples for e in row), default=0) if examples else 0
    if figsize is None:
        height = size * 1.25 * (1 + (1 / strip if strip else 0))
        figsize = (size * ncols, height * len(rows) + (0.3 if row_titles else 0))
    fig = plt.figure(figsize=figsize, layout="constrained")
    subfigures = np.atleast_1d(fig.subfigures(len(rows), 1))
    for i, (row, images) in enumerate(zip(subfigures, rows, strict=True)):
        if strip:
            # Each image spans ``strip`` columns of a grid whose second row holds the examples.
            grid = row.add_gridspec(2, strip * ncols, height_ratios=(3, 1))
            axes = [row.add_subplot(grid[0, strip * j : strip * (j + 1)]) for j in range(ncols)]
        else:
            axes = row.subplots(1, ncols, squeeze=False)[0]
        for j, ax in enumerate(axes):
            ax.set_axis_off()
            if j < len(images):
                ax.imshow(images[j], cmap=cmap)
                if titles is not None:
                    ax.set_title(titles[i][j], fontsize=8)
                for e, small in enumerate(examples[i][j] if strip else ()):
                    below = row.add_subplot(grid[1, strip * j + e])
                    below.imshow(small)
                    below.set_axis_off()
                    if example_titles is not None:
                        below.set_title(example_titles[i][j][e], fontsize=6, pad=1)
        if row_titles is not None:
            row.suptitle(row_titles[i], fontsize=10)
    return fig


def image_animation(
    frames: Sequence[Sequence[np.ndarray]],
    headings: Sequence[str],
    *,
    ncols: int | None = None,
    figsize: tuple[float, float] | None = None,
    boxes: Sequence[Sequence[tuple[int, int, int, int]]] | None = None,
    interval: int = 700,
):
    """An animation of a grid of images that change from frame to frame, with a heading each.

    ``frames[k]`` holds the images (H, W) or (H, W, 3), values in [0, 1], shown in frame ``k``:
    the same number in every frame, each keeping its shape (filters during training, say).
    ``headings[k]`` is that frame's title. ``boxes[k][i]``, if given, outlines the pixels
    ``(top, left, bottom, right)`` (bottom and right excluded, as
    :meth:`layerwise.receptive.ReceptiveField.box` gives them) on image ``i`` in frame ``k``.

    Returns the ``matplotlib.animation.FuncAnimation``, drawn at frame 0. Keep a reference
    to it (assign it to a name): Sphinx-Gallery then embeds it in the page as matplotlib's
    JavaScript player, whose frames are part of the page (the site's build removes the player's
    icon stylesheet from another host and gives its frame and slider accessible names).
    """
    from matplotlib import animation
    from matplotlib.patches import Rectangle

    if len(headings) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(headings)} headings.")
    if boxes is not None and len(boxes) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(boxes)} lists of boxes.")
    n = len(frames[0])
    if any(len(frame) != n for frame in frames):
        raise ValueError("Every frame must hold the same number of images.")
    rows, cols = _grid(n, ncols)
    fig = plt.figure(figsize=figsize or (1.2 * cols, 1.2 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    shown = [
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        for ax, image in zip(axes[:n], frames[0], strict=True)
    ]
    outlines = []
    if boxes is not None:
        for ax in axes[:n]:
            outlines.append(ax.add_patch(Rectangle((0, 0), 0, 0, fill=False, color="red", lw=2)))
    heading = fig.suptitle("")

    def draw(k):
        for image, data in zip(shown, frames[k], strict=True):
            image.set_data(data)
        for outline, (top, left, bottom, right) in zip(
            outlines, boxes[k] if boxes else [], strict=True
        ):
            outline.set_bounds(left - 0.5, top - 0.5, right - left, bottom - top)
        heading.set_text(headings[k])
        return [*shown, *outlines, heading]

    draw(0)
    return animation.FuncAnimation(fig, draw, frames=len(frames), interval=interval)


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


def interval_errors(measurements) -> tuple[np.ndarray, np.ndarray]:
    """The estimates of ``measurements`` and the lengths of their error bars, as matplotlib's
    ``yerr`` takes them: a (2, n) array of the distances down to each 95 % interval's low end
    and up to its high end.

    A measurement is a :class:`~layerwise.stats.Runs` (its t interval over seeds), a
    :class:`~layerwise.stats.Interval` (a Wilson or bootstrap interval, a paired difference)
    or a plain list of numbers (taken as runs). An interval that is not finite (one run) gets
    no bar; a bar that rounding puts a hair past its estimate (a share of exactly 0 or 1) is
    cut to zero length.
    """
    from .stats import Runs

    intervals = [(m if hasattr(m, "interval") else Runs(m)).interval() for m in measurements]
    est = np.array([i.estimate for i in intervals], dtype=float)
    low = np.array([i.low if math.isfinite(i.low) else i.estimate for i in intervals])
    high = np.array([i.high if math.isfinite(i.high) else i.estimate for i in intervals])
    return est, np.stack([est - low, high - est]).clip(min=0)


def errorbar(ax, x, measurements, **kwargs):
    """Draw ``measurements`` (see :func:`interval_errors`) at positions ``x`` as their
    estimates with 95 % interval bars: :meth:`matplotlib.axes.Axes.errorbar`, which gets the
    other keyword arguments (``capsize`` 3 unless given). Returns its artist."""
    est, err = interval_errors(measurements)
    return ax.errorbar(x, est, yerr=err, **{"capsize": 3, **kwargs})


def bar(ax, x, measurements, width=0.8, **kwargs):
    """Draw ``measurements`` (see :func:`interval_errors`) at positions ``x`` as bars of their
    estimates with 95 % interval bars: :meth:`matplotlib.axes.Axes.bar`, which gets the other
    keyword arguments (``capsize`` 3 unless given). Returns its artist."""
    est, err = interval_errors(measurements)
    return ax.bar(x, est, width, yerr=err, **{"capsize": 3, **kwargs})


def band(ax, x, measurements, fmt="o-", *, band_alpha=0.2, **kwargs):
    """Draw ``measurements`` (see :func:`interval_errors`) at positions ``x`` as a line through
    their estimates (:meth:`matplotlib.axes.Axes.plot` with ``fmt`` and the other keyword
    arguments) and their 95 % intervals as a band of the line's colour. Returns the line."""
    est, err = interval_errors(measurements)
    (line,) = ax.plot(x, est, fmt, **kwargs)
    ax.fill_between(x, est - err[0], est + err[1], color=line.get_color(), alpha=band_alpha)
    return line


def runs(ax, x, measurements, *, color="C0", label=None, spread=0.06, marker="o"):
    """Draw measurements over seeds at positions ``x``: every seed as a small dot, the mean as
    a marker with its 95 % interval (:class:`layerwise.stats.Runs`) as an error bar.

    ``measurements`` is one :class:`~layerwise.stats.Runs` (or list of numbers) per position.
    The seeds' dots are spread sideways by ``spread`` (a fraction of the gap between
    positions on a linear axis, a factor on a log axis) so they do not hide one another.
    Returns the error-bar artist, for a legend.
    """
    from .stats import Runs

    x = np.atleast_1d(np.asarray(x, dtype=float))
    measurements = [m if isinstance(m, Runs) else Runs(m) for m in measurements]
    if len(measurements) != len(x):
        raise ValueError(f"{len(x)} positions but {len(measurements)} measurements.")
    log = ax.get_xscale() == "log"
    for xi, m in zip(x, measurements, strict=True):
        offsets = np.linspace(-spread, spread, m.n) if m.n > 1 else np.zeros(1)
        xs = xi * np.exp(offsets) if log else xi + offsets
        ax.plot(xs, m.array, ".", color=color, alpha=0.45, ms=5, zorder=2)
    return errorbar(
        ax,
        x,
        measurements,
        fmt=marker,
        color=color,
        capsize=4,
        ms=7,
        lw=2,
        label=label,
        zorder=3,
    )


def group_dots(ax, groups, *, controls=(), rng=None, jitter=0.12):
    """Draw groups of measurements side by side, one column per group.

    ``groups`` maps a name to its values (one per unit, say). Every value is a dot, spread
    sideways at random by up to ``jitter`` (``rng``: a ``numpy.random.Generator``, for
    figures that come out the same every build); beside the dots sit the group's mean and 95 %
    interval (:class:`layerwise.stats.Runs`). Groups named in ``controls`` (untrained networks,
    say) are grey. The x axis is labelled with the names, ", " starting a new line.
    """
    from layerwise import stats

    rng = np.random.default_rng(0) if rng is None else rng
    for x, (name, values) in enumerate(groups.items()):
        colour, mean_colour = ("0.55", "0.3") if name in controls else ("C0", "k")
        ax.scatter(x + rng.uniform(-jitter, jitter, len(values)), values, color=colour, s=14)
        errorbar(ax, [x + 0.28], [stats.Runs(values)], fmt="o", color=mean_colour)
    ax.set_xticks(range(len(groups)), [g.replace(", ", "\n") for g in groups], fontsize=8)
    return ax


def paired_runs(ax, before, after, *, labels=("before", "after"), colors=("0.4", "C0")):
    """Draw one measurement before and after a change, paired by seed.

    ``before`` and ``after`` are :class:`layerwise.stats.Runs` over the same seeds, in the same
    order. Each seed is a thin grey line from its value before to its value after; each side
    gets its mean and 95 % interval (:func:`runs`) in its colour, labelled on the x axis.
    """
    if len(before.values) != len(after.values):
        raise ValueError(
            f"{len(before.values)} runs before but {len(after.values)} after: pair the same seeds."
        )
    for b, a in zip(before.values, after.values, strict=True):
        ax.plot([0, 1], [b, a], color="0.75", lw=1)
    runs(ax, [0], [before], color=colors[0], spread=0)
    runs(ax, [1], [after], color=colors[1], spread=0)
    ax.set(xticks=[0, 1], xticklabels=list(labels), xlim=(-0.5, 1.5))
    return ax


def signed_image(ax, values, *, cmap: str = "RdBu_r"):
    """Draw a map of signed values (a dense unit's weights, a gradient) on ``ax``, symmetric
    about zero: red positive, blue negative, white zero, scaled to the map's own largest
    magnitude; axes off. Returns the image."""
    values = torch.as_tensor(values).detach().cpu()
    lim = float(values.abs().max())
    image = ax.imshow(values.numpy(), cmap=cmap, vmin=-lim, vmax=lim)
    ax.set_axis_off()
    return image


def field_map(ax, values, centre, size, *, color="white", lw=1.0, **imshow):
    """Draw a map over input pixels with a unit's theoretical receptive field outlined.

    ``values`` (H, W) is drawn with ``imshow`` (keyword arguments such as ``cmap``, ``vmin``
    pass through); the dashed square of side ``size`` pixels is centred on ``centre`` = (row,
    column). Used for effective receptive fields, whose mass lies inside the theoretical one.
    Returns the image, for a colourbar.
    """
    from matplotlib.patches import Rectangle

    image = ax.imshow(values, **imshow)
    row, col = centre
    square = (col - size / 2, row - size / 2)
    ax.add_patch(Rectangle(square, size, size, fill=False, ls="--", color=color, lw=lw, zorder=3))
    ax.set_axis_off()
    return image


def architecture(shapes: Sequence[tuple[int, int, int]], names: Sequence[str], ax=None):
    """The picture courses draw of a CNN: one box per layer output, in order.

    ``shapes`` are ``(channels, height, width)`` per output, ``names`` their labels. A box's
    front face is as tall as the map is high and its depth as long as the map is wide (both
    scaled by the square root, so a 4x4 map is still visible next to a 256x256 photograph); its
    thickness grows with the number of channels (log scale). Each box is labelled
    ``C x H x W``. Returns the axes.
    """
    if len(shapes) != len(names):
        raise ValueError(f"{len(shapes)} shapes but {len(names)} names.")
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(1.2 * len(shapes) + 1, 3.4), layout="constrained")
    largest = max(max(h, w) for _, h, w in shapes)
    widest = max(c for c, _, _ in shapes)

    def side(n):  # map size -> drawn length
        return 0.3 + 2.7 * math.sqrt(n / largest)

    x = 0.0
    for i, ((c, h, w), name) in enumerate(zip(shapes, names, strict=True)):
        height, depth = side(h), side(w) * 0.45
        thick = 0.12 + 0.9 * math.log2(c + 1) / math.log2(widest + 1)
        dx, dy = depth * 0.7, depth * 0.5
        colour = plt.cm.viridis(i / max(1, len(shapes) - 1))
        front = [(x, 0), (x + thick, 0), (x + thick, height), (x, height)]
        top = [
            (x, height),
            (x + thick, height),
            (x + thick + dx, height + dy),
            (x + dx, height + dy),
        ]
        right = [
            (x + thick, 0),
            (x + thick + dx, dy),
            (x + thick + dx, height + dy),
            (x + thick, height),
        ]
        for face, shade in ((front, 1.0), (top, 0.8), (right, 0.6)):
            rgb = tuple(shade * v for v in colour[:3])
            ax.add_patch(plt.Polygon(face, facecolor=rgb, edgecolor="k", linewidth=0.6))
        ax.text(x + thick / 2, -0.25, f"{name}\n{c}×{h}×{w}", ha="center", va="top", fontsize=8)
        x += thick + dx + 0.6
    ax.set_xlim(-0.6, x - 0.2)
    ax.set_ylim(-1.0, 3.0 + 0.5 * 0.45 * 3.0 + 0.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def transfer_networks(depth: int, cut: int, ax=None):
    """The four networks for task B that a layer-transfer experiment builds at one cut, drawn
    as rows of blocks (the picture of Yosinski et al., 2014, figure 1).

    Row ``BnB`` copies blocks ``1..cut`` from base B, ``AnB`` from base A (blue and red, the
    colours of the results' figure); without ``+`` the copied blocks stay frozen (hatched), with
    ``+`` they are fine-tuned on B (pale). Blocks past the cut and the classifier start from
    new random weights and train on B (white). Returns the axes.
    """
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch, Rectangle

    from .transfer import VARIANTS

    if not 0 < cut <= depth:
        raise ValueError(f"cut must be in 1..{depth} (the number of blocks), got {cut}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.2, 3.6), layout="constrained")
    source = {"A": "C3", "B": "C0"}
    for row, variant in enumerate(VARIANTS):
        y = len(VARIANTS) - 1 - row
        tuned = variant.endswith("+")
        for block in range(depth + 1):
            classifier = block == depth
            copied = block < cut
            face = to_rgba(source[variant[0]], 0.35 if tuned else 1.0) if copied else "white"
            ax.add_patch(
                Rectangle(
                    (block + 0.08 + 0.25 * classifier, y + 0.12),
                    0.84 - 0.25 * classifier,
                    0.76,
                    facecolor=face,
                    hatch=None if tuned or not copied else "///",
                    edgecolor="k" if copied else "0.45",
                    linewidth=0.8,
                )
            )
        ax.text(-0.15, y + 0.5, variant, ha="right", va="center", fontsize=13, weight="bold")
    for block in range(depth + 1):
        label = "classifier" if block == depth else f"block {block + 1}"
        ax.text(block + 0.5, len(VARIANTS) + 0.05, label, ha="center", va="bottom", fontsize=9)
    ax.plot([cut, cut], [0.02, len(VARIANTS) - 0.02], color="k", ls="--", lw=1.2)
    ax.text(cut, -0.02, f"cut n = {cut}", ha="center", va="top", fontsize=10)
    ax.legend(
        handles=[
            Patch(facecolor=source["A"], label="copied from base A"),
            Patch(facecolor=source["B"], label="copied from base B"),
            Patch(facecolor="0.6", hatch="///", edgecolor="k", label="frozen"),
            Patch(facecolor=to_rgba("0.6", 0.35), edgecolor="k", label="fine-tuned on B (+)"),
            Patch(facecolor="white", edgecolor="0.45", label="new weights, trained on B"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.06),
        ncols=3,
        fontsize=9,
        frameon=False,
    )
    ax.set_xlim(-1.0, depth + 1.05)
    ax.set_ylim(-0.45, len(VARIANTS) + 0.45)
    ax.set_axis_off()
    return ax
