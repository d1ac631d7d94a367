"""Run one gallery script outside Sphinx and save its figures as PNG files.

    python docs/_ext/run_example.py gallery/first_layers/plot_feature_maps.py [--out DIR]

The script runs as it would for a reader who downloaded it (Agg backend, the profile in
``LAYERWISE_PROFILE``), except that every ``plt.show()`` saves the open figures to ``DIR``
(default ``build/example-figures/<script name>``) so they can be looked at. It prints the run
time at the end.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.script.is_file():
        parser.error(f"{args.script} is not a file")
    out = args.out or Path("build/example-figures") / args.script.stem
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    count = 0

    def show(*_, **__):
        nonlocal count
        for num in plt.get_fignums():
            count += 1
            plt.figure(num).savefig(out / f"{args.script.stem}_{count:02d}.png", dpi=100)
        plt.close("all")

    plt.show = show
    started = time.perf_counter()
    sys.argv = [str(args.script)]
    runpy.run_path(str(args.script), run_name="__main__")
    show()
    print(
        f"\n{args.script}: ran in {time.perf_counter() - started:.1f} s; {count} figures in {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
