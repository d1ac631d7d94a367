"""The build glue in docs/_ext: which examples depend on which library modules."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import layerwise_build  # noqa: E402


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_imports_are_followed_through_the_library(tmp_path):
    ex = write(tmp_path / "plot_a.py", "from layerwise import filters\nimport torch\n")
    assert layerwise_build.dependencies(ex) == ["__init__", "filters"]
    ex = write(tmp_path / "plot_b.py", "from layerwise.train import fit\n")
    assert layerwise_build.dependencies(ex) == ["__init__", "data", "runtime", "train"]
    ex = write(tmp_path / "plot_c.py", "import layerwise\n")
    assert set(layerwise_build.dependencies(ex)) == set(layerwise_build.library_modules())


def test_only_examples_that_use_a_changed_module_are_rerun(tmp_path, monkeypatch):
    library = tmp_path / "lib"
    library.mkdir()
    for name in ("__init__", "data", "plot"):
        write(library / f"{name}.py", f"# {name}\n")
    monkeypatch.setattr(layerwise_build, "LIBRARY", library)
    src, out = tmp_path / "gallery", tmp_path / "auto"
    src.mkdir()
    write(src / "plot_data.py", "from layerwise import data\n")
    write(src / "plot_plot.py", "from layerwise import plot\n")

    def run_build():
        rerun = layerwise_build.invalidate_stale_examples([src], [out])
        for ex in src.glob("*.py"):  # what Sphinx-Gallery does after running an example
            write(out / f"{ex.name}.md5", "ok")
        return rerun

    run_build()
    assert run_build() == []  # nothing changed
    write(library / "plot.py", "# plot, edited\n")
    assert run_build() == ["gallery/plot_plot.py"]
    monkeypatch.setenv("LAYERWISE_PROFILE", "default")  # the profile changes every page
    assert run_build() == ["gallery/plot_data.py", "gallery/plot_plot.py"]


def test_example_order_rejects_unlisted_pages(monkeypatch):
    monkeypatch.setattr(layerwise_build, "CHAPTERS", {"ch": ["plot_b.py", "plot_a.py"]})
    key = layerwise_build.ExampleOrder("/x/ch")
    assert sorted(["plot_a.py", "plot_b.py"], key=key) == ["plot_b.py", "plot_a.py"]
    with pytest.raises(ValueError, match="not listed in conf.py"):
        key("plot_c.py")


def test_cdn_tags_are_stripped_from_timing_pages():
    source = [
        '<link href="https://cdn.datatables.net/x.css" rel="stylesheet" />\n'
        '<script src="https://code.jquery.com/jquery-3.7.0.js"></script>\n'
        "keep me\n"
    ]
    layerwise_build._strip_cdn(None, "auto_examples/ch/sg_execution_times", source)
    assert source[0].strip() == "keep me"


def test_gallery_jobs_reads_the_environment(monkeypatch):
    monkeypatch.delenv("LAYERWISE_GALLERY_JOBS", raising=False)
    assert layerwise_build.gallery_jobs() == 1
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "3")
    assert layerwise_build.gallery_jobs() == 3
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "two")
    with pytest.raises(ValueError, match="whole number"):
        layerwise_build.gallery_jobs()


_CLAIM = """
import sys, time
sys.path.insert(0, {ext!r})
import layerwise_build
from pathlib import Path
print(layerwise_build.claim_worker_slot(2, Path({slots!r})), flush=True)
time.sleep({hold})
"""


def test_each_worker_gets_its_own_slot_and_a_dead_worker_frees_it(tmp_path):
    import subprocess

    ext = str(Path(layerwise_build.__file__).parent)

    def worker(hold):
        code = _CLAIM.format(ext=ext, slots=str(tmp_path), hold=hold)
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)

    first, second = worker(30), worker(30)
    held = int(first.stdout.readline())
    assert {held, int(second.stdout.readline())} == {0, 1}
    third = worker(0)  # both slots are held: a third worker is refused
    assert third.wait(timeout=30) != 0
    first.kill()
    first.wait()
    replacement = worker(0)
    assert int(replacement.stdout.readline()) == held  # the slot the dead worker held
    assert replacement.wait(timeout=30) == 0
    second.kill()
    second.wait()


def test_pin_worker_splits_the_cores_between_workers(monkeypatch):
    import os

    import torch

    cores = sorted(os.sched_getaffinity(0))
    threads = torch.get_num_threads()
    try:
        layerwise_build.pin_worker(0, 2)
        mine = sorted(os.sched_getaffinity(0))
        assert mine == (cores[0::2] or cores)
        assert torch.get_num_threads() == len(mine)
    finally:
        os.sched_setaffinity(0, cores)
        torch.set_num_threads(threads)
