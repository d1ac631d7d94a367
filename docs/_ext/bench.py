"""Benchmark the site build and the training loop; write the results the benchmarks page shows.

    python docs/_ext/bench.py [--repeat N] [--jobs J] [--compare-jobs K] [--profile default]
                              [--out FILE]

Runs in fresh clones of the committed HEAD (so uncommitted edits are not measured), each with
an empty model cache:

* **cold**: the first build (every example trains its networks) -- total, per page (from
  Sphinx-Gallery's timing tables and myst-nb's execution log), per seed of the shared networks
  trained before their pages (``gallery_pool.SHARED_TIMES``) and peak memory of the build and
  its notebook kernels (the sum of their proportional set sizes, which counts a page shared
  between processes once; the sum of resident sizes, which counts it in each, is kept too);
* **warm**: the same build again with nothing changed;
* **prose edit**: one Markdown page changed;
* **library edit**: one function of ``layerwise.filters`` changed -- which pages re-ran;
* **training-loop efficiency**: examples per second of :func:`layerwise.train.fit`'s loop over
  examples per second of a bare forward/backward/step on the same model and batches.

* **determinism**: what every page printed (training times masked) and the checksum of every
  cached model, compared between the repeated cold builds;
* **other jobs**: one more cold build running ``--compare-jobs`` pages at a time (default 1,
  one after another), its time against the cold builds', and whether its results equal theirs.

Every build runs ``--jobs`` gallery pages at a time (``LAYERWISE_GALLERY_JOBS``; by default what
a build on this machine runs, ``layerwise_build.default_jobs``).

Timings are medians over ``--repeat`` runs (cold builds are repeated from a clean clone).
Results go to ``docs/benchmarks/<device>.json`` (``cpu.json``, ``cuda.json``), which the
benchmarks page renders; the build logs are copied to ``build/bench-logs``.
``nox -s bench`` runs this in the docs environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
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

import buildcmd
import gallery_pool
import layerwise_build

ROOT = Path(__file__).resolve().parents[2]

#: The budget a CPU build in the default profile must meet (seconds, megabytes, a ratio).
TARGETS = {
    "cold_seconds": 360,
    "cold_ceiling_seconds": 600,
    "page_seconds": 60,
    "peak_memory_mb": 3072,
    "warm_seconds": 20,
    "prose_edit_seconds": 30,
    "training_loop_ratio": 0.9,
    "five_seeds_over_one": 3.0,
}


def _pss(pid: int) -> int:
    """Proportional set size, in bytes, of one process (Linux ``smaps_rollup``): its private
    memory plus its share of the pages it shares with other processes."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_memory(pid: int) -> tuple[int, int]:
    """Memory of a process and all its descendants (Linux /proc), in bytes: ``(rss, pss)``.

    The sum of resident sizes counts a page shared by several processes (the PyTorch libraries
    each worker maps, or what workers forked from one server have not written to) once per
    process; the sum of proportional set sizes counts it once, which is what the build holds."""
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
    total_rss, total_pss, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        total_rss += rss.get(p, 0)
        total_pss += _pss(p)
        todo += children.get(p, [])
    return total_rss, total_pss


def timed_build(clone: Path, env: dict, log: Path) -> dict:
    """Run sphinx-build in ``clone``; wall time, peak memory of the process tree, and its log."""
    cmd = buildcmd.sphinx_command(clone, clone / "build" / "html", clone / "build" / "doctrees")
    peak = peak_rss = 0
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def watch():
            nonlocal peak, peak_rss
            while not done.is_set():
                rss, pss = _tree_memory(proc.pid)
                peak, peak_rss = max(peak, pss), max(peak_rss, rss)
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
        "peak_rss_sum_mb": peak_rss / 2**20,
        "rerun": rerun.group(1).split(", ") if rerun else [],
        "notebooks": notebook_times(text),
    }


def _table_times(table: Path, chapter: str) -> dict[str, float]:
    """Seconds per page from one chapter's Sphinx-Gallery timing table."""
    return {
        f"{chapter}/{Path(name).stem}": seconds
        for name, seconds in buildcmd.gallery_times(table.read_text()).items()
    }


