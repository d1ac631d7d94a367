"""Small networks with named layers, built from plain configuration objects.

A configuration (:class:`CNNConfig`, :class:`MLPConfig`, :class:`CNN1dConfig`) is a frozen
dataclass: it says everything that determines the architecture, so it can be printed on a page,
hashed for the model cache and turned into a model with :meth:`~CNNConfig.build`. The models are
:class:`torch.nn.Sequential` with readable names -- ``conv1``, ``relu1``, ``pool1``, ``conv2``,
... ``fc`` -- so pages can say "the feature maps after ``relu2``" and feature extractors,
receptive-field calculators and transfer experiments can address layers by name.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
from torch import nn

__all__ = ["CNN1dConfig", "CNNConfig", "MLPConfig"]


class _ConvStack:
    """What the convolutional configurations share: a depth, and one entry per layer in each
    per-layer field (``_per_layer``) that is given."""

    _per_layer: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        n = len(self.widths)
        if n == 0:
            raise ValueError("a CNN needs at least one convolution: widths is empty.")
        for name in self._per_layer:
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(
                    f"{name} has {len(value)} entries but widths has {n}; give one per layer."
                )

    @property
    def depth(self) -> int:
        """The number of convolution blocks."""
        return len(self.widths)

    def _blocks(self, conv, norm, pool, kernel_sizes, *per_layer) -> list[tuple[str, nn.Module]]:
        """The named layers of every block ``i``: ``conv{i}`` -> [``bn{i}``] -> ``relu{i}`` ->
        [``pool{i}``], made in that order (the order the weights are drawn in).

        ``conv(in_channels, width, k, *extra)`` makes a convolution with ``k``, ``extra`` the
        block's entries of ``per_layer``; ``norm(width)`` a batch norm (when ``batchnorm``);
        ``pool()`` the pooling layer (for the blocks whose ``pools`` entry is true, default all).
        """
        pools = self.pools if self.pools is not None else (True,) * self.depth
        layers: list[tuple[str, nn.Module]] = []
        channels = self.in_channels
        for i, (width, k, use_pool, *extra) in enumerate(
            zip(self.widths, kernel_sizes, pools, *per_layer, strict=True), start=1
        ):
            layers.append((f"conv{i}", conv(channels, width, k, *extra)))
            if self.batchnorm:
                layers.append((f"bn{i}", norm(width)))
            layers.append((f"relu{i}", nn.ReLU()))
            if use_pool:
                layers.append((f"pool{i}", pool()))
            channels = width
        return layers

    def _assemble(self, blocks, global_pool: nn.Module) -> nn.Sequential:
        """The model: ``blocks``, then ``gap`` (``global_pool``), ``flatten`` and ``fc``."""
        layers = [
            *blocks,
            ("gap", global_pool),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(self.widths[-1], self.num_classes)),
        ]
        model = nn.Sequential(OrderedDict(layers))
        model.config = self
        return model

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, **asdict(self)}


@dataclass(frozen=True)
class CNNConfig(_ConvStack):
    """A stack of convolution blocks followed by global average pooling and a linear classifier.

    Block ``i`` (1-based) is ``conv{i}`` -> [``bn{i}``] -> ``relu{i}`` -> [``pool{i}``]: a
    convolution with ``widths[i-1]`` filters of size ``kernel_sizes[i-1]`` (default 3) and
    stride ``strides[i-1]`` (default 1) with "same" padding, optional batch normalisation, a
    ReLU, and a 2x2 max-pool when ``pools[i-1]`` is true (default: every block).
    Then ``gap`` (global average pool), ``flatten`` and ``fc``.

    ``conv1_init_scale`` multiplies the first layer's initial weights. With batch normalisation
    after ``conv1`` the scale does not change what the network computes, but a small start means
    the trained filters show what the gradient put there rather than leftover initial noise.
    """

    in_channels: int = 3
    num_classes: int = 10
    widths: tuple[int, ...] = (32, 64, 128)
    kernel_sizes: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    pools: tuple[bool, ...] | None = None
    batchnorm: bool = True
    conv1_init_scale: float = 1.0

    _per_layer: ClassVar[tuple[str, ...]] = ("kernel_sizes", "strides", "pools")

    def build(self) -> nn.Sequential:
        """A freshly initialised model (seed the global RNG first for reproducible weights)."""
        blocks = self._blocks(
            lambda c_in, c_out, k, s: nn.Conv2d(c_in, c_out, k, stride=s, padding=k // 2),
            nn.BatchNorm2d,
            lambda: nn.MaxPool2d(2),
            self.kernel_sizes or (3,) * self.depth,
            self.strides or (1,) * self.depth,
        )
        model = self._assemble(blocks, nn.AdaptiveAvgPool2d(1))
        if self.conv1_init_scale != 1.0:
            with torch.no_grad():
                model.conv1.weight.mul_(self.conv1_init_scale)
        return model


@dataclass(frozen=True)
class MLPConfig:
    """A fully connected network: ``flatten`` -> (``fc{i}`` -> ``act{i}``)* -> ``out``.

    ``in_features`` is the number of input values (pixels x channels); ``activation`` is
    ``"relu"``, ``"sigmoid"`` or ``"tanh"``.
    """

    in_features: int = 64
    num_classes: int = 10
    hidden: tuple[int, ...] = (25, 15)
    activation: str = "relu"

    def __post_init__(self):
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation {self.activation!r} is not one of {', '.join(_ACTIVATIONS)}."
            )

    @property
    def depth(self) -> int:
        return len(self.hidden)

    def build(self) -> nn.Sequential:
        """A freshly initialised model (seed the global RNG first for reproducible weights)."""
        layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
        features = self.in_features
        for i, width in enumerate(self.hidden, start=1):
            layers.append((f"fc{i}", nn.Linear(features, width)))
            layers.append((f"act{i}", _ACTIVATIONS[self.activation]()))
            features = width
        layers.append(("out", nn.Linear(features, self.num_classes)))
        model = nn.Sequential(OrderedDict(layers))
        model.config = self
        return model

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, **asdict(self)}


_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


@dataclass(frozen=True)
class CNN1dConfig(_ConvStack):
    """A 1-D convolutional network for sounds and other signals, named like :class:`CNNConfig`.

    Block ``i`` is ``conv{i}`` (:class:`~torch.nn.Conv1d`, ``widths[i-1]`` filters of
    ``kernel_sizes[i-1]`` samples, default 9, "same" padding) -> [``bn{i}``] -> ``relu{i}`` ->
    [``pool{i}``, a max-pool by ``pool_size``, when ``pools[i-1]``, default every block]. Then
    ``gap`` (global average pool over time), ``flatten`` and ``fc``. Inputs are (N, C, L).
    """

    in_channels: int = 1
    num_classes: int = 10
    widths: tuple[int, ...] = (16, 32, 64)
    kernel_sizes: tuple[int, ...] | None = None
    pools: tuple[bool, ...] | None = None
    pool_size: int = 4
    batchnorm: bool = True

    _per_layer: ClassVar[tuple[str, ...]] = ("kernel_sizes", "pools")

    def build(self) -> nn.Sequential:
        """A freshly initialised model (seed the global RNG first for reproducible weights)."""
        blocks = self._blocks(
            lambda c_in, c_out, k: nn.Conv1d(c_in, c_out, k, padding=k // 2),
            nn.BatchNorm1d,
            lambda: nn.MaxPool1d(self.pool_size),
            self.kernel_sizes or (9,) * self.depth,
        )
        return self._assemble(blocks, nn.AdaptiveAvgPool1d(1))
