"""Intermediate outputs: what each layer of a network computes for an input.

Built on torchvision's :func:`~torchvision.models.feature_extraction.create_feature_extractor`
(symbolic tracing), so any layer of any traceable model can be read by its qualified name, with
no hand-written forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "TopActivations",
    "check_layers",
    "crop",
    "extract",
    "layer_names",
    "layer_outputs",
    "top_activations",
    "top_activations_of_layers",
]


def layer_names(model: nn.Module, kind: type[nn.Module] | tuple[type[nn.Module], ...] = nn.Module):
    """Qualified names of the model's leaf layers, in order, optionally only of one ``kind``."""
    return [
        name
        for name, m in model.named_modules()
        if name and not list(m.children()) and isinstance(m, kind)
    ]


@torch.no_grad()
def extract(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str],
    *,
    batch_size: int = 256,
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Outputs of the named ``layers`` for inputs ``x``, in eval mode, batched.

    Returns a dict from layer name to a tensor with one row per input, on ``x``'s device. For a
    convolution layer the shape is (N, channels, height, width).

    ``reduce``, if given, is applied to each batch's output of each layer (one row per input
    in, one row per input out), and only what it returns is kept: e.g.
    ``reduce=lambda a: a.amax(dim=(2, 3))`` for each channel's peak, without holding every
    feature map. The outputs it sees may be stored channels innermost: the model runs in the
    layout it trains in (:func:`layerwise.train.memory_format`).

    Raises
    ------
    ValueError
        If a name is not a layer of the model.
    """
    # Each batch is copied into an output allocated once, at its full size: no list of chunks
    # to concatenate (which would hold every output twice and touch twice the memory).
    result: dict[str, torch.Tensor] = {}
    start = 0
    for out in _batched_outputs(model, x, layers, batch_size):
        for name in layers:
            part = out[name] if reduce is None else reduce(out[name])
            if name not in result:
                result[name] = torch.empty(
                    (len(x), *part.shape[1:]), dtype=part.dtype, device=x.device
                )
            result[name][start : start + len(part)] = part
        start += batch_size
    return result


def check_layers(
    model: nn.Module, layers: Sequence[str], *, leaf_modules: Sequence[type] = ()
) -> None:
    """Raise a ValueError naming the ``layers`` that are not layers of the model.

    A layer is a module of the model (by qualified name) or, in a model that :mod:`torch.fx`
    can trace, any node of its graph as torchvision names it (``relu_1``: the second call);
    ``leaf_modules`` are module types the tracer keeps whole.
    """
    known = {name for name, _ in model.named_modules() if name}
    unknown = [name for name in layers if name not in known]
    if unknown:
        from torchvision.models.feature_extraction import get_graph_node_names

        try:
            tracer = {"leaf_modules": list(leaf_modules)}
            known |= set(get_graph_node_names(model, tracer_kwargs=tracer)[1])
        except Exception:  # noqa: BLE001, S110 - torch.fx raises many kinds of errors
            pass
        unknown = [name for name in unknown if name not in known]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} not in the model; its layers are "
            f"{', '.join(layer_names(model))}."
        )


def layer_outputs(
    model: nn.Module, layers: Sequence[str], *, leaf_modules: Sequence[type] = ()
) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    """A function from an input batch to the outputs of the named ``layers`` (a dict by name).

    When every name is a module of the model, forward hooks read the modules' outputs (on
    their first call) and the forward pass stops once it has them all: no tracing, which takes
    half a second for EfficientNet-Lite0 each time. Otherwise the model's forward is traced
    with torchvision's
    :func:`~torchvision.models.feature_extraction.create_feature_extractor`, so a name may be
    any node of the graph (``leaf_modules`` are module types the tracer keeps whole); a model
    that does not trace is run whole with forward hooks, which read modules only. Either way
    gradients flow to the input. The model is not put in eval mode: that is the caller's choice.
    """
    modules = dict(model.named_modules())
    if all(name in modules for name in layers):
        return _hooked_outputs(model, layers, stop=True)
    check_layers(model, layers, leaf_modules=leaf_modules)
    from torchvision.models.feature_extraction import create_feature_extractor

    try:
        extractor = create_feature_extractor(
            model,
            return_nodes={name: name for name in layers},
            tracer_kwargs={"leaf_modules": list(leaf_modules)},
        )
    except Exception as err:  # noqa: BLE001 - torch.fx raises many kinds of errors
        modules = dict(model.named_modules())
        missing = [name for name in layers if name not in modules]
        if missing:
            raise ValueError(
                f"{', '.join(map(repr, missing))} not a module of the model, and the model "
                f"cannot be traced to find it ({type(err).__name__})."
            ) from err
        return _hooked_outputs(model, layers)
    extractor.train(model.training)
    return extractor


class _Captured(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a forward hook to end a forward pass once every output asked for is read."""


