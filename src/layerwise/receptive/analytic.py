"""The analytic receptive field of every layer, from the architecture alone.

:func:`receptive_field` follows the recurrences of Araujo, Norris & Sim (2019): a layer with
kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` turns a field of size ``r``, jump
``j`` and start ``c`` into ``r + d (k - 1) j``, ``j s`` and ``c + (d (k - 1) / 2 - p) j``.
Branches that meet (a residual addition, a concatenation) give the union of their fields. The
model's forward is read with :mod:`torch.fx` (as in :mod:`layerwise.features`, with the same
layer names), or, for a plain chain of layers that does not trace, by running it once with
forward hooks.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of the units of one layer, per axis (height, width).

    Unit ``(i, j)`` of the layer's feature map sees the input pixels within ``size`` of the
    centre ``(start[0] + i * stride[0], start[1] + j * stride[1])``, in input pixel
    coordinates (pixel 0 is the first row or column; a centre may fall between two pixels when
    a size is even). Near the border part of that window lies in the padding.

    Attributes
    ----------
    size : tuple of int
        Side of the window of input pixels a unit can see.
    stride : tuple of int
        Distance in input pixels between the centres of neighbouring units (the "jump").
    start : tuple of float
        Centre of the first unit's window.
    shape : tuple of int
        Height and width of the layer's feature map for the input size that was given.
    """

    size: tuple[int, int]
    stride: tuple[int, int]
    start: tuple[float, float]
    shape: tuple[int, int]

    def centre(self, i: int, j: int) -> tuple[float, float]:
        """Centre of unit ``(i, j)``'s window in input pixel coordinates."""
        return (self.start[0] + i * self.stride[0], self.start[1] + j * self.stride[1])

    def box(
        self, i: int, j: int, clip: tuple[int, int] | None = None
    ) -> tuple[int, int, int, int]:
        """Input pixels seen by unit ``(i, j)`` as ``(top, left, bottom, right)``, ends excluded.

        With ``clip=(height, width)`` the box is cut to the image, which is what a crop needs.
        """
        top, left = (
            round(c - (r - 1) / 2) for c, r in zip(self.centre(i, j), self.size, strict=True)
        )
        bottom, right = top + self.size[0], left + self.size[1]
        if clip is not None:
            top, left = max(top, 0), max(left, 0)
            bottom, right = min(bottom, clip[0]), min(right, clip[1])
        return top, left, bottom, right


# -- the per-axis recurrence ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """Per-axis field of a tensor that still has a spatial layout (or ``flat`` after flatten)."""

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]
    shape: tuple[int, int]
    flat: bool = False

    def public(self) -> ReceptiveField:
        return ReceptiveField(self.size, self.jump, self.start, self.shape)


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _window_count(span: int, stride: int, last_start: int, ceil_mode: bool) -> int:
    """How many windows a sliding window places along an axis, as PyTorch counts them.

    ``span`` is the padded length minus the window's extent; ``last_start`` the first position
    in the right padding (the length plus the left padding).
    """
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= last_start:
        out -= 1  # PyTorch drops a last window that would start in the right padding
    return out


def _pool_geometry(pool: nn.MaxPool2d | nn.AvgPool2d) -> tuple:
    """``(kernel, stride, padding, dilation, ceil_mode)`` of a pool, each per axis; the stride
    defaults to the kernel size and an average pool has no dilation."""
    stride = pool.stride if pool.stride is not None else pool.kernel_size
    return (
        _pair(pool.kernel_size),
        _pair(stride),
        _pair(pool.padding),
        _pair(getattr(pool, "dilation", 1)),
        pool.ceil_mode,
    )


