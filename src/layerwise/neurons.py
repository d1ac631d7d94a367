"""Individual units: making them clones, comparing them, matching them across networks.

* :func:`clone_units` -- give every unit of a dense layer the same weights (the symmetric start
  that random initialisation exists to avoid);
* :func:`unit_similarity` -- pairwise cosine similarity of a layer's units (their weights);
* :func:`unit_correlations` and :func:`match_units` -- do the units of two networks trained
  from different seeds correspond one to one? (Li et al., 2016, "Convergent learning").

Layer-level comparisons (CKA) and probes are in :mod:`layerwise.similarity`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["UnitMatch", "clone_units", "match_units", "unit_correlations", "unit_similarity"]


@torch.no_grad()
def clone_units(model: nn.Module, layer: str, next_layer: str) -> nn.Module:
    """Make every unit of the dense ``layer`` a copy of its first unit, in place.

    Unit ``i``'s incoming weights and bias are set to unit 0's, and the weights that
    ``next_layer`` gives to every unit are set to those it gives unit 0. From then on the units
    are interchangeable: they compute the same value and receive the same gradient, so
    gradient descent can never tell them apart. Returns ``model``.
    """
    layers = dict(model.named_modules())
    for name in (layer, next_layer):
        if not isinstance(layers.get(name), nn.Linear):
            raise ValueError(f"{name!r} is not a dense (Linear) layer of the model.")
    first, second = layers[layer], layers[next_layer]
    if second.in_features != first.out_features:
        raise ValueError(f"{next_layer!r} does not take {layer!r}'s output as its input.")
    first.weight.copy_(first.weight[:1].expand_as(first.weight))
    if first.bias is not None:
        first.bias.fill_(first.bias[0].item())
    second.weight.copy_(second.weight[:, :1].expand_as(second.weight))
    return model


def unit_similarity(weights: torch.Tensor) -> torch.Tensor:
    """Cosine similarity between every pair of units, from their incoming ``weights``.

    ``weights``: one row per unit (e.g. a :class:`~torch.nn.Linear` layer's ``weight``), any
    shape after the first axis. Returns a (units, units) matrix; 1 on the diagonal.
    """
    w = weights.detach().double().cpu().flatten(1)
    w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return w @ w.T


def _unit_matrix(x) -> torch.Tensor:
    """Activations as (samples, units): spatial or time positions count as samples."""
    t = torch.as_tensor(x).detach().double().cpu()
    if t.dim() < 2:
        raise ValueError(f"activations need one row per input; got shape {tuple(t.shape)}.")
    return t.movedim(1, -1).reshape(-1, t.shape[1])


def unit_correlations(a, b) -> torch.Tensor:
    """Pearson correlation between every unit of ``a`` and every unit of ``b``.

    ``a``, ``b``: activations of two layers for the same inputs, (N, units) or
    (N, channels, ...); for feature maps every position counts as a sample, so a channel is one
    unit. Returns (units of ``a``, units of ``b``); a unit that never varies correlates 0.
    """
    xa, xb = _unit_matrix(a), _unit_matrix(b)
    if len(xa) != len(xb):
        raise ValueError(
            "a and b must hold activations of the same inputs (same shape but units)."
        )
    xa = xa - xa.mean(0)
    xb = xb - xb.mean(0)
    xa = xa / xa.norm(dim=0).clamp_min(1e-12)
    xb = xb / xb.norm(dim=0).clamp_min(1e-12)
    return xa.T @ xb


@dataclass(frozen=True)
class UnitMatch:
    """How the units of one layer match those of another.

    ``best``: for each unit of the first layer, its highest correlation with any unit of the
    second. ``one_to_one``: the correlations of the one-to-one pairing that maximises their sum
    (each unit used once), and ``pairs`` the (first, second) unit indices of that pairing.
    """

    best: torch.Tensor
    one_to_one: torch.Tensor
    pairs: torch.Tensor


def match_units(a, b) -> UnitMatch:
    """Match every unit of activations ``a`` to a unit of ``b`` by correlation.

    See :func:`unit_correlations` for the shapes; the one-to-one pairing is the Hungarian
    assignment (``scipy.optimize.linear_sum_assignment``).
    """
    from scipy.optimize import linear_sum_assignment

    corr = unit_correlations(a, b)
    rows, cols = linear_sum_assignment(corr.numpy(), maximize=True)
    pairs = torch.from_numpy(np.stack([rows, cols], axis=1))
    return UnitMatch(best=corr.max(dim=1).values, one_to_one=corr[rows, cols], pairs=pairs.long())