def _hooked_outputs(model: nn.Module, layers: Sequence[str], *, stop: bool = False):
    """Outputs of modules read with forward hooks while the model runs (only as far as the last
    of them with ``stop``)."""
    modules = dict(model.named_modules())
    wanted = set(layers)

    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        captured: dict[str, torch.Tensor] = {}

        def hook(name):
            def read(module, args, output):
                captured.setdefault(name, output)
                if stop and len(captured) == len(wanted):
                    raise _Captured

            return read

        handles = [modules[name].register_forward_hook(hook(name)) for name in wanted]
        try:
            model(x)
        except _Captured:
            pass
        finally:
            for handle in handles:
                handle.remove()
        missing = [name for name in layers if name not in captured]
        if missing:
            raise ValueError(f"{', '.join(map(repr, missing))} not called in the forward pass.")
        return captured

    return run


def _batched_outputs(model: nn.Module, x: torch.Tensor, layers: Sequence[str], batch_size: int):
    """The named layers' outputs, one batch of ``x`` at a time, with the model in eval mode.

    The model runs in the memory layout it trains in (:func:`layerwise.train.memory_format`):
    ``channels_last`` for the photo CNN on a CPU, where its forward pass takes about half the
    time (its max-pooling is slow in the default layout). The outputs then sit in that layout
    too; their values agree with the default layout's to floating-point rounding. A model handed
    in in the default layout is handed back in it.
    """
    from .train import memory_format

    dev = next(model.parameters()).device
    was_training = model.training
    layout = memory_format(model, dev)
    convert = layout is not torch.contiguous_format and not _in_layout(model, layout)
    model.eval()
    try:
        if convert:
            model.to(memory_format=layout)
        outputs = layer_outputs(model, layers)
        for i in range(0, len(x), batch_size):
            yield outputs(x[i : i + batch_size].to(dev).contiguous(memory_format=layout))
    finally:
        if convert:
            model.to(memory_format=torch.contiguous_format)
        model.train(was_training)


def _in_layout(model: nn.Module, layout: torch.memory_format) -> bool:
    """Whether every convolution weight of ``model`` is already stored in ``layout``."""
    return all(
        m.weight.is_contiguous(memory_format=layout)
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    )


@dataclass(frozen=True)
class TopActivations:
    """The inputs that excite each channel most, and where in them.

    All fields are (channels, k) tensors: for channel ``i``, ``image[i, j]`` is the index of
    the ``j``-th most exciting input (in decreasing order of ``value``), ``row[i, j]`` and
    ``col[i, j]`` the position in the layer's feature map where the channel peaks in that
    input, and ``value[i, j]`` the peak activation.
    """

    channels: tuple[int, ...]
    image: torch.Tensor
    row: torch.Tensor
    col: torch.Tensor
    value: torch.Tensor


@torch.no_grad()
def top_activations(
    model: nn.Module,
    x: torch.Tensor,
    layer: str,
    channels: Sequence[int] | None = None,
    *,
    k: int = 9,
    batch_size: int = 256,
) -> TopActivations:
    """For each channel of ``layer``, the ``k`` inputs with the largest peak activation.

    Each input counts once per channel, at its strongest position (as in Zeiler and Fergus's
    "top 9 activations"); ties are broken by the lower index. Only the per-input peaks are
    kept, so memory does not grow with the feature-map size.

    Parameters
    ----------
    model, x, layer
        The network, the inputs (N, C, H, W) and the name of a layer with (N, C', H', W')
        outputs.
    channels
        Which channels (default: all).
    k
        How many inputs per channel (at most N).
    """
    return _top_activations(model, x, [layer], channels, k, batch_size)[layer]