def page_times(clone: Path) -> dict[str, float]:
    """Seconds per gallery page, from Sphinx-Gallery's timing tables."""
    times = {}
    for table in sorted((clone / "docs" / "auto_examples").glob("*/sg_execution_times.rst")):
        times |= _table_times(table, table.parent.name)
    return times


_FIT_LINE = re.compile(
    r"(trained \d+ epochs on \d+ images in [\d.]+ s on \w+(?: \(\d+ seeds together\))?"
    r"|loaded from the model cache)"
)
_OUTPUT_BLOCK = re.compile(
    r"\.\. rst-class:: sphx-glr-script-out\n\n \.\. code-block:: none\n\n((?:    .*\n|\n)+)"
)


_DURATION = re.compile(r"\bin [\d.]+ m?s\b")


def _normalise(text: str) -> str:
    """An output with what may honestly differ between builds (durations, cache hits) masked."""
    return _DURATION.sub("in <time>", _FIT_LINE.sub("<fit>", text))


def page_outputs(clone: Path) -> dict[str, str]:
    """What every executed page printed: Sphinx-Gallery's output blocks and the text outputs of
    the notebooks myst-nb executed, with training times masked."""
    outputs = {}
    for page in sorted((clone / "docs" / "auto_examples").glob("*/plot_*.rst")):
        blocks = _OUTPUT_BLOCK.findall(page.read_text())
        outputs[f"{page.parent.name}/{page.stem}"] = _normalise("".join(blocks))
    for notebook in sorted((clone / "build" / "jupyter_execute").rglob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        text = []
        for cell in cells:
            for out in cell.get("outputs", []):
                text += out.get("text", [])
                text += out.get("data", {}).get("text/plain", [])
        name = notebook.relative_to(clone / "build" / "jupyter_execute").with_suffix("")
        outputs[str(name)] = _normalise("".join(text))
    return outputs


def cache_checksums(cache: Path) -> dict[str, str]:
    """SHA-256 of every model the build saved in its cache."""
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(cache.glob("*.pt"))}


def compare(reference: dict, other: dict) -> dict:
    """Which pages printed something else, and which cached models differ, between two builds."""
    pages = sorted(
        name
        for name in set(reference["outputs"]) | set(other["outputs"])
        if reference["outputs"].get(name) != other["outputs"].get(name)
    )
    first_difference = {}
    for name in pages:
        a = reference["outputs"].get(name, "").splitlines()
        b = other["outputs"].get(name, "").splitlines()
        for left, right in itertools.zip_longest(a, b, fillvalue=""):
            if left != right:
                first_difference[name] = [left.strip(), right.strip()]
                break
    models_a, models_b = reference["models"], other["models"]
    return {
        "pages_compared": len(reference["outputs"]),
        "pages_differing": pages,
        "first_difference": first_difference,
        "models_compared": len(models_a),
        "models_differing": sorted(k for k in models_a if models_b.get(k) != models_a[k]),
        "models_only_in_one": sorted(set(models_a) ^ set(models_b)),
    }


def notebook_times(log: str) -> dict[str, float]:
    """Seconds per executed MyST page, from myst-nb's "Executed notebook in ..." log lines."""
    return {
        f"notebooks/{name}": float(seconds)
        for name, seconds in re.findall(
            r"/docs/(\S+)\.md: Executed notebook in ([\d.]+) seconds", log
        )
    }


#: A progress line about networks just trained (:func:`layerwise.runtime.trained` writes every
#: one): the page, what was trained, the seconds, and the device where the line names one.
_TRAINED = re.compile(
    r"^layerwise: ([\w/]+): trained (.+) in ([\d.]+) s(?: \((\w+)\))?$", re.MULTILINE
)
#: What such a line says about one network (:func:`layerwise.train.fit`'s lines).
_NETWORK = re.compile(r"^(\w+) seed (\d+): (\d+) epochs on (\d+) examples$")
_STARTED = re.compile(
    r"generating gallery for auto_examples/(\w+)\.\.\. \[\s*\d+%\] (plot_\w+)\.py"
)


def training_times(log: str, pages) -> dict[str, float]:
    """Seconds each gallery page of ``pages`` (``"chapter/plot_x"``) spent training networks,
    from the build's progress lines: one line per network (seeds trained together each with
    their share of the time) or per batch of networks. A page that trained nothing is 0; the
    shared networks' jobs are not pages and are left out (the build records them apart)."""
    by_stem = {name.split("/")[-1]: name for name in pages}
    seconds = dict.fromkeys(pages, 0.0)
    for page, _what, took, _device in _TRAINED.findall(log):
        if page in by_stem:
            seconds[by_stem[page]] += float(took)
    return seconds


