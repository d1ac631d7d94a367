"""The linear-probe labels of the shapes data's three levels: orientation, parts, object.

:func:`layerwise.data.shapes` gives the ground truth of every level of a line drawing. The
probes of the page "Measuring the hierarchy with linear probes" read three of them out of a
layer, and any network probed on the same labels (the small CNN, an ImageNet network) is
measured the same way:

* **orientation**: the dominant stroke orientation in each of the four central cells of the
  4x4 grid (five classes including "empty"), one probe per cell;
* **parts**: a corner, a junction or a curve in the clutter, only on images whose object lacks
  that part (so the label does not follow from the class; other images are labelled ``-1``,
  which :func:`layerwise.similarity.probe_layers` leaves out), one probe per part;
* **object**: the eight classes.

>>> labels = probe_labels(drawings, n_train=2000)                       # doctest: +SKIP
>>> rows = similarity.probe_layers(net, x_tr, x_te, layers, labels)      # doctest: +SKIP
>>> accuracy, chance = level_accuracy(rows, layers)                     # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["CELLS", "HAS", "LEVELS", "PARTS", "clutter_part", "level_accuracy", "probe_labels"]

#: The levels of the hierarchy, from local to global.
LEVELS = ("orientation", "parts", "object")
#: The parts probed in the clutter.
PARTS = ("corner", "junction", "curve")
#: The objects that contain each part themselves.
HAS = {
    "corner": {"square", "triangle", "ell"},
    "junction": {"plus", "tee"},
    "curve": {"circle", "arc"},
}
#: The central cells of the 4x4 orientation grid.
CELLS = ((1, 1), (1, 2), (2, 1), (2, 2))


def clutter_part(drawings, part: str, split: str = "train") -> torch.Tensor:
    """1/0: the clutter holds ``part``, for images whose object lacks it; -1 for the others."""
    truth = drawings.labels_train if split == "train" else drawings.labels_test
    y = drawings.y_train if split == "train" else drawings.y_test
    label = truth[part].clone().long()
    owners = torch.tensor([drawings.classes.index(c) for c in HAS[part]])
    label[torch.isin(y, owners)] = -1
    return label


def probe_labels(drawings, n_train: int | None = None, n_test: int | None = None) -> dict:
    """Label name -> (train labels, test labels) for every probe, on the first ``n_train``
    training and ``n_test`` test images (default: all). Names start with their level."""
    tr, te = slice(n_train), slice(n_test)
    labels = {"object": (drawings.y_train[tr], drawings.y_test[te])}
    for r, c in CELLS:
        labels[f"orientation {r}{c}"] = (
            drawings.labels_train["orientation"][tr, r, c],
            drawings.labels_test["orientation"][te, r, c],
        )
    for part in PARTS:
        labels[f"parts {part}"] = (
            clutter_part(drawings, part, "train")[tr],
            clutter_part(drawings, part, "test")[te],
        )
    return labels


def level_accuracy(rows, layers) -> tuple[np.ndarray, np.ndarray]:
    """(layers, levels) test accuracy and chance from :func:`~layerwise.similarity.probe_layers`'
    rows, each level the mean over its probes."""
    acc = np.zeros((len(layers), len(LEVELS)))
    chance = np.zeros((len(layers), len(LEVELS)))
    for i, layer in enumerate(layers):
        for j, level in enumerate(LEVELS):
            mine = [r for r in rows if r.layer == layer and r.label.split()[0] == level]
            if not mine:
                raise ValueError(f"no probe of level {level!r} at layer {layer!r}.")
            acc[i, j] = np.mean([r.test_accuracy for r in mine])
            chance[i, j] = np.mean([r.chance for r in mine])
    return acc, chance
