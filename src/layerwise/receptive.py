"""Receptive fields: which input pixels each unit of a convolutional network can see.

Three ways to answer the question, from exact to empirical:

* :func:`receptive_field` computes it analytically for every layer of a model, following the
  recurrences of Araujo, Norris & Sim (2019): a layer with kernel ``k``, stride ``s``, padding
  ``p`` and dilation ``d`` turns a field of size ``r``, jump ``j`` and start ``c`` into
  ``r + d (k - 1) j``, ``j s`` and ``c + (d (k - 1) / 2 - p) j``. Branches that meet (a residual
  addition, a concatenation) give the union of their fields. The model's forward is read with
  :mod:`torch.fx` (as in :mod:`layerwise.features`, with the same layer names), or, for a plain
  chain of layers that does not trace, by running it once with forward hooks.
* :func:`gradient_receptive_field` measures the field of one layer from the support of an input
  gradient, in a copy of the model whose weights are positive and whose pools average, so that
  nothing cancels. It is the independent check of the analytic numbers.
* :func:`effective_receptive_field` is the *effective* receptive field of Luo et al. (2016): how
  strongly each input pixel influences a centre unit, averaged over random inputs (and
  initialisations), with its Gaussian width.
"""

from __future__ import annotations

import copy
import math
import operator
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "EffectiveReceptiveField",
    "ReceptiveField",
    "effective_receptive_field",
    "gradient_receptive_field",
    "receptive_field",
]


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
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= n + pb:
            out -= 1  # PyTorch drops a last window that would start in the right padding
        j = field.jump[ax]
        size.append(field.size[ax] + (k_eff - 1) * j)
        jump.append(j * s)
        start.append(field.start[ax] + ((k_eff - 1) / 2 - pb) * j)
        shape.append(out)
    return _Field(tuple(size), tuple(jump), tuple(start), tuple(shape))


def _global(field: _Field) -> _Field:
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
    return _Field(size, jump, start, (1, 1), flat=True)


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
        stride = module.stride if module.stride is not None else module.kernel_size
        dilation = getattr(module, "dilation", 1)
        return _window(
            field,
            module.kernel_size,
            stride,
            module.padding,
            module.padding,
            dilation,
            module.ceil_mode,
            where=where,
        )
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return _adaptive(field, module.output_size, where)
    if isinstance(module, nn.Flatten):
        if module.start_dim not in (1, -3) and not field.flat:
            raise ValueError(f"{where} flattens from dimension {module.start_dim}, not 1.")
        return _global(field)
    if isinstance(module, nn.ZeroPad2d | nn.ConstantPad2d):
        left, right, top, bottom = module.padding
        return _Field(
            field.size,
            field.jump,
            (field.start[0] - top * field.jump[0], field.start[1] - left * field.jump[1]),
            (field.shape[0] + top + bottom, field.shape[1] + left + right),
        )
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