def partial_build(log: str, tables: list[Path], seconds: float, reason: str) -> dict:
    """What a cold build that was stopped before the end had done: the pages it started, the
    times of the chapters it finished (their Sphinx-Gallery tables), and every network it
    trained (from the build's progress lines), for a device where a whole build did not fit.
    """
    pages = {}
    for table in tables:
        pages |= _table_times(table, table.stem.removeprefix("sg_"))
    trained = []
    for page, what, s, dev in _TRAINED.findall(log):
        if network := _NETWORK.match(what):
            net, seed, epochs, n = network.groups()
            trained.append(
                {
                    "page": page,
                    "network": net,
                    "seed": int(seed),
                    "epochs": int(epochs),
                    "examples": int(n),
                    "seconds": float(s),
                    "device": dev,
                }
            )
    started = [f"{chapter}/{page}" for chapter, page in _STARTED.findall(log)]
    return {
        "stopped_after_seconds": seconds,
        "reason": reason,
        "pages_started": started,
        "pages_seconds": pages,
        "trained": trained,
    }


def fresh_clone(into: Path, name: str = "layerwise") -> Path:
    clone = into / name
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    return clone


def cold_build(work: Path, profile: str, label: str, jobs: int) -> tuple[Path, dict, dict]:
    """A build from a fresh clone with an empty model cache; its timing and its results."""
    clone = fresh_clone(work, label)
    # The clone's library first; a PYTHONPATH that brings the build's own packages is kept.
    path = os.pathsep.join(p for p in (str(clone / "src"), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(
        os.environ,
        **buildcmd.build_env(profile, clone / "build" / "cache"),
        PYTHONPATH=path,
    )
    env["LAYERWISE_GALLERY_JOBS"] = str(jobs)
    print(f"[{label}] cold build, {jobs} pages at a time ...", flush=True)
    log = work / f"{label}.log"
    timing = timed_build(clone, env, log)
    gallery = page_times(clone)
    timing["pages"] = {**gallery, **timing["notebooks"]}
    timing["training"] = training_times(log.read_text(), gallery)
    shared = clone / "docs" / gallery_pool.SHARED_TIMES
    timing["shared_networks"] = json.loads(shared.read_text()) if shared.exists() else {}
    results = {
        "outputs": page_outputs(clone),
        "models": cache_checksums(clone / "build" / "cache"),
    }
    print(f"[{label}] {timing['seconds']:.0f} s", flush=True)
    return clone, env, {"timing": timing, "results": results}


def build_benchmarks(repeat: int, profile: str, work: Path, jobs: int, compare_jobs: int) -> dict:
    cold, warm, prose, library, runs = [], [], [], [], []
    for i in range(repeat):
        clone, env_i, run = cold_build(work, profile, f"cold-{i}", jobs)
        cold.append(run["timing"])
        runs.append(run["results"])
        print(f"[{i + 1}/{repeat}] warm build ...", flush=True)
        warm.append(timed_build(clone, env_i, work / f"warm-{i}.log"))
        with (clone / "docs" / "index.md").open("a") as f:
            f.write("\nA sentence added by the benchmark.\n")
        print(f"[{i + 1}/{repeat}] prose edit ...", flush=True)
        prose.append(timed_build(clone, env_i, work / f"prose-{i}.log"))
        source = clone / "src" / "layerwise" / "filters.py"
        # A comment appended to the module: its bytes change (so every page that imports it
        # is re-run), whatever the module's code looks like when the benchmark runs.
        before = source.read_bytes()
        source.write_text(source.read_text() + "\n# edited by the benchmark\n")
        if source.read_bytes() == before:
            raise RuntimeError(f"the library edit did not change {source}")
        print(f"[{i + 1}/{repeat}] library edit ...", flush=True)
        library.append(timed_build(clone, env_i, work / f"library-{i}.log"))
        if i:
            shutil.rmtree(clone)  # keep the disk use of a long benchmark bounded

    def summary(timings):
        return {
            "median_seconds": statistics.median(t["seconds"] for t in timings),
            "runs_seconds": [round(t["seconds"], 1) for t in timings],
            "median_peak_memory_mb": statistics.median(t["peak_memory_mb"] for t in timings),
            "median_peak_rss_sum_mb": statistics.median(t["peak_rss_sum_mb"] for t in timings),
        }

    pages = {
        name: [t["pages"][name] for t in cold if name in t["pages"]] for name in cold[0]["pages"]
    }
    report = {
        "jobs": jobs,
        "cold": summary(cold),
        "warm": summary(warm),
        "prose_edit": summary(prose),
        "library_edit": {**summary(library), "rerun": library[-1]["rerun"]},
        "pages_median_seconds": {k: statistics.median(v) for k, v in sorted(pages.items())},
        "pages_training_median_seconds": {
            name: statistics.median(t["training"][name] for t in cold)
            for name in sorted(cold[0]["training"])
        },
        "shared_networks_seconds": {
            name: statistics.median(t["shared_networks"][name] for t in cold)
            for name in cold[0]["shared_networks"]
        },
        "determinism": [compare(runs[0], other) for other in runs[1:]],
    }
    if compare_jobs:
        _, _, other = cold_build(work, profile, f"jobs-{compare_jobs}", compare_jobs)
        report["other_jobs"] = {
            "jobs": compare_jobs,
            "seconds": other["timing"]["seconds"],
            "peak_memory_mb": other["timing"]["peak_memory_mb"],
            "over_cold": other["timing"]["seconds"] / report["cold"]["median_seconds"],
            "same_results": compare(runs[0], other["results"]),
        }
    return report


def training_loop_efficiency(repeat: int) -> dict:
    """Examples/s of train.fit's loop over examples/s of a bare loop on the same batches."""
    import torch
    import torch.nn.functional as F

    from layerwise import runtime, train, zoo

    recipe = zoo.photo_cnn()  # the network most pages share, two epochs of its schedule
    patches, config = recipe.data, recipe.config
    schedule = dataclasses.replace(recipe.schedule, epochs=2)
    n = schedule.epochs * len(patches.y_train)
    fit_rates, train_only_rates, bare_rates = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        model = train.fit(config, patches, schedule, cache=False, verbose=False).model
        fit_seconds = time.perf_counter() - started
        fit_rates.append(n / fit_seconds)
        # The test evaluations fit makes, timed on their own, so that the training steps can
        # be told apart from the testing.
        started = time.perf_counter()
        for _ in train.test_epochs(schedule.epochs):
            train.evaluate(model, patches.x_test, patches.y_test)
        train_only_rates.append(n / (fit_seconds - (time.perf_counter() - started)))

        runtime.seed_everything(0)
        model = config.build().to(runtime.device())
        x, y = patches.x_train.to(runtime.device()), patches.y_train.to(runtime.device())
        layout = train.memory_format(model, runtime.device())  # the layout fit trains in
        model.to(memory_format=layout)
        x = x.contiguous(memory_format=layout)
        b = schedule.batch_size
        batches = [(x[i : i + b], y[i : i + b]) for i in range(0, len(y), b)]
        # fit's optimiser (its learning-rate schedule is not stepped: it does not change the time)
        opt, _ = train._optimizer(model, schedule, len(batches) * schedule.epochs)
        model.train()
        started = time.perf_counter()
        for _ in range(schedule.epochs):
            for xb, yb in batches:
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        if runtime.device().type == "cuda":
            torch.cuda.synchronize()
        bare_rates.append(n / (time.perf_counter() - started))
    tested = ", ".join(str(e) for e in sorted(train.test_epochs(schedule.epochs)))
    fit_rate, bare_rate = statistics.median(fit_rates), statistics.median(bare_rates)
    train_only_rate = statistics.median(train_only_rates)
    return {
        "fit_examples_per_second": fit_rate,
        "bare_examples_per_second": bare_rate,
        "ratio": fit_rate / bare_rate,
        "ratio_without_test_evaluation": train_only_rate / bare_rate,
        "note": f"fit includes the test evaluation after epoch {tested} of {schedule.epochs}, "
        "shuffling, augmentation and the learning-rate schedule; the bare loop has none of these",
    }


def seed_batching(repeat: int) -> dict:
    """Five seeds of an overhead-bound network trained together (:func:`layerwise.train.
    fit_seeds`) against one seed alone, and against the five trained one after another."""
    from layerwise import data, models, runtime, train

    digits = data.digits(size=20)  # the course's dense network, as the locality page trains it
    config = models.MLPConfig(in_features=400, hidden=(25, 15), num_classes=10)
    schedule = train.Schedule(epochs=5, batch_size=64)
    seeds = runtime.seeds(5)
    train.fit(config, digits, schedule, cache=False, verbose=False)  # warm-up
    one, alone, together = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        train.fit(config, digits, schedule, seed=seeds[0], cache=False, verbose=False)
        one.append(time.perf_counter() - started)
        started = time.perf_counter()
        for s in seeds:
            train.fit(config, digits, schedule, seed=s, cache=False, verbose=False)
        alone.append(time.perf_counter() - started)
        started = time.perf_counter()
        train.fit_seeds(config, digits, schedule, seeds, cache=False, verbose=False)
        together.append(time.perf_counter() - started)
    one_s, alone_s, together_s = (statistics.median(v) for v in (one, alone, together))
    return {
        "network": "MLP 400-25-15-10 on 20x20 digits, batch 64, 5 epochs",
        "one_seed_seconds": one_s,
        "five_seeds_one_after_another_seconds": alone_s,
        "five_seeds_together_seconds": together_s,
        "five_seeds_over_one": together_s / one_s,
        "sequential_over_one": alone_s / one_s,
    }


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's model name (Linux's ``/proc/cpuinfo``), else what :mod:`platform` says."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str) -> dict:
    """What a record was measured on. Two shared machines with the same core count can differ
    twofold in speed; ``cpu_capability``, the widest vector instructions PyTorch's CPU kernels
    use (``AVX2``, ``AVX512``), tells most of them apart."""
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count(),
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="cold builds (2: determinism)")
    parser.add_argument(
        "--jobs", type=int, default=None, help="pages a build runs at a time (default: a build's)"
    )
    parser.add_argument(
        "--compare-jobs",
        type=int,
        default=1,
        help="one more cold build with this many pages at a time (0: none)",
    )
    parser.add_argument("--profile", default="default", choices=buildcmd.PROFILES)
    parser.add_argument("--out", type=Path, help="default: docs/benchmarks/<device>.json")
    parser.add_argument(
        "--skip-builds",
        action="store_true",
        help="only the training loop (builds already in the output file are kept)",
    )
    args = parser.parse_args(argv)
    jobs = args.jobs or layerwise_build.default_jobs()
    from layerwise import runtime

    device = runtime.device().type
    out = args.out or ROOT / "docs" / "benchmarks" / f"{device}.json"
    results = {
        "machine": machine(device),
        "profile": args.profile,
        "repeat": args.repeat,
        "date": time.strftime("%Y-%m-%d"),
        "commit": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip(),  # fmt: skip
        "targets": TARGETS,
    }
    results["training_loop"] = training_loop_efficiency(max(args.repeat, 3))
    print(json.dumps(results["training_loop"], indent=1), flush=True)
    # A round of the seed measurement takes under a second, and the median of three rounds
    # read 2.9x and 3.3x in two records hours apart: the median of fifteen costs seconds.
    results["seed_batching"] = seed_batching(max(args.repeat, 15))
    print(json.dumps(results["seed_batching"], indent=1), flush=True)
    if args.skip_builds and out.exists():
        # Only the training loop is re-measured: keep the builds measured before, and say when.
        previous = json.loads(out.read_text())
        if "build" in previous:
            results["build"] = previous["build"]
            results["build_measured"] = previous.get("build_measured") or {
                "commit": previous["commit"],
                "date": previous["date"],
            }
    if not args.skip_builds:
        logs = ROOT / "build" / "bench-logs"
        with tempfile.TemporaryDirectory(prefix="layerwise-bench-") as work:
            try:
                results["build"] = build_benchmarks(
                    args.repeat, args.profile, Path(work), jobs, args.compare_jobs
                )
            finally:
                shutil.rmtree(logs, ignore_errors=True)
                logs.mkdir(parents=True)
                for log in Path(work).glob("*.log"):
                    shutil.copy(log, logs)
                print(f"build logs copied to {logs}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
