"""How the site is built, written down once: the sphinx-build command, its environment, the
wheel build, the model cache's default place in a checkout and the build profiles.

``noxfile.py`` (``nox -s docs``, ``nox -s tests``), ``bench.py`` and ``publish.py`` all build
the site with these. The module uses the standard library only, because ``noxfile.py`` imports
it (by path) in nox's own environment, which has neither Sphinx nor PyTorch.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _profiles() -> tuple[str, ...]:
    """``layerwise.runtime.PROFILES``, read from the source without importing the library."""
    source = ROOT / "src" / "layerwise" / "runtime.py"
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PROFILES" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    raise RuntimeError(f"{source} defines no PROFILES")


#: The build profiles (``LAYERWISE_PROFILE``): those of :mod:`layerwise.runtime`.
PROFILES = _profiles()


def model_cache(root: Path = ROOT) -> Path:
    """Where a build of the checkout ``root`` caches trained models: ``$LAYERWISE_CACHE`` if
    set, else ``root/build/model-cache`` (so ``rm -rf build`` forgets every model). Absolute,
    because examples run in their own folders."""
    return Path(os.environ.get("LAYERWISE_CACHE", root / "build" / "model-cache")).expanduser()


#: One thread for PyTorch (OpenMP), MKL and OpenBLAS in every process of a site build.
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

#: glibc's allocator, told to keep freed memory for reuse. By default a block of more than a
#: few megabytes (a batch of activations) is mapped from the system when it is allocated and
#: handed back when it is freed, and the system zeroes each of its pages again on first touch:
#: one fit of the ImageNet-transfer page's 240-image CNN took 1.1 million page faults, 180,000
#: with this setting. Blocks up to 32 MiB (the most glibc allows) now come from the heap, and up
#: to 256 MiB of free memory stays at its top. Allocation changes no result; it costs a little
#: memory (the top-patches page peaked 3 % higher) and saves time (that fit took 7.0 s instead
#: of 7.9 s, medians of five alternated; the top-patches page 28 s instead of 34).
ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20)}


def build_env(profile: str, cache: Path) -> dict[str, str]:
    """The variables every site build sets: profile, model cache, a headless matplotlib, a
    fixed hash seed (so that set and dict orders, and with them the pages, repeat) and one
    thread per process (:data:`SINGLE_THREADED`): how a sum is split between threads changes
    its last bits, so with one thread a page prints the same numbers whatever the machine's
    core count and however many pages the build runs at once (it runs one per core); and
    glibc's allocator keeps freed memory for reuse (:data:`ALLOCATOR`)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown build profile {profile!r}; use one of {', '.join(PROFILES)}.")
    return {
        "LAYERWISE_PROFILE": profile,
        "LAYERWISE_CACHE": str(Path(cache).expanduser().resolve()),
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        **SINGLE_THREADED,
        **ALLOCATOR,
    }


def sphinx_command(
    source: Path,
    out: Path,
    doctrees: Path,
    *,
    python: str = sys.executable,
    traceback: bool = False,
) -> list[str]:
    """sphinx-build of the checkout ``source`` (its ``conf.py`` and ``docs/``) into ``out``.

    Warnings are errors (``-W``), reported all at once (``--keep-going``), and every cross
    reference must resolve (``-n``); ``traceback`` adds ``-T`` (full tracebacks). The output
    folder comes last.
    """
    return [
        python, "-m", "sphinx",
        "-b", "html",
        "-c", str(source),
        "-d", str(doctrees),
        "-W", "--keep-going",
        "-n",
        *(["-T"] if traceback else []),
        str(Path(source) / "docs"),
        str(out),
    ]  # fmt: skip


def wheel_command(source: Path, out_dir: Path, *, python: str = sys.executable) -> list[str]:
    """Build the library's wheel from ``source`` into ``out_dir``: with uv where there is one,
    else with pip. The site publishes it, so a downloaded notebook installs the same code."""
    if shutil.which("uv"):
        return ["uv", "build", "--wheel", "--quiet", "--out-dir", str(out_dir), str(source)]
    return [python, "-m", "pip", "wheel", "--quiet", "--no-deps",
            "--wheel-dir", str(out_dir), str(source)]  # fmt: skip


#: One row of a Sphinx-Gallery timing table (``sg_execution_times.rst``): the example's file
#: name, then its run time as ``mm:ss.mmm``, the milliseconds rounded on their own (so 6.9996 s
#: is written ``00:06.1000``).
_TIMING_ROW = re.compile(r"\(``([^`]+)``\)\s*\n\s*- (\d+):(\d+)\.(\d+)")


def gallery_times(table: str) -> dict[str, float]:
    """Seconds per example file name (``plot_x.py``) from the text of one timing table."""
    return {
        Path(name).name: int(minutes) * 60 + int(seconds) + int(millis) / 1000
        for name, minutes, seconds, millis in _TIMING_ROW.findall(table)
    }