def _adaptive(field: _Field, output_size, where: str) -> _Field:
    out = _pair(output_size)
    out = tuple(n if o is None else o for o, n in zip(out, field.shape, strict=True))
    if field.flat or out == (1, 1):
        return _global(field)
    if any(n % o for n, o in zip(field.shape, out, strict=True)):
        raise ValueError(
            f"{where} pools a {field.shape[0]}x{field.shape[1]} map to {out[0]}x{out[1]}, with "
            "windows of unequal sizes; choose an input size that makes the map a multiple of "
            "the output size."
        )
    kernel = tuple(n // o for n, o in zip(field.shape, out, strict=True))
    return _window(field, kernel, kernel, 0, 0, where=where)


def _function_rule(node, fields: list[_Field], where: str) -> _Field | None:
    target = node.target
    if node.op == "call_method":
        if target in _POINTWISE_METHODS:
            return fields[0]
        if target in _COMBINE_METHODS:
            return _union(fields, where)
        if target == "flatten":
            return _global(fields[0])
        if target == "mean":
            dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
            if dims is not None and {d % 4 for d in _tuple(dims)} == {2, 3}:
                return _global(fields[0])
    else:
        if target in _POINTWISE_FUNCTIONS:
            return fields[0]
        if target in _COMBINE_FUNCTIONS:
            return _union(fields, where)
        if target is torch.flatten:
            return _global(fields[0])
        if target is torch.cat:
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            if dim in (1, -3) or (dim == 1 and fields[0].flat):
                return _union(fields, where)
            raise ValueError(f"{where} concatenates along dimension {dim}, not the channels.")
        if target in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
            size = node.args[1] if len(node.args) > 1 else node.kwargs["output_size"]
            return _adaptive(fields[0], size, where)
        if target is torch.mean:
            dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
            if dims is not None and {d % 4 for d in _tuple(dims)} == {2, 3}:
                return _global(fields[0])
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


# -- the empirical check -------------------------------------------------------------------------


class _SumPool(nn.Module):
    """Equal-weight sum over the windows of a max or average pool (same geometry)."""

    def __init__(self, pool: nn.MaxPool2d | nn.AvgPool2d):
        super().__init__()
        self.kernel = _pair(pool.kernel_size)
        self.stride = _pair(pool.stride if pool.stride is not None else pool.kernel_size)
        self.padding = _pair(pool.padding)
        self.dilation = _pair(getattr(pool, "dilation", 1))
        self.ceil_mode = pool.ceil_mode

    def forward(self, x):
        pads, keff = [], []
        for ax in (1, 0):  # F.pad takes the last axis first
            k, s, p, d = self.kernel[ax], self.stride[ax], self.padding[ax], self.dilation[ax]
            n = x.shape[2 + ax]
            ke = d * (k - 1) + 1
            span = n + 2 * p - ke
            out = (-(-span // s) if self.ceil_mode else span // s) + 1
            if self.ceil_mode and (out - 1) * s >= n + p:
                out -= 1
            right = max(p, (out - 1) * s + ke - n - p)
            pads += [p, right]
            keff.append(k)
        c = x.shape[1]
        weight = x.new_full((c, 1, *self.kernel), 1.0 / (self.kernel[0] * self.kernel[1]))
        x = F.pad(x, pads)
        return F.conv2d(x, weight, stride=self.stride, dilation=self.dilation, groups=c)


def _positive_copy(model: nn.Module, dtype) -> nn.Module:
    """A linear copy of the model in which every path from input to output has positive weight."""
    model = copy.deepcopy(model).to(dtype=dtype, device="cpu").eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                m.weight.fill_(1.0 / (m.weight[0].numel()))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()  # mean 0, variance 1, scale 1, shift 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.MaxPool2d | nn.AvgPool2d):
                setattr(parent, name, _SumPool(child))
            elif isinstance(child, _ACTIVATION_MODULES):
                setattr(parent, name, nn.Identity())
    return model


def _layer_output(model: nn.Module, layer: str) -> Callable:
    from torchvision.models.feature_extraction import create_feature_extractor

    try:
        extractor = create_feature_extractor(model, return_nodes={layer: "out"})
    except Exception:  # noqa: BLE001 - fall back to a hook on a named module
        modules = dict(model.named_modules())
        if layer not in modules:
            raise ValueError(
                f"{layer!r} is not a layer of the model; see receptive_field(model) for names."
            ) from None
        target = modules[layer]

        def run(x):
            captured = []
            handle = target.register_forward_hook(lambda m, a, o: captured.append(o))
            try:
                model(x)
            finally:
                handle.remove()
            return captured[-1]

        return run
    return lambda x: extractor(x)["out"]


def _in_channels(model: nn.Module) -> int:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    raise ValueError("the model has no Conv2d layer to read its number of input channels from.")


def gradient_receptive_field(
    model: nn.Module,
    layer: str,
    input_size: int | tuple[int, int],
    *,
    dtype: torch.dtype = torch.float64,
) -> ReceptiveField:
    """Measure a layer's receptive field from the support of input gradients.

    In a copy of the model every convolution and linear weight is set to the same positive
    value, biases to zero, batch normalisation to the identity, activations to the identity and
    max/average pools to equal-weight sums with the same geometry. The input gradient of a unit
    is then a sum of positive terms, one per path, so it is non-zero exactly on the pixels the
    unit is connected to. Two neighbouring units near the centre of the map give the size (the
    extent of the support), the stride (how far the support moves) and the start.

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
    probe = _positive_copy(model, dtype)
    forward = _layer_output(probe, layer)
    x = torch.ones(1, _in_channels(model), *input_size, dtype=dtype, requires_grad=True)
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


# -- the effective receptive field ---------------------------------------------------------------


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
    total = None
    n = len(inputs) if inputs is not None else n_samples
    for s in range(n):
        if factory is not None:
            torch.manual_seed(seed * 100003 + s)
            net = factory()
        else:
            net = model
        was_training = net.training
        net.eval()
        dev = next(net.parameters()).device
        forward = _layer_output(net, layer)
        if inputs is not None:
            x = inputs[s : s + 1].to(dev).clone()
        else:
            x = torch.randn(1, _in_channels(net), *input_size, generator=generator).to(dev)
        x.requires_grad_(True)
        out = forward(x)
        h, w = out.shape[2:]
        unit = ((h - 1) // 2, (w - 1) // 2)
        (grad,) = torch.autograd.grad(out[0, :, unit[0], unit[1]].sum(), x)
        g = grad[0].abs().sum(0).detach().cpu().double()
        total = g if total is None else total + g
        net.train(was_training)
    erf = total / total.sum()
    rows = torch.arange(erf.shape[0], dtype=erf.dtype)
    cols = torch.arange(erf.shape[1], dtype=erf.dtype)
    py, px = erf.sum(1), erf.sum(0)
    cy, cx = float((py * rows).sum()), float((px * cols).sum())
    sy = math.sqrt(float((py * (rows - cy) ** 2).sum()))
    sx = math.sqrt(float((px * (cols - cx) ** 2).sum()))
    return EffectiveReceptiveField(erf.float(), (cy, cx), (sy, sx), unit)
