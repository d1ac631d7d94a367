"""Weights during training: the state of a network after every epoch.

:func:`layerwise.train.fit` returns only the trained network. To watch learning happen -- which
layers settle first, how a filter forms -- :func:`fit_with_snapshots` trains the same network
through the same code path (same seed, same batches, same result) and keeps a copy of the weights
at the start of every epoch and at the end.

The snapshots are cached next to the model cache, under the key :func:`~layerwise.train.fit`
uses, and the final network lands in the model cache too, so a page that later asks
:func:`~layerwise.train.fit` for the same network loads it instead of training it again.

>>> run = fit_with_snapshots(config, data, schedule, seed=0)   # doctest: +SKIP
>>> model = run.model_at(3)        # the network after 3 epochs   # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

import torch
from torch import nn

from . import runtime, train
from .data import Dataset

__all__ = ["Snapshots", "fit_with_snapshots", "is_cached"]

_FORMAT = 1


@dataclass
class Snapshots:
    """A trained network and its weights after each epoch.

    ``states[e]`` is the state dict after ``e`` epochs (``states[0]``: the initial weights,
    ``states[-1]``: the trained network's); ``result`` is what :func:`~layerwise.train.fit`
    returns for the same arguments.
    """

    config: object
    result: train.FitResult
    states: list[dict[str, torch.Tensor]]

    @property
    def epochs(self) -> int:
        return len(self.states) - 1

    def model_at(self, epoch: int, device: torch.device | str | None = None) -> nn.Module:
        """The network after ``epoch`` epochs (0 = untrained), in eval mode."""
        if not 0 <= epoch <= self.epochs:
            raise ValueError(f"epoch must be in 0..{self.epochs}, got {epoch}.")
        model = self.config.build()
        model.load_state_dict(self.states[epoch])
        device = torch.device(device) if device is not None else runtime.device()
        return model.to(device).eval()


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    # Training may run in another memory layout (train.memory_format); a snapshot is stored in
    # the default one, like the final network.
    return {
        k: v.detach().cpu().clone(memory_format=torch.contiguous_format)
        for k, v in model.state_dict().items()
    }


def _hooked(config, steps_per_epoch: int, states: list):
    """A copy of ``config`` whose ``build()`` records the weights at the start of every epoch.

    The copy hashes like the original (same ``to_dict``), so ``fit`` caches the final network
    under the original's key. The hook reads the weights before the first training batch of
    each epoch, i.e. after the previous epoch's last optimiser step; evaluation passes (eval
    mode) are ignored.
    """
    hooked = copy.copy(config)
    counter = {"forward": 0}
    handles = []

    def pre_hook(module, args):
        if module.training:
            if counter["forward"] % steps_per_epoch == 0:
                states.append(_cpu_state(module))
            counter["forward"] += 1

    def build():
        model = config.build()
        handles.append(model.register_forward_pre_hook(pre_hook))
        return model

    object.__setattr__(hooked, "build", build)
    object.__setattr__(hooked, "_snapshot_hooks", handles)
    return hooked


def _paths(config, data: Dataset, schedule: train.Schedule, seed: int, device: torch.device):
    """The model-cache files of one trained network: its final weights and its snapshots."""
    key = train._cache_key(config, data, schedule, seed, None, (), device)
    return key, train.cache_dir() / f"{key}.pt", train.cache_dir() / f"{key}.snapshots.pt"


def is_cached(
    config,
    data: Dataset,
    schedule: train.Schedule | None = None,
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> bool:
    """Whether :func:`fit_with_snapshots` would load this network and its snapshots from the
    model cache instead of training it."""
    dev = torch.device(device) if device is not None else runtime.device()
    _, model, states = _paths(config, data, schedule or train.Schedule(), seed, dev)
    return model.exists() and states.exists()


def fit_with_snapshots(
    config,
    data: Dataset,
    schedule: train.Schedule | None = None,
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
    verbose: bool = True,
) -> Snapshots:
    """Train like :func:`~layerwise.train.fit` and keep the weights after every epoch.

    Loads the snapshots from the cache when they are there; otherwise trains (once) and saves
    both the snapshots and the final network (so :func:`~layerwise.train.fit` finds it).
    """
    schedule = schedule or train.Schedule()
    dev = torch.device(device) if device is not None else runtime.device()
    _, model_path, path = _paths(config, data, schedule, seed, dev)
    if path.exists():
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
            if entry.get("format") == _FORMAT:
                result = train.fit(config, data, schedule, seed=seed, device=dev, verbose=verbose)
                return Snapshots(config, result, entry["states"])
        except Exception:  # unreadable: train again
            path.unlink(missing_ok=True)
    states: list[dict[str, torch.Tensor]] = []
    steps = (len(data.y_train) + schedule.batch_size - 1) // schedule.batch_size
    model_cached = model_path.exists()
    hooked = _hooked(config, steps, states)
    result = train.fit(
        hooked,
        data,
        schedule,
        seed=seed,
        device=dev,
        cache=not model_cached,  # fill the model cache too, unless it already holds this network
        verbose=verbose,
    )
    for handle in hooked._snapshot_hooks:
        handle.remove()
    states.append(_cpu_state(result.model))
    if len(states) != schedule.epochs + 1:
        raise RuntimeError(f"recorded {len(states)} snapshots for {schedule.epochs} epochs.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"format": _FORMAT, "states": states}, tmp)
    os.replace(tmp, path)
    return Snapshots(config, result, states)
