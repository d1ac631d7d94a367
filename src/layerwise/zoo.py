"""The networks several pages share, each defined once.

A network studied on more than one page -- the photo-patch CNN appears in the first chapter, in
most of "What each layer learns" and on the synthesis page -- is described here as a
:class:`Recipe`: its dataset, its architecture and its training schedule. Every page that asks
for it gets the same arguments, so :func:`layerwise.train.fit` finds the same model-cache entry
and the network is trained once per build.

>>> recipe = photo_cnn()                                  # doctest: +SKIP
>>> model = recipe.fit(seed=0).model                      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import data as _data
from . import models, runtime, train

__all__ = ["Halves", "Recipe", "photo_cnn", "photo_halves"]


@dataclass(frozen=True)
class Recipe:
    """A dataset, a model configuration and a training schedule: what :func:`~layerwise.train.fit`
    needs to produce one trained network."""

    data: _data.Dataset
    config: models.CNNConfig
    schedule: train.TrainConfig

    def fit(self, seed: int = 0, **kwargs) -> train.FitResult:
        """Train (or load from the model cache) the network with ``seed``.

        Keyword arguments go to :func:`layerwise.train.fit` (for example ``verbose=False``).
        """
        return train.fit(self.config, self.data, self.schedule, seed=seed, **kwargs)


def photo_cnn() -> Recipe:
    """The photo-patch CNN: which of twelve photographs is a 32x32 patch cut from?

    Three convolution blocks (32, 64 and 128 channels; a 7x7 stride-2 first layer, like a
    scaled-down AlexNet, then two 3x3 layers) trained with colour jitter, so that the mean
    colour of a patch is an unreliable cue, and with the first layer started at 5 % of PyTorch's
    usual scale, so that short training does not leave the filters covered in their initial
    noise. Batch normalisation follows the layer, so the scale changes nothing in the forward
    pass, but it changes training: Adam's steps have about the same size whatever the weights'
    scale, so small initial weights are soon outweighed by what the gradient adds. Sizes follow
    the build profile (:func:`layerwise.runtime.pick`).
    """
    patches = _data.photo_patches(
        size=32,
        n_train=runtime.pick(quick=1200, default=12000, full=40000),
        n_test=runtime.pick(quick=600, default=2400, full=6000),
    )
    config = models.CNNConfig(
        in_channels=3,
        num_classes=patches.num_classes,
        widths=(32, 64, 128),
        kernel_sizes=(7, 3, 3),
        strides=(2, 1, 1),
        conv1_init_scale=0.05,
    )
    schedule = train.TrainConfig(
        epochs=runtime.pick(quick=2, default=12, full=30), lr=3e-3, augment="flip+color"
    )
    return Recipe(patches, config, schedule)


@dataclass(frozen=True)
class Halves:
    """Two disjoint halves A and B of a dataset's classes, and how the transfer pages train on
    them: one architecture (its classifier sized per half), one schedule and the seeds."""

    a: _data.Dataset
    b: _data.Dataset
    config: models.CNNConfig
    schedule: train.TrainConfig
    seeds: range


def photo_halves(split: str = "random") -> Halves:
    """The photo patches of :func:`photo_cnn` at 16x16, their twelve classes split in two.

    ``split="random"`` draws six photographs for A (a fixed permutation, seed 0) and gives B the
    other six, as Yosinski et al. (2014) split ImageNet. ``split="dissimilar"`` is semantic: A
    is the eight colour photographs, B the four grey-scale ones (brick, grass, gravel, the
    cameraman). The network is the three-block CNN of :class:`~layerwise.models.CNNConfig`,
    narrow in the quick and default profiles; every network -- bases and variants -- gets the
    same schedule.
    """
    patches = _data.photo_patches(
        size=16,
        n_train=runtime.pick(quick=360, default=1200, full=12000),
        n_test=runtime.pick(quick=240, default=1200, full=3000),
    )
    if split == "random":
        order = torch.randperm(patches.num_classes, generator=torch.Generator().manual_seed(0))
        a, b = order[:6].tolist(), order[6:].tolist()
    elif split == "dissimilar":
        a, b = range(8), range(8, 12)
    else:
        raise ValueError(f"split must be 'random' or 'dissimilar', got {split!r}.")
    config = models.CNNConfig(
        in_channels=3,
        widths=runtime.pick(quick=(8, 16, 32), default=(8, 16, 32), full=(32, 64, 128)),
    )
    schedule = train.TrainConfig(
        epochs=runtime.pick(quick=2, default=5, full=15), batch_size=32, lr=3e-3
    )
    seeds = range(runtime.pick(quick=1, default=3, full=5))
    return Halves(patches.select_classes(a), patches.select_classes(b), config, schedule, seeds)
