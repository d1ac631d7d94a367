"""Transfer learning layer by layer: copy the first ``n`` blocks of a network into another.

"Layer ``n``" of a :class:`~layerwise.models.CNNConfig` or :class:`~layerwise.models.CNN1dConfig`
network is its ``n``-th convolution block: ``conv{n}``, ``bn{n}`` (and the parameter-free
``relu{n}`` and ``pool{n}``).

* :func:`block_layers` -- the named layers with weights that make up blocks ``1..n``;
* :func:`copy_blocks` -- a copy of those weights, ready for ``fit(init_state=...)``;
* :func:`fit_base` -- train a base network from scratch on one half, :func:`fit_bases` both
  (from different initial weights: :func:`base_seed`);
* :func:`fit_transfer` -- train a network whose first ``n`` blocks come from another one, frozen
  or fine-tuned, the rest freshly initialised; :func:`fit_transfers` the same for several
  seeds at once;
* :func:`layer_transfer` -- the experiment of Yosinski et al. (2014): base networks on two
  halves A and B of the classes, then for every cut ``n`` the variants BnB, BnB+, AnB and AnB+,
  returned as a tidy table of :class:`TransferRow`;
* :func:`runs` -- such a table as one :class:`~layerwise.stats.Runs` per variant and cut, in
  seed order, so that variants compare paired.

Everything trains through :func:`layerwise.train.fit`, or :func:`layerwise.train.fit_seeds`
(which caches under ``fit``'s keys), so the base networks and every variant are shared through
the model cache between pages.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from . import stats as _stats
from . import train
from .data import Dataset
from .models import CNN1dConfig, CNNConfig

__all__ = [
    "SEED_OFFSET",
    "VARIANTS",
    "TransferRow",
    "BASE_B_OFFSET",
    "base_seed",
    "block_layers",
    "copy_blocks",
    "fit_base",
    "fit_bases",
    "fit_transfer",
    "fit_transfers",
    "layer_transfer",
    "runs",
]

#: The four variants of Yosinski et al. (2014). ``B`` or ``A`` says where the first ``n`` blocks
#: come from, ``+`` that they are fine-tuned rather than frozen; the rest is trained on B.
VARIANTS = ("BnB", "BnB+", "AnB", "AnB+")

#: Offset added to the base seed for the networks built on copied blocks, so that their new upper
#: layers never start from the same random weights as the base network they were cut from.
SEED_OFFSET = 10_000

#: Offset added to the seed of base network B, so that base A and base B of one seed start from
#: different random weights, as two independently trained networks should.
BASE_B_OFFSET = 5_000


def base_seed(half: str, seed: int) -> int:
    """The seed of base network ``half`` (``"A"`` or ``"B"``) in repetition ``seed``."""
    if half not in ("A", "B"):
        raise ValueError(f"half must be 'A' or 'B', got {half!r}.")
    return seed + (BASE_B_OFFSET if half == "B" else 0)


@dataclass(frozen=True)
class TransferRow:
    """One trained network of a transfer experiment and its test accuracy on B.

    ``variant`` is one of :data:`VARIANTS`, or ``"base"`` (``n = 0``) for the base network
    trained on B from scratch.
    """

    variant: str
    n: int
    seed: int
    accuracy: float


def _blocks(model_or_config) -> int:
    config = getattr(model_or_config, "config", model_or_config)
    if not isinstance(config, CNNConfig | CNN1dConfig):
        raise TypeError(
            "transfer works on CNNConfig and CNN1dConfig networks (blocks conv1, bn1, ...); "
            f"got {type(config).__name__}."
        )
    return config.depth


def block_layers(model_or_config, n: int) -> tuple[str, ...]:
    """Names of the top-level layers with weights in convolution blocks ``1..n``.

    Parameters
    ----------
    model_or_config
        A model built from a :class:`~layerwise.models.CNNConfig`, or the configuration.
    n
        How many blocks, from 0 (none) to the network's depth.

    Returns
    -------
    tuple of str
        ``("conv1", "bn1", ..., f"conv{n}", f"bn{n}")`` (no ``bn`` without batch norm).
    """
    depth = _blocks(model_or_config)
    if not 0 <= n <= depth:
        raise ValueError(f"n must be in 0..{depth} (the number of conv blocks), got {n}.")
    config = getattr(model_or_config, "config", model_or_config)
    names = []
    for i in range(1, n + 1):
        names.append(f"conv{i}")
        if config.batchnorm:
            names.append(f"bn{i}")
    return tuple(names)


def copy_blocks(source: nn.Module, n: int) -> dict[str, torch.Tensor]:
    """A copy of the weights (and batch-norm statistics) of ``source``'s blocks ``1..n``.

    The result is a partial state dict on the CPU, e.g. for
    ``fit(config, data, init_state=copy_blocks(base, n))``; later changes to ``source`` do not
    affect it.
    """
    prefixes = tuple(f"{name}." for name in block_layers(source, n))
    return {
        k: v.detach().cpu().clone()
        for k, v in source.state_dict().items()
        if k.startswith(prefixes)
    }


def fit_base(
    config,
    data: Dataset,
    schedule: train.Schedule | None = None,
    *,
    seed: int = 0,
    verbose: bool = False,
) -> train.FitResult:
    """Train ``config``'s network from scratch on ``data``, its ``num_classes`` set to ``data``'s:
    the base networks of :func:`layer_transfer` (shared with it through the model cache)."""
    return train.fit(_sized(config, data), data, schedule, seed=seed, verbose=verbose)


def _sized(config, data: Dataset):
    """``config`` with as many classes as ``data`` has."""
    return dataclasses.replace(config, num_classes=data.num_classes)


def fit_transfer(
    config,
    source: nn.Module,
    data: Dataset,
    n: int,
    schedule: train.Schedule | None = None,
    *,
    fine_tune: bool,
    seed: int = 0,
    verbose: bool = False,
) -> train.FitResult:
    """Train ``config``'s network on ``data`` with its first ``n`` blocks copied from ``source``.

    Parameters
    ----------
    config
        The network to train; its ``num_classes`` is set to ``data``'s. Blocks ``1..n`` must have
        the same shapes as ``source``'s.
    source
        The network whose first ``n`` blocks are copied.
    data
        What the new network is trained (and tested) on.
    n
        Number of blocks to copy (0 trains from scratch).
    schedule
        The training schedule for :func:`layerwise.train.fit`.
    fine_tune
        Train the copied blocks too (the ``+`` variants) instead of freezing them; frozen blocks
        also keep their batch-norm statistics.
    seed
        Seed for the new layers' initial weights and the batch order.
    verbose
        Passed to :func:`layerwise.train.fit`.

    Returns
    -------
    layerwise.train.FitResult
        As :func:`layerwise.train.fit` (cached like any other training run).
    """
    return fit_transfers(
        config, source, data, n, schedule, fine_tune=fine_tune, seeds=[seed], verbose=verbose
    )[0]


def fit_transfers(
    config,
    sources: nn.Module | Sequence[nn.Module],
    data: Dataset | Sequence[Dataset],
    n: int,
    schedule: train.Schedule | None = None,
    *,
    fine_tune: bool,
    seeds,
    verbose: bool = False,
) -> list[train.FitResult]:
    """:func:`fit_transfer` for every seed of ``seeds``, seed ``seeds[i]`` copying from
    ``sources[i]`` and learning from ``data[i]`` (or one source, or one dataset, for all).

    The seeds train side by side in one vectorised model (:func:`layerwise.train.fit_seeds`
    with ``together=True``), each as :func:`fit_transfer` would train it alone, and are cached
    under the same keys. The few-label networks of the transfer pages took half the time that
    way on 2 CPU cores.
    """
    seeds = list(seeds)
    sources = [sources] * len(seeds) if isinstance(sources, nn.Module) else list(sources)
    config = _sized(config, data[0] if isinstance(data, Sequence) else data)
    return train.fit_seeds(  # it pairs the seeds with one dataset, or with one each
        config,
        data,
        schedule,
        seeds,
        init_states=[copy_blocks(source, n) if n else None for source in sources],
        freeze=() if fine_tune else block_layers(config, n),
        together=True,
        verbose=verbose,
    )


def fit_bases(
    config,
    data_a: Dataset,
    data_b: Dataset,
    schedule_a: train.Schedule | None = None,
    schedule_b: train.Schedule | None = None,
    *,
    seed: int = 0,
    verbose: bool = False,
) -> tuple[train.FitResult, train.FitResult]:
    """Base networks A and B of repetition ``seed``: each trained from scratch on its half, from
    different initial weights (:func:`base_seed`). ``schedule_b`` defaults to ``schedule_a``."""
    base_a = fit_base(config, data_a, schedule_a, seed=base_seed("A", seed), verbose=verbose)
    base_b = fit_base(
        config, data_b, schedule_b or schedule_a, seed=base_seed("B", seed), verbose=verbose
    )
    return base_a, base_b


def layer_transfer(
    config,
    data_a: Dataset,
    data_b: Dataset | Callable[[int], Dataset],
    schedule: train.Schedule | None = None,
    *,
    schedule_a: train.Schedule | None = None,
    fine_tune: train.Schedule | None = None,
    seeds=(0,),
    cuts=None,
    variants=VARIANTS,
    verbose: bool = False,
) -> list[TransferRow]:
    """The layer-by-layer transfer experiment of Yosinski et al. (2014), on B's test set.

    For each seed, base networks are trained from scratch on A and on B (:func:`fit_bases`, from
    different initial weights). Then for every cut ``n``, a network is trained on B whose first
    ``n`` blocks are copied from base B (``BnB``) or base A (``AnB``), frozen or fine-tuned
    (``+``); its other layers start from random weights drawn with ``seed + SEED_OFFSET``.
    The seeds of each network train side by side (:func:`fit_transfers`), each as it would
    alone, under the model-cache keys :func:`fit_bases` and :func:`fit_transfer` use.

    Parameters
    ----------
    config
        The architecture (:class:`~layerwise.models.CNNConfig` or
        :class:`~layerwise.models.CNN1dConfig`); ``num_classes`` is set per dataset.
    data_a
        What base A is trained on.
    data_b
        What base B and every variant are trained (and tested) on: a dataset, or a function of
        the seed returning one (e.g. a few labelled examples per class, drawn anew per seed).
    schedule
        The training schedule of base B and of the frozen variants.
    schedule_a
        Base A's training schedule (default: ``schedule``).
    fine_tune
        The training schedule of the fine-tuned variants ``BnB+`` and ``AnB+``, e.g. a
        lower learning rate (default: ``schedule``).
    seeds
        One repetition of the whole experiment per seed.
    cuts
        The values of ``n`` (default: every block, ``1..depth``).
    variants
        Which of :data:`VARIANTS` to train (``AnB`` alone needs no ``BnB`` networks).
    verbose
        Print a line per trained network.

    Returns
    -------
    list of TransferRow
        One row per network: the base B network (``variant="base"``, ``n=0``) and every
        variant and cut, for every seed, with its test accuracy on B.
    """
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}.")
    b_of = data_b if callable(data_b) else (lambda _seed: data_b)
    depth = _blocks(config)
    cuts = tuple(cuts) if cuts is not None else tuple(range(1, depth + 1))
    for n in cuts:
        block_layers(config, n)  # validates n
    seeds = list(seeds)
    bs = [b_of(seed) for seed in seeds]
    for b in bs:
        if data_a.x_train.shape[1:] != b.x_train.shape[1:]:
            raise ValueError("data_a and data_b must have inputs of the same shape.")
    # The seeds of each network train together (train.fit_seeds), each as it would alone.
    base_a = train.fit_seeds(
        _sized(config, data_a),
        data_a,
        schedule_a or schedule,
        [base_seed("A", seed) for seed in seeds],
        together=True,
        verbose=verbose,
    )
    base_b = train.fit_seeds(
        _sized(config, bs[0]),
        bs,
        schedule,
        [base_seed("B", seed) for seed in seeds],
        together=True,
        verbose=verbose,
    )
    bases = {"A": [r.model for r in base_a], "B": [r.model for r in base_b]}
    accuracy = {}
    for n in cuts:
        for variant in variants:
            plus = variant.endswith("+")
            results = fit_transfers(
                config,
                bases[variant[0]],
                bs,
                n,
                (fine_tune or schedule) if plus else schedule,
                fine_tune=plus,
                seeds=[seed + SEED_OFFSET for seed in seeds],
                verbose=verbose,
            )
            for seed, result in zip(seeds, results, strict=True):
                accuracy[variant, n, seed] = result.test_accuracy
    rows: list[TransferRow] = []
    for i, seed in enumerate(seeds):
        rows.append(TransferRow("base", 0, seed, base_b[i].test_accuracy))
        rows.extend(TransferRow(v, n, seed, accuracy[v, n, seed]) for n in cuts for v in variants)
    return rows


def runs(rows) -> dict[tuple[str, int], _stats.Runs]:
    """The accuracies of a :func:`layer_transfer` table per ``(variant, n)``, over seeds.

    Each is a :class:`~layerwise.stats.Runs` in seed order with its seeds, so that two variants
    compare with :func:`~layerwise.stats.paired`.
    """
    groups: dict[tuple[str, int], dict[int, float]] = defaultdict(dict)
    for row in rows:
        groups[(row.variant, row.n)][row.seed] = row.accuracy
    return {
        key: _stats.Runs([acc[s] for s in sorted(acc)], sorted(acc)) for key, acc in groups.items()
    }