@torch.no_grad()
def top_activations_of_layers(
    model: nn.Module, x: torch.Tensor, layers: Sequence[str], *, k: int = 9, batch_size: int = 256
) -> dict[str, TopActivations]:
    """:func:`top_activations` of every channel of each of several ``layers`` (a dict by name),
    read from one forward pass per batch instead of one per layer; the same results."""
    return _top_activations(model, x, list(layers), None, k, batch_size)


def _top_activations(model, x, layers, channels, k, batch_size) -> dict[str, TopActivations]:
    if not 0 < k <= len(x):
        raise ValueError(f"k must be in 1..{len(x)} (the number of inputs), got {k}.")
    kept = {layer: _LayerPeaks(layer, channels) for layer in layers}
    for outputs in _batched_outputs(model, x, layers, batch_size):
        for layer, peaks in kept.items():
            peaks.add(outputs[layer])
    return {layer: peaks.top(k) for layer, peaks in kept.items()}


class _LayerPeaks:
    """Every input's peak in each of a layer's ``channels`` (default: all), batch by batch."""

    def __init__(self, layer: str, channels: Sequence[int] | None):
        self.layer = layer
        self.channels = None if channels is None else list(channels)
        self.values: list[torch.Tensor] = []  # (batch, C) per batch
        self.positions: list[torch.Tensor] = []
        self.width = 0

    def add(self, out: torch.Tensor) -> None:
        if out.dim() != 4:
            raise ValueError(
                f"{self.layer!r} outputs shape {tuple(out.shape)}; top_activations needs "
                "feature maps (N, C, H, W)."
            )
        self.width = out.shape[-1]
        if self.channels is not None:
            out = out[:, self.channels]
        value, pos = _peaks(out)
        self.values.append(value)
        self.positions.append(pos)

    def top(self, k: int) -> TopActivations:
        peaks, where = torch.cat(self.values).T, torch.cat(self.positions).T  # (C, N)
        order = torch.sort(peaks, dim=1, descending=True, stable=True).indices[:, :k]
        pos = torch.gather(where, 1, order)
        return TopActivations(
            channels=tuple(range(len(peaks)) if self.channels is None else self.channels),
            image=order,
            row=pos // self.width,
            col=pos % self.width,
            value=torch.gather(peaks, 1, order),
        )


def _peaks(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each map's maximum and its first position in row-major order, as two (N, C) tensors.

    Maps stored channels innermost (``channels_last``) are reduced in place, over the pixel
    axis of an (N, H*W, C) view, instead of being copied to (N, C, H*W) first: the same
    maximum and, as :func:`torch.max` returns the first of tied maxima, the same position.
    """
    out = out.cpu()
    if out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous():
        value, pos = out.permute(0, 2, 3, 1).flatten(1, 2).max(dim=1)
    else:
        value, pos = out.flatten(2).max(dim=2)
    return value, pos


def crop(
    x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int, *, fill: float = 0.0
) -> torch.Tensor:
    """Square windows of side ``size`` with top-left corners ``(top, left)`` cut out of ``x``.

    ``x`` is one image (C, H, W) or a batch (N, C, H, W); for a batch, ``top`` and ``left`` hold
    one corner per image, for one image any number of corners. Parts of a window outside the
    image are filled with ``fill`` (a receptive field near the border reaches past the image).
    Returns (M, C, size, size).
    """
    top = torch.as_tensor(top).long().flatten()
    left = torch.as_tensor(left).long().flatten()
    if len(top) != len(left):
        raise ValueError("top and left need the same number of corners.")
    if size < 1:
        raise ValueError(f"size must be positive, got {size}.")
    batch = x if x.dim() == 4 else x[None].expand(len(top), *x.shape)
    if len(batch) != len(top):
        raise ValueError(f"x holds {len(batch)} images but {len(top)} corners were given.")
    padded = F.pad(batch, (size, size, size, size), value=fill)
    offs = torch.arange(size)
    rows = (top[:, None] + size + offs)[:, None, :, None]  # (M, 1, size, 1)
    cols = (left[:, None] + size + offs)[:, None, None, :]
    index = torch.arange(len(top))[:, None, None, None]
    chans = torch.arange(x.shape[-3])[None, :, None, None]
    rows = rows.clamp(0, padded.shape[-2] - 1)
    cols = cols.clamp(0, padded.shape[-1] - 1)
    return padded[index, chans, rows, cols]
