"""A convolutional stack read out from one unit: the centre of its last feature map.

Most CNNs end in global average pooling, so the class score is an average over every position
of the last map and no single unit has to integrate the whole input. To study what *one* unit
learns to look at -- its effective receptive field (Luo et al., 2016) -- the classifier here
reads only the unit at the centre of the last map: that unit must gather everything the class
depends on from its receptive field.

:class:`CentreUnitCNNConfig` is a configuration like those of :mod:`layerwise.models` (frozen,
printable, hashable for the model cache, ``build()``), with the same layer names: ``conv{i}``
-> [``bn{i}``] -> ``relu{i}``, then ``centre`` (the centre unit, all channels), and ``fc``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass

from torch import nn

__all__ = ["CentreUnit", "CentreUnitCNNConfig"]


class CentreUnit(nn.Module):
    """Keep the unit at the centre of a (N, C, H, W) map: (N, C) at row (H - 1) // 2, column
    (W - 1) // 2 -- the unit :func:`layerwise.receptive.effective_receptive_field` measures."""

    def forward(self, x):
        """The centre position of every channel: (N, C, H, W) -> (N, C)."""
        h, w = x.shape[-2:]
        return x[:, :, (h - 1) // 2, (w - 1) // 2]


@dataclass(frozen=True)
class CentreUnitCNNConfig:
    """A stack of ``depth`` convolutions of ``kernel_size`` with ``width`` filters each, stride 1,
    "same" padding and no pooling, classified from the centre unit of the last map.

    The theoretical receptive field of that unit is ``depth * (kernel_size - 1) + 1`` pixels
    wide, so the depth decides how much of the image the classifier can use.
    """

    in_channels: int = 1
    num_classes: int = 10
    depth: int = 6
    width: int = 16
    kernel_size: int = 3
    batchnorm: bool = True

    def __post_init__(self):
        if self.depth < 1 or self.width < 1:
            raise ValueError("depth and width must be positive.")
        if self.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (centred), got {self.kernel_size}.")

    @property
    def field(self) -> int:
        """The theoretical receptive field of the centre unit, in pixels across."""
        return self.depth * (self.kernel_size - 1) + 1

    def build(self) -> nn.Sequential:
        """A freshly initialised model (seed the global RNG first for reproducible weights)."""
        layers: list[tuple[str, nn.Module]] = []
        channels, k = self.in_channels, self.kernel_size
        for i in range(1, self.depth + 1):
            layers.append((f"conv{i}", nn.Conv2d(channels, self.width, k, padding=k // 2)))
            if self.batchnorm:
                layers.append((f"bn{i}", nn.BatchNorm2d(self.width)))
            layers.append((f"relu{i}", nn.ReLU()))
            channels = self.width
        layers += [("centre", CentreUnit()), ("fc", nn.Linear(channels, self.num_classes))]
        model = nn.Sequential(OrderedDict(layers))
        model.config = self
        return model

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, **asdict(self)}
