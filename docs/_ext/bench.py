"""Benchmark the site build and the training loop; write the results the benchmarks page shows.

    python docs/_ext/bench.py [--repeat N] [--profile default] [--out docs/benchmarks/results.json]

Runs in a fresh clone of the committed HEAD (so uncommitted edits are not measured), with an
empty model cache:

* **cold**: the first build (every example trains its networks) -- total, per page (from
  Sphinx-Gallery's timing table) and peak memory of the build and its notebook kernels;
* **warm**: the same build again with nothing changed;
* **prose edit**: one Markdown page changed;
* **library edit**: one function of ``layerwise.filters`` changed -- which pages re-ran;
* **training-loop efficiency**: examples per second of :func:`layerwise.train.fit`'s loop over
  examples per second of a bare forward/backward/step on the same model and batches.

Timings are medians over ``--repeat`` runs (cold builds are repeated from a clean clone).
``nox -s bench`` runs this in the docs environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tree_rss(pid: int) -> int:
    """Resident memory, in bytes, of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def timed_build(clone: Path, env: dict, log: Path) -> dict:
    """Run sphinx-build in ``clone``; wall time, peak memory of the process tree, and its log."""
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(clone), "-d",
           str(clone / "build" / "doctrees"), "-W", "--keep-going", "-n",
           str(clone / "docs"), str(clone / "build" / "html")]  # fmt: skip
    peak = 0
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def watch():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                done.wait(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        code = proc.wait()
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
    text = log.read_text()
    if code:
        raise RuntimeError(f"the build failed (exit {code}); see {log}")
    rerun = re.search(r"layerwise: .* re-running (.*)", text)
    return {
        "seconds": seconds,
        "peak_memory_mb": peak / 2**20,
        "rerun": rerun.group(1).split(", ") if rerun else [],
    }


def page_times(clone: Path) -> dict[str, float]:
    """Seconds per gallery page, from Sphinx-Gallery's timing tables."""
    times = {}
    for table in sorted((clone / "docs" / "auto_examples").glob("*/sg_execution_times.rst")):
        chapter = table.parent.name
        for name, mm, ss in re.findall(
            r":ref:`sphx_glr_[^`]*?_(plot_\w+?)\.py`.*?\n\s+- (\d\d):(\d\d\.\d+)",
            table.read_text(),
        ):
            times[f"{chapter}/{name}"] = int(mm) * 60 + float(ss)
    return times


def fresh_clone(into: Path) -> Path:
    clone = into / "layerwise"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    return clone


def build_benchmarks(repeat: int, profile: str, work: Path) -> dict:
    env = dict(os.environ, LAYERWISE_PROFILE=profile, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    cold, warm, prose, library = [], [], [], []
    pages: dict[str, list[float]] = {}
    for i in range(repeat):
        clone = fresh_clone(work)
        env.update(PYTHONPATH=str(clone / "src"), LAYERWISE_CACHE=str(clone / "build" / "cache"))
        print(f"[{i + 1}/{repeat}] cold build ...", flush=True)
        cold.append(timed_build(clone, env, work / f"cold-{i}.log"))
        for name, seconds in page_times(clone).items():
            pages.setdefault(name, []).append(seconds)
        print(f"[{i + 1}/{repeat}] warm build ...", flush=True)
        warm.append(timed_build(clone, env, work / f"warm-{i}.log"))
        with (clone / "docs" / "index.md").open("a") as f:
            f.write("\nA sentence added by the benchmark.\n")
        print(f"[{i + 1}/{repeat}] prose edit ...", flush=True)
        prose.append(timed_build(clone, env, work / f"prose-{i}.log"))
        source = clone / "src" / "layerwise" / "filters.py"
        source.write_text(
            source.read_text().replace(
                "    return _orientation_vector(weights, pad).abs()",
                "    selectivity = _orientation_vector(weights, pad).abs()  # edited\n"
                "    return selectivity",
            )
        )
        print(f"[{i + 1}/{repeat}] library edit ...", flush=True)
        library.append(timed_build(clone, env, work / f"library-{i}.log"))

    def summary(runs):
        return {
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "runs_seconds": [round(r["seconds"], 1) for r in runs],
            "median_peak_memory_mb": statistics.median(r["peak_memory_mb"] for r in runs),
        }

    return {
        "cold": summary(cold),
        "warm": summary(warm),
        "prose_edit": summary(prose),
        "library_edit": {**summary(library), "rerun": library[-1]["rerun"]},
        "pages_median_seconds": {k: statistics.median(v) for k, v in sorted(pages.items())},
    }


def training_loop_efficiency(repeat: int) -> dict:
    """Examples/s of train.fit's loop over examples/s of a bare loop on the same batches."""
    import torch
    import torch.nn.functional as F

    from layerwise import runtime, train, zoo

    recipe = zoo.photo_cnn()  # the network most pages share, two epochs of its schedule
    patches, config = recipe.data, recipe.config
    schedule = dataclasses.replace(recipe.schedule, epochs=2)
    n = 2 * len(patches.y_train)
    fit_rates, bare_rates = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        train.fit(config, patches, schedule, cache=False, verbose=False)
        fit_rates.append(n / (time.perf_counter() - started))

        runtime.seed_everything(0)
        model = config.build().to(runtime.device())
        opt = torch.optim.AdamW(
            model.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay
        )
        x, y = patches.x_train.to(runtime.device()), patches.y_train.to(runtime.device())
        b = schedule.batch_size
        batches = [(x[i : i + b], y[i : i + b]) for i in range(0, len(y), b)]
        model.train()
        started = time.perf_counter()
        for _ in range(2):
            for xb, yb in batches:
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        if runtime.device().type == "cuda":
            torch.cuda.synchronize()
        bare_rates.append(n / (time.perf_counter() - started))
    fit_rate, bare_rate = statistics.median(fit_rates), statistics.median(bare_rates)
    return {
        "fit_examples_per_second": fit_rate,
        "bare_examples_per_second": bare_rate,
        "ratio": fit_rate / bare_rate,
        "note": "fit includes per-epoch test evaluation, shuffling, augmentation and the "
        "learning-rate schedule; the bare loop has none of these",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", default="default", choices=["quick", "default", "full"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "results.json")
    parser.add_argument("--skip-builds", action="store_true", help="only the training loop")
    args = parser.parse_args(argv)
    import torch

    from layerwise import runtime

    results = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpu_count": os.cpu_count(),
            "device": runtime.device().type,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__,
        },
        "profile": args.profile,
        "repeat": args.repeat,
        "date": time.strftime("%Y-%m-%d"),
        "commit": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip(),  # fmt: skip
    }
    results["training_loop"] = training_loop_efficiency(max(args.repeat, 3))
    print(json.dumps(results["training_loop"], indent=1), flush=True)
    if not args.skip_builds:
        with tempfile.TemporaryDirectory(prefix="layerwise-bench-") as work:
            results["build"] = build_benchmarks(args.repeat, args.profile, Path(work))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
