"""The benchmark's bookkeeping: what counts as the same result in two builds."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))

import bench  # noqa: E402

PAGE = """Some text.

.. rst-class:: sphx-glr-script-out

 .. code-block:: none

    CNNConfig (seed 0): trained 12 epochs on 12000 images in 41.3 s on cpu; test accuracy 0.830
    base B: 0.874 +- 0.026
    resnet18: all 84 layers computed in 12 ms

.. code-block:: Python

    print("not output")
"""


def _site(root: Path, page: str, notebook_text: str) -> Path:
    gallery = root / "docs" / "auto_examples" / "chapter"
    gallery.mkdir(parents=True)
    (gallery / "plot_page.rst").write_text(page)
    executed = root / "build" / "jupyter_execute"
    executed.mkdir(parents=True)
    cell = {"outputs": [{"text": [notebook_text]}, {"data": {"text/plain": ["'0.28'"]}}]}
    (executed / "why.ipynb").write_text(json.dumps({"cells": [cell]}))
    return root


def test_page_outputs_read_printed_text_and_mask_training_times(tmp_path):
    outputs = bench.page_outputs(_site(tmp_path, PAGE, "osi 0.28\n"))
    assert set(outputs) == {"chapter/plot_page", "why"}
    page = outputs["chapter/plot_page"]
    assert "base B: 0.874 +- 0.026" in page and "<fit>" in page
    assert "41.3" not in page and "12 ms" not in page and "not output" not in page
    assert outputs["why"] == "osi 0.28\n'0.28'"


def test_a_rerun_that_only_took_longer_is_the_same_result(tmp_path):
    slower = PAGE.replace("in 41.3 s", "in 97.0 s").replace("in 12 ms", "in 9 ms")
    cached = PAGE.replace(
        "trained 12 epochs on 12000 images in 41.3 s on cpu", "loaded from the model cache"
    )
    together = PAGE.replace("on cpu", "on cpu (5 seeds together)")  # train.fit_seeds
    a = bench.page_outputs(_site(tmp_path / "a", PAGE, "x\n"))
    for other in (slower, cached, together):
        b = bench.page_outputs(_site(tmp_path / str(hash(other)), other, "x\n"))
        assert a == b


def test_compare_names_the_pages_and_models_that_differ():
    run = {"outputs": {"p": "acc 0.874\n", "q": "same\n"}, "models": {"m1": "aa", "m2": "bb"}}
    assert bench.compare(run, run)["pages_differing"] == []
    other = {"outputs": {"p": "acc 0.875\n", "q": "same\n"}, "models": {"m1": "aa", "m2": "cc"}}
    result = bench.compare(run, other)
    assert result["pages_differing"] == ["p"]
    assert result["first_difference"]["p"] == ["acc 0.874", "acc 0.875"]
    assert result["models_differing"] == ["m2"]
    missing = {"outputs": run["outputs"], "models": {"m1": "aa"}}
    assert bench.compare(run, missing)["models_only_in_one"] == ["m2"]


def test_cache_checksums_change_with_the_bytes(tmp_path):
    (tmp_path / "a.pt").write_bytes(b"weights")
    first = bench.cache_checksums(tmp_path)
    (tmp_path / "a.pt").write_bytes(b"weightz")
    assert bench.cache_checksums(tmp_path)["a.pt"] != first["a.pt"]


def test_notebook_times_come_from_the_myst_nb_log():
    log = (
        "/tmp/x/docs/why.md: Executing notebook using local CWD [mystnb]\n"
        "/tmp/x/docs/why.md: Executed notebook in 12.25 seconds [mystnb]\n"
        "/tmp/x/docs/concepts/glossary.md: Executed notebook in 1.50 seconds [mystnb]\n"
        "/tmp/x/docs/benchmarks.md: Cached executed notebook: ID=1 [mystnb]\n"
    )
    assert bench.notebook_times(log) == {
        "notebooks/why": 12.25,
        "notebooks/concepts/glossary": 1.5,
    }


def test_partial_build_reads_pages_times_and_trained_networks(tmp_path):
    log = (
        "generating gallery for auto_examples/first_layers... [ 50%] plot_filters.py\n"
        "layerwise: plot_filters: trained CNNConfig seed 0: 30 epochs on 40000 examples "
        "in 45.1 s (cuda)\n"
        "generating gallery for auto_examples/first_layers... [100%] plot_maps.py\n"
        "generating gallery for auto_examples/later... [ 10%] plot_settle.py\n"
        "layerwise: plot_settle: trained MLPConfig seed 3: 2 epochs on 100 examples "
        "in 1.5 s (cpu)\n"
        "layerwise: zoo/photo_cnn: trained CNNConfig seed 1: 12 epochs on 12000 examples "
        "in 61.0 s (cpu)\n"
        "layerwise: plot_parity: trained 60 networks together (4-bit parity, depth 2) in 7.5 s\n"
    )
    table = tmp_path / "sg_first_layers.rst"
    table.write_text(
        "   * - :ref:`sphx_glr_auto_examples_first_layers_plot_filters.py` (``plot_filters.py``)\n"
        "     - 09:50.326\n"
        "   * - :ref:`sphx_glr_auto_examples_first_layers_plot_maps.py` (``plot_maps.py``)\n"
        "     - 00:30.367\n"
    )
    part = bench.partial_build(log, [table], seconds=1530, reason="the lease ended")
    assert part["pages_started"] == [
        "first_layers/plot_filters",
        "first_layers/plot_maps",
        "later/plot_settle",
    ]
    assert part["pages_seconds"] == {
        "first_layers/plot_filters": 590.326,
        "first_layers/plot_maps": 30.367,
    }
    assert [(t["page"], t["seed"], t["seconds"], t["device"]) for t in part["trained"]] == [
        ("plot_filters", 0, 45.1, "cuda"),
        ("plot_settle", 3, 1.5, "cpu"),
        ("zoo/photo_cnn", 1, 61.0, "cpu"),  # a shared network too; a batch names no network
    ]


def test_tree_memory_counts_the_children_and_never_more_in_pss_than_in_rss():
    import os
    import subprocess
    import time

    # A child that writes 300 MB of its own memory, then waits: the tree's sums include it, and
    # the proportional sum never exceeds the resident sum (it splits shared pages, never adds).
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; b = bytearray(300 * 2**20); sys.stdin.read()"],
        stdin=subprocess.PIPE,
    )
    try:
        for _ in range(200):  # until the child has written its memory
            if bench._tree_memory(child.pid)[1] > 300 * 2**20:
                break
            time.sleep(0.05)
        child_rss, child_pss = bench._tree_memory(child.pid)
        rss, pss = bench._tree_memory(os.getpid())
        assert child_pss > 300 * 2**20 and child_rss >= child_pss
        assert rss >= child_rss and pss >= child_pss and pss <= rss
    finally:
        child.communicate(b"")
    assert bench._tree_memory(child.pid) == (0, 0)  # gone: nothing is left to count


def test_the_machine_record_names_the_processor_and_the_vector_instructions_used(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14\n")
    assert bench.cpu_model(cpuinfo) == "AMD EPYC 9B14"
    assert bench.cpu_model(tmp_path / "missing")  # falls back to what platform says
    record = bench.machine("cpu")
    assert record["device"] == "cpu" and record["cpu_count"] >= 1
    documented = {"DEFAULT", "VSX", "Z VECTOR", "NO AVX", "AVX2", "AVX512"}  # and SVE widths
    assert record["cpu_capability"] in documented or record["cpu_capability"].startswith("SVE")
    assert record["cpu_model"]


def test_training_times_add_up_each_pages_networks_and_leave_out_shared_ones():
    log = (
        "layerwise: zoo/photo_cnn: trained CNNConfig seed 0: 12 epochs on 12000 examples "
        "in 59.2 s (cpu)\n"
        "layerwise: plot_filters: trained CNNConfig seed 0: 4 epochs on 3000 examples "
        "in 4.5 s (cpu)\n"
        "layerwise: plot_transfer: 2 seeds of CNN1dConfig trained together in 3.0 s\n"
        "layerwise: plot_transfer: trained CNN1dConfig seed 0: 6 epochs on 1990 examples "
        "in 1.5 s (cpu)\n"
        "layerwise: plot_transfer: trained CNN1dConfig seed 1: 6 epochs on 1990 examples "
        "in 1.5 s (cpu)\n"
        "layerwise: plot_filters: trained CNNConfig seed 1: 4 epochs on 3000 examples "
        "in 4.25 s (cpu)\n"
        "layerwise: plot_parity: trained 60 networks together (4-bit parity, depth 2) in 7.5 s\n"
        "layerwise: plot_render: rendering 4 units of stem\n"
    )
    pages = ["first/plot_filters", "transfer/plot_transfer", "depth/plot_parity", "x/plot_render"]
    assert bench.training_times(log, pages) == {
        "first/plot_filters": 8.75,
        "transfer/plot_transfer": 3.0,  # the seeds' shares, not the batch's line as well
        "depth/plot_parity": 7.5,
        "x/plot_render": 0.0,
    }


def test_training_times_read_the_lines_the_library_writes(monkeypatch, capfd):
    from layerwise import runtime

    monkeypatch.setenv("LAYERWISE_PROGRESS", "1")
    monkeypatch.setenv("LAYERWISE_PAGE", "plot_x")
    runtime.trained("CNNConfig seed 0: 4 epochs on 3000 examples", 4.5, "cpu")
    runtime.trained("3 networks together (5-bit parity, depth 3)", 2.25)
    runtime.progress("2 seeds of CNN1dConfig trained together in 3.0 s")  # not a trained line
    log = capfd.readouterr().err
    assert bench.training_times(log, ["ch/plot_x"]) == {"ch/plot_x": 4.5 + 2.2}


def _benchmarks_page(records: Path) -> str:
    """What the benchmarks page's code cell displays for the records in ``records``."""
    import os

    from myst_nb.core.read import read_myst_markdown_notebook

    page = (Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md").read_text()
    (code,) = [c.source for c in read_myst_markdown_notebook(page).cells if c.cell_type == "code"]
    shown = []
    here = os.getcwd()
    os.chdir(records)
    try:
        exec(code, {"display": shown.append})
    finally:
        os.chdir(here)
    return "\n".join(str(getattr(s, "data", s)) for s in shown)


def test_the_benchmarks_page_shows_where_the_time_goes_when_the_record_has_it(tmp_path):
    shipped = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
    (tmp_path / "benchmarks").mkdir()
    record = json.loads((shipped / "cpu.json").read_text())
    record["build"].pop("pages_training_median_seconds", None)
    (tmp_path / "benchmarks" / "cpu.json").write_text(json.dumps(record))
    without = _benchmarks_page(tmp_path)
    assert "| page (cold build, medians) | seconds |\n" in without
    assert "Where a cold build's time goes" not in without

    build = record["build"]
    gallery = [p for p in build["pages_median_seconds"] if not p.startswith("notebooks/")]
    build["pages_training_median_seconds"] = {p: 1.0 for p in gallery}
    build["jobs"], build["cold"]["median_seconds"] = 2, 1000.0
    (tmp_path / "benchmarks" / "cpu.json").write_text(json.dumps(record))
    shown = _benchmarks_page(tmp_path)
    shared, pages = build["shared_networks_seconds"], build["pages_median_seconds"]
    total = sum(shared.values()) + sum(pages.values())
    assert "Where a cold build's time goes" in shown
    assert f"| all | {total:.0f} | |" in shown
    assert f"| gallery pages: the networks each trains | {len(gallery)} |" in shown
    assert "| page (cold build, medians) | seconds | training |" in shown