def _window(
    field: _Field,
    kernel,
    stride,
    pad_before,
    pad_after,
    dilation=1,
    ceil_mode: bool = False,
    *,
    where: str,
) -> _Field:
    """Apply a sliding window (convolution or pool) to a field, axis by axis."""
    if field.flat:
        raise ValueError(f"{where} slides a window over a tensor that was already flattened.")
    size, jump, start, shape = [], [], [], []
    for ax in range(2):
        k, s, d = _pair(kernel)[ax], _pair(stride)[ax], _pair(dilation)[ax]
        pb, pa = _pair(pad_before)[ax], _pair(pad_after)[ax]
        k_eff = d * (k - 1) + 1
        n = field.shape[ax]
        span = n + pb + pa - k_eff
        if span < 0:
            raise ValueError(
                f"the input is too small: {where} needs at least {k_eff - pb - pa} positions "
                f"along {'height' if ax == 0 else 'width'} but gets {n}; use a larger input_size."
            )
        out = _window_count(span, s, n + pb, ceil_mode)
        j = field.jump[ax]
        size.append(field.size[ax] + (k_eff - 1) * j)
        jump.append(j * s)
        start.append(field.start[ax] + ((k_eff - 1) / 2 - pb) * j)
        shape.append(out)
    return _Field(tuple(size), tuple(jump), tuple(start), tuple(shape))


def _global(field: _Field, flat: bool = True) -> _Field:
    """Everything pooled into one value per channel (global pooling or flattening)."""
    if field.flat:
        return field
    size = tuple(
        r + (n - 1) * j for r, n, j in zip(field.size, field.shape, field.jump, strict=True)
    )
    start = tuple(
        c + (n - 1) * j / 2 for c, n, j in zip(field.start, field.shape, field.jump, strict=True)
    )
    jump = tuple(n * j for n, j in zip(field.shape, field.jump, strict=True))
    return _Field(size, jump, start, (1, 1), flat=flat)


def _union(fields: list[_Field], where: str) -> _Field:
    """Branches that meet elementwise or by concatenation: the union of their windows."""
    if len(fields) == 1:
        return fields[0]
    flats = {f.flat for f in fields}
    shapes = {f.shape for f in fields}
    if len(flats) > 1 or len(shapes) > 1:
        shown = ", ".join("x".join(map(str, f.shape)) for f in fields)
        raise ValueError(
            f"{where} combines feature maps of different sizes ({shown}): a signal broadcast over "
            "the map (such as squeeze-excitation's global pooling) gives every unit the whole "
            "input, which a per-unit window cannot describe."
        )
    jumps = {f.jump for f in fields}
    if len(jumps) > 1:
        raise ValueError(f"{where} combines branches with different strides {sorted(jumps)}.")
    size, start = [], []
    for ax in range(2):
        lo = min(f.start[ax] - (f.size[ax] - 1) / 2 for f in fields)
        hi = max(f.start[ax] + (f.size[ax] - 1) / 2 for f in fields)
        size.append(round(hi - lo) + 1)
        start.append((lo + hi) / 2)
    f0 = fields[0]
    return _Field(tuple(size), f0.jump, tuple(start), f0.shape, f0.flat)


# Modules and functions that act on each position separately: the field passes through.
_POINTWISE_MODULES = (
    nn.BatchNorm2d,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardtanh,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Dropout,
    nn.Dropout2d,
    nn.Identity,
    nn.LocalResponseNorm,  # normalises across channels at one position
)
_ACTIVATION_MODULES = tuple(
    m for m in _POINTWISE_MODULES if m not in (nn.BatchNorm2d, nn.Dropout, nn.Dropout2d)
)
_POINTWISE_FUNCTIONS = {
    F.relu,
    F.relu6,
    F.leaky_relu,
    F.gelu,
    F.silu,
    F.hardswish,
    F.hardsigmoid,
    F.sigmoid,
    F.tanh,
    F.dropout,
    torch.relu,
    torch.sigmoid,
    torch.tanh,
}
_POINTWISE_METHODS = {"relu", "relu_", "sigmoid", "tanh", "contiguous", "clone", "float", "to"}
_COMBINE_FUNCTIONS = {
    operator.add,
    operator.iadd,
    operator.sub,
    operator.mul,
    operator.imul,
    operator.truediv,
    torch.add,
    torch.sub,
    torch.mul,
}
_COMBINE_METHODS = {"add", "add_", "mul", "mul_", "sub"}


