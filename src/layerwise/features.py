"""Intermediate outputs: what each layer of a network computes for an input.

Built on torchvision's :func:`~torchvision.models.feature_extraction.create_feature_extractor`
(symbolic tracing), so any layer of any traceable model can be read by its qualified name, with
no hand-written forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["extract", "layer_names"]


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
    batch_size: int = 1024,
) -> dict[str, torch.Tensor]:
    """Outputs of the named ``layers`` for inputs ``x``, in eval mode, batched.

    Returns a dict from layer name to a tensor with one row per input, on ``x``'s device. For a
    convolution layer the shape is (N, channels, height, width).

    Raises
    ------
    ValueError
        If a name is not a layer of the model.
    """
    from torchvision.models.feature_extraction import create_feature_extractor

    known = {name for name, _ in model.named_modules() if name}
    unknown = [name for name in layers if name not in known]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} not in the model; its layers are "
            f"{', '.join(layer_names(model))}."
        )
    was_training = model.training
    model.eval()
    extractor = create_feature_extractor(model, return_nodes={name: name for name in layers})
    dev = next(model.parameters()).device
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for i in range(0, len(x), batch_size):
        out = extractor(x[i : i + batch_size].to(dev))
        for name in layers:
            chunks[name].append(out[name].to(x.device))
    model.train(was_training)
    return {name: torch.cat(parts) for name, parts in chunks.items()}
