"""Generated line drawings built from parts (strokes -> corners and junctions -> shapes), with
the ground truth of every level."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import Dataset, split_standardised


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
# Public, and documented, as layerwise.data.SHAPE_CLASSES.
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
    ``labels_train`` / ``labels_test``:

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
    truth = {"orientation": grid}
    truth.update({name: torch.from_numpy(has[:, j]) for j, name in enumerate(_PART_NAMES)})
    return split_standardised(
        f"shapes(size={size}, distractors={distractors}, seed={seed})",
        x,
        y,
        n_train,
        SHAPE_CLASSES,
        truth,
    )
