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
) -> dict[str, torch.Tensor]:
    """Outputs of the named ``layers`` for inputs ``x``, in eval mode, batched.

    Returns a dict from layer name to a tensor with one row per input, on ``x``'s device. For a
    convolution layer the shape is (N, channels, height, width).

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
            part = out[name]
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
    if not 0 < k <= len(x):
        raise ValueError(f"k must be in 1..{len(x)} (the number of inputs), got {k}.")
    peaks, where = [], []
    for outputs in _batched_outputs(model, x, [layer], batch_size):
        out = outputs[layer]
        if out.dim() != 4:
            raise ValueError(
                f"{layer!r} outputs shape {tuple(out.shape)}; top_activations needs feature maps "
                "(N, C, H, W)."
            )
        chosen = list(range(out.shape[1])) if channels is None else list(channels)
        width = out.shape[-1]
        out = out[:, chosen].flatten(2).cpu()
        value, pos = out.max(dim=2)  # (n, channels): first maximum in row-major order
        peaks.append(value)
        where.append(pos)
    peaks_all, where_all = torch.cat(peaks).T, torch.cat(where).T  # (channels, N)
    order = torch.sort(peaks_all, dim=1, descending=True, stable=True).indices[:, :k]
    pos = torch.gather(where_all, 1, order)
    return TopActivations(
        channels=tuple(chosen),
        image=order,
        row=pos // width,
        col=pos % width,
        value=torch.gather(peaks_all, 1, order),
    )


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
