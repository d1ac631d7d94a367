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

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import data as _data
from . import models, runtime, train

__all__ = ["Halves", "Recipe", "mnist1d_halves", "photo_cnn", "prepare", "recipes"]


@dataclass(frozen=True)
class Recipe:
    """A dataset, a model configuration and a training schedule: what :func:`~layerwise.train.fit`
    needs to produce one trained network."""

    data: _data.Dataset
    config: models.CNNConfig
    schedule: train.Schedule

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
    schedule = train.Schedule(
        epochs=runtime.pick(quick=2, default=12, full=30), lr=3e-3, augment="flip+color"
    )
    return Recipe(patches, config, schedule)


def recipes() -> dict[str, Callable[[], Recipe]]:
    """The shared networks of this module, by the name of the function that describes each."""
    return {"photo_cnn": photo_cnn}


def prepare(name: str, seed: int) -> bool:
    """Put seed ``seed`` of the shared network ``name`` (one of :func:`recipes`) in the model
    cache, as its pages ask for it; returns whether it had to be trained.

    It is trained by :func:`layerwise.snapshots.fit_with_snapshots`, which also keeps the
    weights after every epoch (the page on which layers settle first reads them) and caches the
    final network, which :meth:`Recipe.fit` then loads. A site build calls this for every seed
    before the pages that use the network run, the seeds side by side in its worker processes.
    """
    from . import snapshots

    recipe = recipes()[name]()
    args = (recipe.config, recipe.data, recipe.schedule)
    if snapshots.is_cached(*args, seed=seed):
        return False
    snapshots.fit_with_snapshots(*args, seed=seed, verbose=False)
    return True


@dataclass(frozen=True)
class Halves:
    """Two disjoint halves A and B of a dataset's classes, and how the transfer pages train on
    them: one architecture (its classifier sized per half), the schedules and the seeds.

    Base A learns from all of A. B is the few-label task: base B and every transferred network
    learn from :meth:`b_labelled` (``labels_per_class`` examples per class, drawn per seed) and
    are tested on all of B's test set. ``schedule`` trains base B and the frozen variants,
    ``fine_tune`` (a lower learning rate) the fine-tuned ones.
    """

    a: _data.Dataset
    b: _data.Dataset
    config: models.CNN1dConfig
    base_schedule: train.Schedule
    schedule: train.Schedule
    fine_tune: train.Schedule
    labels_per_class: int
    seeds: list[int]

    def b_labelled(self, seed: int) -> _data.Dataset:
        """B with ``labels_per_class`` labelled training signals per class, drawn with ``seed``."""
        return self.b.subset(self.labels_per_class * self.b.num_classes, seed=seed)


def mnist1d_halves() -> Halves:
    """MNIST-1D (:func:`layerwise.data.mnist1d`) split into two random halves of five digits.

    As Yosinski et al. (2014) split ImageNet: a fixed random permutation (seed 0) gives five
    digits to A and the other five to B. The network is a six-block 1-D CNN (16 channels, kernels
    of 5 samples, a max-pool by 2 after every second block: 40 -> 20 -> 10 -> 5 samples), deep
    enough to have a middle. Base A is trained on all of A's ~2,000 training signals until it
    fits them; B has 10 labelled signals per class, all 50 in every batch, trained for 40 steps
    at a learning rate of 0.01, high enough that a new classifier on frozen features fits them
    too; fine-tuning runs at a third of that rate. Sizes follow
    the build profile.
    """
    signals = _data.mnist1d()
    order = torch.randperm(signals.num_classes, generator=torch.Generator().manual_seed(0))
    a, b = order[:5].tolist(), order[5:].tolist()
    config = models.CNN1dConfig(
        widths=(16,) * 6, kernel_sizes=(5,) * 6, pools=(False, True) * 3, pool_size=2
    )
    base_schedule = train.Schedule(
        epochs=runtime.pick(quick=2, default=6, full=20), batch_size=64, lr=3e-3
    )
    schedule = train.Schedule(
        epochs=runtime.pick(quick=5, default=40, full=80), batch_size=50, lr=1e-2
    )
    return Halves(
        a=signals.select_classes(a),
        b=signals.select_classes(b),
        config=config,
        base_schedule=base_schedule,
        schedule=schedule,
        fine_tune=dataclasses.replace(schedule, lr=schedule.lr / 3),
        labels_per_class=10,
        seeds=runtime.seeds(5),
    )
