"""Train one chapter's networks into the model cache, outside Sphinx.

    python docs/_ext/fill_cache.py CHAPTER [--profile default] [--cache DIR]
    python docs/_ext/fill_cache.py --list

Every gallery script of ``gallery/CHAPTER`` runs in its own process, as
``docs/_ext/run_example.py`` runs it (figures are drawn and thrown away), with
``LAYERWISE_CACHE`` pointing at the cache, so the networks it trains are stored there. The
model cache is content-addressed (one file per data, configuration, schedule, seed and library
code), so caches filled on different machines merge by copying their files into one folder.

The hosted workflow (``.github/workflows/docs.yml``) runs one job per chapter in parallel
(``nox -s cache -- CHAPTER``), then builds the site from the merged caches: every page loads its
networks instead of training them. A chapter whose pages reuse another chapter's networks (the
photo-patch CNN of ``first_layers`` is studied again in ``what_layers_learn``) trains them too,
so the jobs overlap a little; the final build's cost is what they save.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import buildcmd

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "gallery"
RUN_EXAMPLE = Path(__file__).resolve().parent / "run_example.py"


def chapters(gallery: Path = GALLERY) -> list[str]:
    """The chapter folders of the gallery (those with a README.rst), in name order."""
    return sorted(p.parent.name for p in gallery.glob("*/README.rst"))


def scripts(chapter: str, gallery: Path = GALLERY) -> list[Path]:
    """The gallery scripts of one chapter, in name order."""
    known = chapters(gallery)
    if chapter not in known:
        raise ValueError(
            f"no chapter {chapter!r} in {gallery}; the chapters are {', '.join(known)}."
        )
    return sorted((gallery / chapter).glob("plot_*.py"))


def fill(
    chapter: str, cache: Path, profile: str = "default", gallery: Path = GALLERY
) -> dict[str, float]:
    """Run every script of ``chapter`` with the model cache at ``cache``; seconds per script.

    A script that fails stops the run with its output (a cache filled by a broken page would
    only move the failure to the site build)."""
    cache.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **buildcmd.build_env(profile, cache))
    seconds = {}
    with tempfile.TemporaryDirectory() as figures:
        for script in scripts(chapter, gallery):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, str(RUN_EXAMPLE), str(script), "--out", figures],
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"{script.name} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
                )
            seconds[script.name] = time.perf_counter() - started
            print(f"{chapter}/{script.name}: {seconds[script.name]:.1f} s", flush=True)
    models = sum(1 for p in cache.rglob("*") if p.is_file())
    print(
        f"{chapter}: {sum(seconds.values()):.1f} s for {len(seconds)} pages; "
        f"{models} files in {cache}"
    )
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", nargs="?")
    parser.add_argument("--list", action="store_true", help="print the chapters as a JSON list")
    parser.add_argument("--profile", default="default", choices=buildcmd.PROFILES)
    parser.add_argument(
        "--cache", type=Path, default=None, help="default: layerwise.train.cache_dir()"
    )
    args = parser.parse_args(argv)
    if args.list:
        print(json.dumps(chapters()))
        return 0
    if not args.chapter:
        parser.error(f"name a chapter: {', '.join(chapters())}, or --list")
    if args.cache is None:
        from layerwise import train

        args.cache = train.cache_dir()
    cache = args.cache
    try:
        fill(args.chapter, cache, args.profile)
    except (ValueError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
