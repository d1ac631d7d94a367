"""The empirical check of the analytic numbers: a layer's field from the support of an input
gradient, in a copy of the model whose weights are positive and whose pools average."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import features
from .analytic import _POINTWISE_MODULES, ReceptiveField, _pair, _pool_geometry, _window_count


class _SumPool(nn.Module):
    """Equal-weight sum over the windows of a max or average pool (same geometry)."""

    def __init__(self, pool: nn.MaxPool2d | nn.AvgPool2d):
        super().__init__()
        self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode = _pool_geometry(
            pool
        )

    def forward(self, x):
        pads = []
        for ax in (1, 0):  # F.pad takes the last axis first
            k, s, p, d = self.kernel[ax], self.stride[ax], self.padding[ax], self.dilation[ax]
            n = x.shape[2 + ax]
            ke = d * (k - 1) + 1
            out = _window_count(n + 2 * p - ke, s, n + p, self.ceil_mode)
            right = max(p, (out - 1) * s + ke - n - p)
            pads += [p, right]
        c = x.shape[1]
        weight = x.new_full((c, 1, *self.kernel), 1.0 / (self.kernel[0] * self.kernel[1]))
        x = F.pad(x, pads)
        return F.conv2d(x, weight, stride=self.stride, dilation=self.dilation, groups=c)


class _ChannelSumConv(nn.Module):
    """Sum the channels, then one single-channel convolution with the geometry of ``conv``."""

    def __init__(self, conv: nn.Conv2d, dtype):
        super().__init__()
        self.conv = nn.Conv2d(
            1,
            1,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            bias=False,
            padding_mode=conv.padding_mode,
            dtype=dtype,
        )
        with torch.no_grad():
            self.conv.weight.fill_(1.0 / self.conv.weight.numel())

    def forward(self, x):
        return self.conv(x.sum(1, keepdim=True))


class _ChannelSum(nn.Module):
    """A linear layer reduced to the sum of its inputs."""

    def forward(self, x):
        return x.sum(-1, keepdim=True)


def _probe(module: nn.Module, dtype) -> nn.Module:
    """A one-channel, linear copy of the model in which every path has positive weight.

    All channels of the copy would carry the same values, so each layer keeps one channel (the
    sum of its inputs): the spatial connections, which decide the support, are unchanged.
    Weights of the original are neither copied nor modified.
    """
    if isinstance(module, nn.Conv2d):
        return _ChannelSumConv(module, dtype)
    if isinstance(module, nn.Linear):
        return _ChannelSum()
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        return _SumPool(module)
    if isinstance(module, _POINTWISE_MODULES):
        return nn.Identity()
    clone = copy.copy(module)
    clone._modules = OrderedDict(
        (name, None if child is None else _probe(child, dtype))
        for name, child in module._modules.items()
    )
    clone.training = False
    return clone


#: Layers of the probe that the tracer keeps whole.
_PROBE_LAYERS = (_SumPool, _ChannelSumConv, _ChannelSum)


def _layer_output(model: nn.Module, layer: str) -> Callable:
    """A function from input to the output of ``layer`` (a module's first call, or any node)."""
    outputs = features.layer_outputs(model, [layer], leaf_modules=_PROBE_LAYERS)
    return lambda x: outputs(x)[layer]


def gradient_receptive_field(
    model: nn.Module,
    layer: str,
    input_size: int | tuple[int, int],
    *,
    dtype: torch.dtype = torch.float64,
) -> ReceptiveField:
    """Measure a layer's receptive field from the support of input gradients.

    In a copy of the model every convolution keeps its geometry (kernel, stride, padding,
    dilation) but gets equal positive weights and no bias; batch normalisation, activations and
    dropout become the identity, max and average pools become equal-weight sums over the same
    windows, and, since all channels would then carry the same values, each layer keeps a single
    channel. The input gradient of a unit is then a sum of positive terms, one per path, so it
    is non-zero exactly on the pixels the unit is connected to. Two neighbouring units near the
    centre of the map give the size (the extent of the support), the stride (how far the support
    moves) and the start.

    Parameters
    ----------
    model : torch.nn.Module
        The model; it is copied, not changed.
    layer : str
        A layer name as listed by :func:`receptive_field`.
    input_size : int or tuple of int
        Height and width of the input; it must be large enough that the field of a centre unit
        and of its neighbour lie inside the image.
    dtype : torch.dtype
        Precision of the computation (double by default, so no path underflows to zero).

    Returns
    -------
    ReceptiveField
        The measured field, to compare with ``receptive_field(model, input_size)[layer]``.

    Raises
    ------
    ValueError
        If the layer is not in the model, its map has fewer than 2x2 units, or the input is too
        small to hold the measured fields.
    """
    input_size = _pair(input_size)
    forward = _layer_output(_probe(model, dtype), layer)
    x = torch.ones(1, 1, *input_size, dtype=dtype, requires_grad=True)
    out = forward(x)
    if out.dim() != 4:
        raise ValueError(f"layer {layer!r} has no spatial map (its output is {out.dim()}-D).")
    h, w = out.shape[2:]
    if h < 2 or w < 2:
        raise ValueError(
            f"the input is too small: layer {layer!r} has a {h}x{w} map, and measuring its "
            "stride needs two units along each axis; use a larger input_size."
        )
    ci, cj = (h - 1) // 2, (w - 1) // 2
    boxes = []
    for i, j in ((ci, cj), (ci + 1, cj + 1)):
        (grad,) = torch.autograd.grad(out[0, :, i, j].sum(), x, retain_graph=True)
        support = grad[0].abs().sum(0) > 0
        rows = support.any(1).nonzero()[:, 0]
        cols = support.any(0).nonzero()[:, 0]
        box = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
        if box[0] == 0 or box[1] == 0 or box[2] == input_size[0] or box[3] == input_size[1]:
            raise ValueError(
                f"the input is too small: the field of unit ({i}, {j}) of layer {layer!r} "
                f"reaches the border of the {input_size[0]}x{input_size[1]} input, so its "
                "size cannot be measured; use a larger input_size."
            )
        boxes.append(box)
    (t0, l0, b0, r0), (t1, l1, _, _) = boxes
    size = (b0 - t0, r0 - l0)
    stride = (t1 - t0, l1 - l0)
    centre = ((t0 + b0 - 1) / 2, (l0 + r0 - 1) / 2)
    start = (centre[0] - ci * stride[0], centre[1] - cj * stride[1])
    return ReceptiveField(size, stride, start, (h, w))
