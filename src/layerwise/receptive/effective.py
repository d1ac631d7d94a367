"""The *effective* receptive field of Luo et al. (2016): how strongly each input pixel
influences a centre unit, averaged over random inputs (and initialisations)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .. import features
from .analytic import _pair


def _in_channels(model: nn.Module) -> int:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    raise ValueError("the model has no Conv2d layer to read its number of input channels from.")


@dataclass(frozen=True)
class EffectiveReceptiveField:
    """How strongly each input pixel influences a centre unit (Luo et al., 2016).

    Attributes
    ----------
    map : torch.Tensor
        (height, width) mean absolute input gradient of the centre unit, scaled to sum to 1.
    centre : tuple of float
        Centroid of the map in pixel coordinates.
    std : tuple of float
        Standard deviation of the map around its centroid along each axis: the width of the
        Gaussian with the same second moments.
    unit : tuple of int
        The unit of the layer's map whose gradient was taken.
    """

    map: torch.Tensor
    centre: tuple[float, float]
    std: tuple[float, float]
    unit: tuple[int, int]


def effective_receptive_field(
    model: nn.Module | Callable[[], nn.Module],
    layer: str,
    input_size: int | tuple[int, int],
    *,
    n_samples: int = 16,
    inputs: torch.Tensor | None = None,
    seed: int = 0,
) -> EffectiveReceptiveField:
    """The effective receptive field of a layer's centre unit, averaged over random inputs.

    For each sample the gradient of the centre unit (all channels at the centre position
    together, as in Luo et al.) with respect to the input is taken; the absolute values are
    summed over input channels and averaged over samples.

    Parameters
    ----------
    model : torch.nn.Module or callable
        A model, used in eval mode; or a function that builds a freshly initialised model, called
        once per sample so the average is also over initialisations.
    layer : str
        A layer name as listed by :func:`receptive_field`.
    input_size : int or tuple of int
        Height and width of the random inputs.
    n_samples : int
        Number of random inputs (standard normal), unless ``inputs`` are given.
    inputs : torch.Tensor, optional
        (N, channels, height, width) inputs to use instead of random ones.
    seed : int
        Seed of the random inputs (and of the initialisations when ``model`` is a function).

    Returns
    -------
    EffectiveReceptiveField
        The normalised map with its centroid and width.
    """
    input_size = _pair(input_size)
    generator = torch.Generator().manual_seed(seed)
    factory = model if not isinstance(model, nn.Module) else None
    if inputs is None:
        channels = _in_channels(model if factory is None else factory())
        inputs = torch.randn(n_samples, channels, *input_size, generator=generator)
    total = torch.zeros(inputs.shape[2:], dtype=torch.float64)
    # One network for all inputs (processed together: samples do not interact in eval mode),
    # or a fresh network per input.
    groups = [range(len(inputs))] if factory is None else [[s] for s in range(len(inputs))]
    for group in groups:
        if factory is not None:
            torch.manual_seed(seed * 100003 + group[0])
            net = factory()
        else:
            net = model
        was_training = net.training
        net.eval()
        dev = next(net.parameters()).device
        x = inputs[list(group)].to(dev).clone().requires_grad_(True)
        out = features.layer_outputs(net, [layer])(x)[layer]
        if out.dim() != 4:
            raise ValueError(f"layer {layer!r} has no spatial map (its output is {out.dim()}-D).")
        h, w = out.shape[2:]
        unit = ((h - 1) // 2, (w - 1) // 2)
        (grad,) = torch.autograd.grad(out[:, :, unit[0], unit[1]].sum(), x)
        total += grad.abs().sum((0, 1)).detach().cpu().double()
        net.train(was_training)
    if not total.sum() > 0:
        raise ValueError(
            f"the input gradient of the centre unit of layer {layer!r} is zero for every sample "
            "(its ReLUs are off); use more samples or an initialisation that keeps them alive."
        )
    erf = total / total.sum()
    rows = torch.arange(erf.shape[0], dtype=erf.dtype)
    cols = torch.arange(erf.shape[1], dtype=erf.dtype)
    py, px = erf.sum(1), erf.sum(0)
    cy, cx = float((py * rows).sum()), float((px * cols).sum())
    sy = math.sqrt(float((py * (rows - cy) ** 2).sum()))
    sx = math.sqrt(float((px * (cols - cx) ** 2).sum()))
    return EffectiveReceptiveField(erf.float(), (cy, cx), (sy, sx), unit)
