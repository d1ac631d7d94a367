"""Feature visualisation: find an input that makes a unit fire, by gradient ascent on the input.

Small composable pieces in the spirit of lucent's ``optvis`` (Olah et al., 2017):

* **parameterisations** -- how the image being optimised is stored: :func:`pixel_image` (one
  number per pixel) or :func:`fourier_image` (a spectrum scaled by ``1/frequency``, with
  optionally decorrelated colour channels), each an :class:`Image` whose call returns pixels in
  [0, 1];
* **transforms** -- small random changes applied at every step, so that only patterns robust to
  them survive: :func:`pad`, :func:`jitter`, :func:`random_scale`, :func:`random_rotate`,
  chained with :func:`compose`; each is called as ``transform(images, generator)``;
* **objectives** -- what to maximise: :func:`channel` (mean of one channel's map) or
  :func:`neuron` (one position of it), combined with ``+`` and scaled with ``*``;
* :func:`render` -- the optimisation loop (Adam on the image parameters), seeded and
  reproducible; the forward pass stops at the last layer the objective reads;
* :func:`cached` -- a render cache next to the model cache, keyed by what decides the render
  (the caller's settings, the network's weights and the code), so a rebuild costs nothing.

Without transforms and with the pixel parameterisation, gradient ascent produces
high-frequency patterns that excite the unit but look like noise; the transforms and the
Fourier parameterisation are the regularisation that makes the result readable.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import features

__all__ = [
    "COLOR_CORRELATION",
    "Image",
    "Objective",
    "RenderResult",
    "cached",
    "channel",
    "compose",
    "fourier_image",
    "jitter",
    "neuron",
    "pad",
    "pixel_image",
    "random_rotate",
    "random_scale",
    "render",
]

# ---------------------------------------------------------------------------------------------
# Parameterisations
# ---------------------------------------------------------------------------------------------

#: The square root of the colour covariance of natural images (ImageNet, as in lucent). Mapping
#: independent "decorrelated" channels through it gives colours with natural-image statistics.
COLOR_CORRELATION = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float32
)


@dataclass
class Image:
    """An image parameterisation: trainable ``params`` and a function from them to pixels.

    Calling the object returns a batch of images (N, C, H, W) with values in [0, 1].
    """

    params: list[torch.Tensor]
    to_pixels: Callable[[], torch.Tensor]
    shape: tuple[int, int, int, int]

    def __call__(self) -> torch.Tensor:
        return self.to_pixels()


def _check_shape(shape) -> tuple[int, int, int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"shape must be (batch, channels, height, width), got {shape}.")
    return shape


def _to_rgb(t: torch.Tensor, decorrelate: bool) -> torch.Tensor:
    if decorrelate:
        if t.shape[1] != 3:
            raise ValueError(f"decorrelate needs 3 colour channels, got {t.shape[1]}.")
        m = COLOR_CORRELATION / COLOR_CORRELATION.norm(dim=0).max()
        t = torch.einsum("nchw,dc->ndhw", t, m.to(t.device))
    return torch.sigmoid(t)


def pixel_image(
    shape: Sequence[int],
    *,
    sd: float = 0.01,
    decorrelate: bool = False,
    generator: torch.Generator | None = None,
) -> Image:
    """One free parameter per pixel and channel (through a sigmoid, so pixels stay in [0, 1]).

    Parameters
    ----------
    shape
        (batch, channels, height, width).
    sd
        Standard deviation of the random start (around mid-grey).
    decorrelate
        Mix the three channels through :data:`COLOR_CORRELATION` (colour images only).
    generator
        Random numbers for the start.
    """
    shape = _check_shape(shape)
    t = (torch.randn(shape, generator=generator) * sd).requires_grad_(True)
    return Image([t], lambda: _to_rgb(t, decorrelate), shape)


def fourier_image(
    shape: Sequence[int],
    *,
    sd: float = 0.01,
    decay_power: float = 1.0,
    decorrelate: bool = True,
    generator: torch.Generator | None = None,
) -> Image:
    """The image stored as its 2-D Fourier spectrum, each frequency scaled by ``1/f**decay_power``.

    Gradient steps then change low frequencies as easily as high ones (a plain pixel image is
    dominated by high-frequency changes), which is one of the two regularisers of Olah et al.
    (2017); with ``decorrelate`` the channels are also mixed through :data:`COLOR_CORRELATION`.
    """
    n, c, h, w = _check_shape(shape)
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    freqs = (fx.square() + fy.square()).sqrt()
    # As in lucent: 1/f scaling, and a constant that keeps the start's pixels small.
    scale = 1.0 / freqs.clamp_min(1.0 / max(h, w)) ** decay_power / 4.0
    spectrum = (torch.randn((n, c, *freqs.shape, 2), generator=generator) * sd).requires_grad_()

    def to_pixels():
        z = torch.view_as_complex(spectrum) * scale
        image = torch.fft.irfft2(z, s=(h, w), norm="ortho")
        return _to_rgb(image, decorrelate and c == 3)

    return Image([spectrum], to_pixels, (n, c, h, w))


# ---------------------------------------------------------------------------------------------
# Transforms: called as transform(images, generator)
# ---------------------------------------------------------------------------------------------

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def compose(transforms: Sequence[Transform]) -> Transform:
    """Apply ``transforms`` in order."""
    transforms = list(transforms)

    def apply(x, generator):
        for t in transforms:
            x = t(x, generator)
        return x

    return apply


def pad(width: int, value: float = 0.5) -> Transform:
    """Pad every side by ``width`` pixels of constant ``value`` (so jitter shows no border)."""

    def apply(x, generator):
        return F.pad(x, (width,) * 4, mode="constant", value=value)

    return apply


def jitter(d: int) -> Transform:
    """Crop a random window ``d`` pixels smaller in each direction (a random shift of up to d)."""
    if d < 1:
        raise ValueError(f"jitter needs a shift of at least 1 pixel, got {d}.")

    def apply(x, generator):
        dy, dx = (int(v) for v in torch.randint(0, d + 1, (2,), generator=generator))
        h, w = x.shape[-2:]
        return x[..., dy : h - d + dy, dx : w - d + dx]

    return apply


def _affine(x, theta):
    grid = F.affine_grid(theta.expand(len(x), 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_scale(scales: Sequence[float]) -> Transform:
    """Zoom by a factor drawn from ``scales`` (about the centre, same size out)."""
    scales = list(scales)

    def apply(x, generator):
        s = scales[int(torch.randint(len(scales), (1,), generator=generator))]
        theta = torch.tensor([[1 / s, 0.0, 0.0], [0.0, 1 / s, 0.0]], device=x.device)
        return _affine(x, theta[None])

    return apply


def random_rotate(degrees: Sequence[float]) -> Transform:
    """Rotate by an angle drawn from ``degrees`` (about the centre, same size out)."""
    degrees = list(degrees)

    def apply(x, generator):
        a = math.radians(degrees[int(torch.randint(len(degrees), (1,), generator=generator))])
        c, s = math.cos(a), math.sin(a)
        theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], device=x.device)
        return _affine(x, theta[None])

    return apply


# ---------------------------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------------------------


@dataclass
class Objective:
    """Something to maximise: a function of the recorded layer outputs, returning a scalar.

    ``layers`` names the layers it reads; ``fn`` gets a dict from those names to their outputs
    (N, C, H, W). Objectives add (``a + b``) and scale (``2 * a``, ``-a``).
    """

    fn: Callable[[dict[str, torch.Tensor]], torch.Tensor]
    layers: tuple[str, ...]
    description: str = ""

    def __call__(self, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.fn(outputs)

    def __add__(self, other: Objective) -> Objective:
        return Objective(
            lambda o: self(o) + other(o),
            tuple(dict.fromkeys(self.layers + other.layers)),
            f"{self.description} + {other.description}",
        )

    def __mul__(self, k: float) -> Objective:
        return Objective(lambda o: k * self(o), self.layers, f"{k} * {self.description}")

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return -1.0 * self


def _batch(t: torch.Tensor, batch: int | None) -> torch.Tensor:
    return t if batch is None else t[batch : batch + 1]


def channel(layer: str, index: int, *, batch: int | None = None) -> Objective:
    """Mean activation of channel ``index`` of ``layer`` (over positions and images).

    With ``batch``, only that image of the batch counts: summing objectives with different
    ``batch`` values optimises several units at once, one per image.
    """
    return Objective(
        lambda o: _batch(o[layer], batch)[:, index].mean(),
        (layer,),
        f"{layer}:{index}",
    )


def neuron(
    layer: str, index: int, *, y: int | None = None, x: int | None = None, batch: int | None = None
) -> Objective:
    """Activation of channel ``index`` of ``layer`` at one position (default: the centre)."""

    def fn(o):
        t = _batch(o[layer], batch)
        h, w = t.shape[-2:]
        return t[:, index, h // 2 if y is None else y, w // 2 if x is None else x].mean()

    return Objective(fn, (layer,), f"{layer}:{index}@({y},{x})")


# ---------------------------------------------------------------------------------------------
# The render loop
# ---------------------------------------------------------------------------------------------


@dataclass
class RenderResult:
    """The optimised images (N, C, H, W) in [0, 1] and the objective at every step.

    ``value`` is the objective for the final images without any transform.
    """

    images: torch.Tensor
    value: float
    history: list[float] = field(default_factory=list)


def render(
    model: nn.Module,
    objective: Objective,
    image: Image | None = None,
    *,
    transform: Transform | None = None,
    preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
    steps: int = 256,
    lr: float = 0.05,
    seed: int = 0,
    size: tuple[int, int, int, int] = (1, 3, 64, 64),
) -> RenderResult:
    """Maximise ``objective`` by gradient ascent (Adam) on the image parameters.

    The forward pass goes through :func:`layerwise.features.layer_outputs`, which computes only
    what the objective reads: visualising an early layer of a large network skips its deep
    layers.

    Parameters
    ----------
    model
        The network, run in eval mode; its weights are not changed.
    objective
        What to maximise (:func:`channel`, :func:`neuron`, or a combination).
    image
        The parameterisation to optimise; default :func:`pixel_image` of ``size``, started
        from ``seed``.
    transform
        Random transform applied before every forward pass (None: none).
    preprocess
        Maps pixels in [0, 1] to what the model expects, e.g.
        :meth:`layerwise.data.Dataset.normalize`.
    steps, lr
        Number of Adam steps and their learning rate.
    seed
        Seeds the default image's start and the transforms' random draws: the same seed gives
        the same result.

    Returns
    -------
    RenderResult
    """
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}.")
    generator = torch.Generator().manual_seed(seed)
    if image is None:
        image = pixel_image(size, generator=generator)
    preprocess = preprocess or (lambda t: t)
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    opt = torch.optim.Adam(image.params, lr=lr)
    history = []
    try:
        outputs = features.layer_outputs(model, objective.layers)
        for _ in range(steps):
            x = image()
            if transform is not None:
                x = transform(x, generator)
            value = objective(outputs(preprocess(x.to(dev))))
            grads = torch.autograd.grad(-value, image.params)
            for p, g in zip(image.params, grads, strict=True):
                p.grad = g
            opt.step()
            history.append(value.item())
        with torch.no_grad():
            final = image()
            value = objective(outputs(preprocess(final.to(dev)))).item()
    finally:
        model.train(was_training)
    return RenderResult(images=final.detach(), value=value, history=history)


# ---------------------------------------------------------------------------------------------
# The render cache
# ---------------------------------------------------------------------------------------------


def _weights_fingerprint(model: nn.Module) -> str:
    """Hash of the model's parameters and buffers (batch-norm statistics included)."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _code_fingerprint(model: nn.Module) -> str:
    """Hash of the code that decides a render: this module and the module defining the model."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    try:
        h.update(Path(inspect.getfile(type(model))).read_bytes())
    except (TypeError, OSError):  # a class defined interactively has no file to read
        h.update(type(model).__qualname__.encode())
    return h.hexdigest()[:16]


def cached(key: dict, compute: Callable[[], RenderResult], *, model: nn.Module) -> RenderResult:
    """``compute()``'s render, kept in the model cache so that a rebuild loads it.

    The result is stored in ``renders/`` under :func:`layerwise.train.cache_dir`, under a hash
    of ``key``, of ``model``'s weights (parameters and buffers) and of the code (this module and
    the module that defines the model's class). ``key`` must name everything else that decides
    the render and is not in the weights: the layer and channels, the image size, the steps,
    the learning rate, the seed, the transforms (as numbers, e.g. the dict they are built
    from). It must be JSON-serialisable.

    Example::

        key = {"layer": "stage4", "channels": [3, 17], "size": 96, "steps": 128, "seed": 0}
        result = optvis.cached(key, lambda: optvis.render(model, objective, ...), model=model)
    """
    from . import train

    try:
        spec = json.dumps(key, sort_keys=True)
    except TypeError as err:
        raise TypeError(f"the render cache key must be JSON-serialisable: {err}") from None
    h = hashlib.sha256(spec.encode())
    h.update(_weights_fingerprint(model).encode())
    h.update(_code_fingerprint(model).encode())
    path = train.cache_dir() / "renders" / f"render-{h.hexdigest()[:24]}.pt"
    if path.is_file():
        try:
            stored = torch.load(path, weights_only=True)
            return RenderResult(stored["images"], stored["value"], list(stored["history"]))
        except Exception:  # an unreadable entry (an interrupted write) is computed again
            pass
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{id(result)}")
    torch.save(
        {"images": result.images, "value": result.value, "history": result.history, "key": spec},
        tmp,
    )
    tmp.replace(path)
    return result
