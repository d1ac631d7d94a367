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