def _module_rule(module: nn.Module, field: _Field, where: str) -> _Field:
    if isinstance(module, _POINTWISE_MODULES):
        return field
    if isinstance(module, nn.Conv2d):
        if module.padding_mode == "circular":
            raise ValueError(
                f"{where} ({type(module).__name__}) pads circularly, which wraps the field "
                "around the image; use zero padding."
            )
        kernel, dilation = module.kernel_size, module.dilation
        if module.padding == "same":
            total = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            before = tuple(t // 2 for t in total)
            after = tuple(t - b for t, b in zip(total, before, strict=True))
        elif module.padding == "valid":
            before = after = (0, 0)
        else:
            before = after = _pair(module.padding)
        return _window(field, kernel, module.stride, before, after, dilation, where=where)
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        kernel, stride, padding, dilation, ceil_mode = _pool_geometry(module)
        return _window(field, kernel, stride, padding, padding, dilation, ceil_mode, where=where)
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return _adaptive(field, module.output_size, where)
    if isinstance(module, nn.Flatten):
        if module.start_dim not in (1, -3) and not field.flat:
            raise ValueError(f"{where} flattens from dimension {module.start_dim}, not 1.")
        return _global(field)
    if isinstance(module, nn.ZeroPad2d | nn.ConstantPad2d):
        return _pad(field, module.padding, where)
    if isinstance(module, nn.Linear):
        if not field.flat:
            raise ValueError(
                f"{where} (Linear) acts on the last axis of a feature map; flatten it first."
            )
        return field
    raise ValueError(
        f"{where} is a {type(module).__name__}, which receptive_field does not know; it supports "
        "convolutions, pools, padding, flattening, linear layers and per-position layers "
        "(normalisation, activations, dropout)."
    )


def _pad(field: _Field, padding, where: str) -> _Field:
    """Explicit padding ``(left, right, top, bottom)`` shifts the first unit and grows the map."""
    padding = tuple(padding) + (0,) * (4 - len(padding))
    if field.flat or any(padding[4:]):
        raise ValueError(f"{where} pads dimensions other than height and width.")
    left, right, top, bottom = padding[:4]
    return _Field(
        field.size,
        field.jump,
        (field.start[0] - top * field.jump[0], field.start[1] - left * field.jump[1]),
        (field.shape[0] + top + bottom, field.shape[1] + left + right),
    )


def _adaptive(field: _Field, output_size, where: str) -> _Field:
    out = _pair(output_size)
    out = tuple(n if o is None else o for o, n in zip(out, field.shape, strict=True))
    if field.flat or out == (1, 1):
        return _global(field, flat=field.flat)
    if any(n % o for n, o in zip(field.shape, out, strict=True)):
        raise ValueError(
            f"{where} pools a {field.shape[0]}x{field.shape[1]} map to {out[0]}x{out[1]}, with "
            "windows of unequal sizes; choose an input size that makes the map a multiple of "
            "the output size, or pass only the part of the model before it."
        )
    kernel = tuple(n // o for n, o in zip(field.shape, out, strict=True))
    return _window(field, kernel, kernel, 0, 0, where=where)


def _spatial_mean_keeps_axes(node) -> bool | None:
    """For ``x.mean(...)`` or ``torch.mean(x, ...)`` over height and width: whether it keeps
    their axes (``keepdim``); None for a mean over other axes."""
    dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    if dims is None or {d % 4 for d in _tuple(dims)} != {2, 3}:
        return None
    return bool(node.kwargs.get("keepdim", len(node.args) > 2 and node.args[2]))


def _function_rule(node, fields: list[_Field], where: str) -> _Field | None:
    target = node.target
    if node.op == "call_method":
        if target in _POINTWISE_METHODS:
            return fields[0]
        if target in _COMBINE_METHODS:
            return _union(fields, where)
        if target == "flatten":
            return _global(fields[0])
        if target == "mean" and (keep := _spatial_mean_keeps_axes(node)) is not None:
            return _global(fields[0], flat=not keep)
    else:
        if target in _POINTWISE_FUNCTIONS:
            return fields[0]
        if target in _COMBINE_FUNCTIONS:
            return _union(fields, where)
        if target is torch.flatten:
            return _global(fields[0])
        if target is F.pad:
            mode = node.args[2] if len(node.args) > 2 else node.kwargs.get("mode", "constant")
            if mode != "circular":
                return _pad(
                    fields[0], node.args[1] if len(node.args) > 1 else node.kwargs["pad"], where
                )
        if target is torch.cat:
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            if dim in (1, -3) or (dim in (1, -1) and fields[0].flat):
                return _union(fields, where)
            raise ValueError(f"{where} concatenates along dimension {dim}, not the channels.")
        if target in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
            size = node.args[1] if len(node.args) > 1 else node.kwargs["output_size"]
            return _adaptive(fields[0], size, where)
        if target is torch.mean and (keep := _spatial_mean_keeps_axes(node)) is not None:
            return _global(fields[0], flat=not keep)
    name = getattr(target, "__name__", str(target))
    raise ValueError(
        f"{where} calls {name}, which receptive_field does not know; it supports additions, "
        "products, channel concatenation, flattening, global means and per-position functions."
    )


def _tuple(value) -> tuple:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


def _collect(arg, fields: dict) -> list[_Field]:
    """The fields of the tensors among a node's arguments (constants carry none)."""
    out: list[_Field] = []
    if isinstance(arg, list | tuple):
        for a in arg:
            out += _collect(a, fields)
    elif isinstance(arg, dict):
        for a in arg.values():
            out += _collect(a, fields)
    elif isinstance(arg, torch.fx.Node) and fields.get(arg) is not None:
        out.append(fields[arg])
    return out


def _trace(model: nn.Module):
    from torchvision.models.feature_extraction import NodePathTracer

    tracer = NodePathTracer()
    graph = tracer.trace(model)
    return graph, tracer.node_to_qualname


def _from_graph(model, graph, qualnames, input_size) -> OrderedDict[str, _Field]:
    modules = dict(model.named_modules())
    fields: dict = {}
    result: OrderedDict[str, _Field] = OrderedDict()
    placeholders = 0
    for node in graph.nodes:
        if node.op == "placeholder":
            if placeholders == 0:
                fields[node] = _Field((1, 1), (1, 1), (0.0, 0.0), input_size)
            placeholders += 1
            continue
        if node.op in ("output", "get_attr"):
            continue
        name = qualnames.get(node, node.name)
        if node.op == "call_function" and node.target is operator.getitem:
            inner = _collect(node.args[0], fields)
            fields[node] = inner[0] if inner else None
            continue
        inputs = _collect(list(node.args) + list(node.kwargs.values()), fields)
        if not inputs:
            fields[node] = None  # sizes, shapes and other values that are not feature maps
            continue
        if node.op == "call_method" and node.target in ("size", "dim"):
            fields[node] = None
            continue
        where = f"layer {name!r}"
        if node.op == "call_module":
            if len(inputs) != 1:
                raise ValueError(f"{where} takes {len(inputs)} feature maps; expected one.")
            field = _module_rule(modules[node.target], inputs[0], where)
        else:
            field = _function_rule(node, inputs, where)
        fields[node] = field
        result[name] = field
    return result


def _from_hooks(model: nn.Module, input_size, error) -> OrderedDict[str, _Field]:
    """A plain chain of leaf layers, read by running the model once with forward hooks."""
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    convs = [m for _, m in leaves if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(
            f"the model could not be traced ({error}) and has no Conv2d to read its input "
            "channels from; receptive_field needs a traceable model or a chain of layers."
        ) from error
    calls: list = []
    names = {m: n for n, m in leaves}

    def hook(module, args, output):
        calls.append((names[module], module, args, output))

    handles = [m.register_forward_hook(hook) for _, m in leaves]
    x = torch.zeros(1, convs[0].in_channels, *input_size)
    try:
        with torch.no_grad():
            model(x)
    except Exception as err:  # noqa: BLE001 - any failure means the model cannot be read
        raise ValueError(
            f"the model could neither be traced ({error}) nor run on a 1x{convs[0].in_channels}"
            f"x{input_size[0]}x{input_size[1]} input ({type(err).__name__}: {err}); "
            "receptive_field needs one of the two."
        ) from err
    finally:
        for h in handles:
            h.remove()
    result: OrderedDict[str, _Field] = OrderedDict()
    field = _Field((1, 1), (1, 1), (0.0, 0.0), tuple(input_size))
    previous = x
    counts: dict[str, int] = {}
    for name, module, args, output in calls:
        if len(args) != 1 or args[0] is not previous and not torch.equal(args[0], previous):
            raise ValueError(
                f"the model could not be traced ({error}) and is not a plain chain of layers "
                f"(layer {name!r} does not take the previous layer's output), so its receptive "
                "fields cannot be read; make its forward traceable by torch.fx."
            ) from error
        field = _module_rule(module, field, f"layer {name!r}")
        counts[name] = counts.get(name, 0) + 1
        key = name if counts[name] == 1 else f"{name}_{counts[name] - 1}"
        result[key] = field
        previous = output
    return result


def _fields(model: nn.Module, input_size) -> OrderedDict[str, _Field]:
    input_size = _pair(input_size)
    if len(input_size) != 2 or min(input_size) < 1:
        raise ValueError(f"input_size must be (height, width) in pixels, got {input_size}.")
    try:
        graph, qualnames = _trace(model)
    except Exception as err:  # noqa: BLE001 - torch.fx raises many kinds of errors
        return _from_hooks(model, input_size, err)
    return _from_graph(model, graph, qualnames, input_size)


def _with_containers(model: nn.Module, fields: OrderedDict) -> OrderedDict:
    """Add each container (a block, a stage) with the field of the last layer inside it."""
    containers = {n for n, m in model.named_modules() if n and list(m.children())}
    last: dict[str, str] = {}
    for name in fields:
        parts = name.split(".")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if prefix in containers:
                last[prefix] = name
    out: OrderedDict = OrderedDict()
    closing: dict[str, list[str]] = {}
    for container, name in last.items():
        closing.setdefault(name, []).append(container)
    for name, field in fields.items():
        out[name] = field
        for container in sorted(closing.get(name, []), key=len, reverse=True):
            out[container] = field
    return out


def receptive_field(
    model: nn.Module, input_size: int | tuple[int, int] = (224, 224)
) -> OrderedDict[str, ReceptiveField]:
    """Receptive field of every layer of a model, computed from its architecture.

    Parameters
    ----------
    model : torch.nn.Module
        Any model whose forward :mod:`torch.fx` can trace, or a plain chain of layers (run once
        with forward hooks when tracing fails). Weights are not used.
    input_size : int or tuple of int
        Height and width of the input image in pixels (it sets the feature-map sizes, and with
        them ``ceil_mode`` pooling, adaptive pooling and global layers).

    Returns
    -------
    collections.OrderedDict
        From each layer's qualified name (the names :func:`layerwise.features.extract` accepts:
        a module called twice gets ``_1`` on its second call) to its :class:`ReceptiveField`,
        in the order the forward computes them; a container (a block or a stage) is listed
        after its last layer, with that layer's field. After global pooling or flattening the
        field covers the whole input and ``shape`` is ``(1, 1)``.

    Raises
    ------
    ValueError
        If a layer is not supported (the message names it and its type), if the input is too
        small for a layer's window, or if the model neither traces nor runs as a chain.
    """
    fields = _fields(model, input_size)
    return _with_containers(model, OrderedDict((k, f.public()) for k, f in fields.items()))
