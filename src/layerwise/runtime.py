"""Where and how experiments run: the device, the seed, and the build profile.

Everything that depends on the machine or on how big a build should be is read here, in one
place, so that a page says ``runtime.pick(quick=..., default=..., full=...)`` and never reads an
environment variable itself.

Environment variables
---------------------
``LAYERWISE_DEVICE``
    Force a device (``cpu``, ``cuda``, ``cuda:1``, ``mps``). Default: CUDA, then MPS, then CPU.
``LAYERWISE_PROFILE``
    ``quick`` (smoke-test sizes), ``default`` (the published site on a laptop CPU) or ``full``
    (more seeds and data, for a GPU build).
``LAYERWISE_PROGRESS``
    Set by the site build: :func:`progress` lines go to the terminal.
"""

from __future__ import annotations

import os
import random
import sys
from typing import TypeVar

import numpy as np
import torch

__all__ = [
    "PROFILES",
    "device",
    "pick",
    "profile",
    "progress",
    "seed_everything",
    "seeds",
    "trained",
]

PROFILES = ("quick", "default", "full")

T = TypeVar("T")


def profile() -> str:
    """The build profile named by ``LAYERWISE_PROFILE`` (``default`` when unset).

    Raises
    ------
    ValueError
        If the variable names a profile that does not exist.
    """
    name = os.environ.get("LAYERWISE_PROFILE", "default").strip().lower() or "default"
    if name not in PROFILES:
        raise ValueError(
            f"LAYERWISE_PROFILE={name!r} is not a build profile; use one of {', '.join(PROFILES)}."
        )
    return name


def pick(*, quick: T, default: T, full: T) -> T:
    """Return the value for the current build profile.

    Pages state their sizes with this, so one line shows what each profile does::

        n_train = runtime.pick(quick=800, default=6000, full=30000)
    """
    return {"quick": quick, "default": default, "full": full}[profile()]


def seeds(n: int = 5) -> list[int]:
    """The seeds a page repeats an experiment over: ``n`` in the default profile (at least 5,
    the site's minimum for a comparative claim), ``2 n`` in the full profile, and at most 2 in
    the quick profile (a smoke test whose claims are not checked).

        for seed in runtime.seeds():       # 0, 1, 2, 3, 4 in the default profile
            ...
    """
    if n < 5:
        raise ValueError(
            f"seeds({n}): a comparative claim needs at least 5 seeds in the default profile."
        )
    return list(range(pick(quick=min(2, n), default=n, full=2 * n)))


def device() -> torch.device:
    """The device experiments run on: ``LAYERWISE_DEVICE`` if set, else CUDA, MPS, then CPU.

    Raises
    ------
    ValueError
        If ``LAYERWISE_DEVICE`` names a device that is not available on this machine.
    """
    requested = os.environ.get("LAYERWISE_DEVICE", "").strip()
    if requested:
        try:
            dev = torch.device(requested)
        except RuntimeError as err:
            raise ValueError(
                f"LAYERWISE_DEVICE={requested!r} is not a device name; use cpu, cuda or mps."
            ) from err
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"LAYERWISE_DEVICE={requested!r} but PyTorch sees no CUDA device; unset it to "
                "run on the CPU."
            )
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"LAYERWISE_DEVICE={requested!r} but MPS is not available here.")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _deterministic_kernels() -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)``, without its import cost and
    without filling new tensors with NaN.

    Besides PyTorch's own flag, the public function sets the flag of TorchInductor, the
    compiler behind ``torch.compile``, and imports it to do so: 1.8 s of every process's first
    call on a 2-core CPU, a second for each of a build's pages. Layerwise never compiles, so it
    sets PyTorch's flag alone, and goes through the public function once Inductor is loaded
    anyway (a reader's code that compiles)."""
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=True)
    # With the flag on, PyTorch also fills every newly allocated tensor with NaN, in case a
    # kernel reads memory it never wrote: a pass over every intermediate result, 14 % of an
    # EfficientNet-Lite0 forward pass on a 2-core CPU (too little to measure in a photo-CNN
    # training run). Layerwise's kernels write what they read, so it is turned off: a cold site
    # build printed the same output on every page with it on and off. Determinism itself is
    # unchanged: the benchmark checks that builds one page at a time and two side by side print
    # the same numbers and save byte-identical networks.
    torch.utils.deterministic.fill_uninitialized_memory = False


def seed_everything(seed: int = 0, *, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (all devices) and, by default, ask for deterministic kernels.

    Returns a :class:`torch.Generator` on the CPU seeded with ``seed``, for code that wants its
    own stream of random numbers rather than the global one.
    """
    if deterministic:
        # cuBLAS needs this set before its first use to be deterministic.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        _deterministic_kernels()
        torch.backends.cudnn.benchmark = False
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeding the legacy global generator
    torch.manual_seed(seed)  # also seeds every CUDA device
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def progress(message: str) -> None:
    """One line on the terminal about expensive work (a network trained, an image rendered).

    Only inside a site build (``LAYERWISE_PROGRESS`` set), where Sphinx-Gallery puts what a
    page prints on the page: the line goes to the build's terminal instead, prefixed with the
    page being built, so a long build shows what it is doing.
    """
    if os.environ.get("LAYERWISE_PROGRESS"):
        page = os.environ.get("LAYERWISE_PAGE", "")
        print(
            f"layerwise: {page + ': ' if page else ''}{message}", file=sys.__stderr__, flush=True
        )


def trained(what: str, seconds: float, device: str | None = None) -> None:
    """The :func:`progress` line about networks just trained: ``trained <what> in <seconds> s``,
    then the ``device`` in brackets if given. Every such line has this one form, so the
    benchmark (``docs/_ext/bench.py``) adds up each page's training time with one pattern."""
    where = f" ({device})" if device else ""
    progress(f"trained {what} in {seconds:.1f} s{where}")
