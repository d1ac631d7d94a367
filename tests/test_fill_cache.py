"""docs/_ext/fill_cache.py: one chapter's networks trained into a model cache, outside Sphinx."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import fill_cache  # noqa: E402

TRAINS = '''"""
A page that trains
==================
"""

from layerwise import data, models, train

digits = data.digits()
config = models.MLPConfig(in_features=64, hidden=(8,), num_classes=10)
result = train.fit(config, digits, train.Schedule(epochs=1), seed=0)
print("from cache" if result.from_cache else "trained")
'''


def tiny_gallery(tmp_path: Path, script: str = TRAINS) -> Path:
    chapter = tmp_path / "gallery" / "chapter"
    chapter.mkdir(parents=True)
    (chapter / "README.rst").write_text("Chapter\n=======\n")
    (chapter / "plot_trains.py").write_text(script)
    (tmp_path / "gallery" / "not_a_chapter").mkdir()  # no README: not a chapter
    return tmp_path / "gallery"


def test_the_chapters_are_the_sites_chapters():
    conf = (ROOT / "conf.py").read_text()
    found = fill_cache.chapters()
    assert "first_layers" in found and "imagenet" in found
    for chapter in found:
        assert f'"{chapter}"' in conf, f"{chapter} is not a chapter of the site (conf.py)"


def test_an_unknown_chapter_is_refused_with_the_list(tmp_path):
    gallery = tiny_gallery(tmp_path)
    assert fill_cache.chapters(gallery) == ["chapter"]
    with pytest.raises(ValueError, match="the chapters are chapter"):
        fill_cache.scripts("not_a_chapter", gallery)


def test_filling_stores_the_chapters_networks_so_a_later_run_loads_them(tmp_path, monkeypatch):
    gallery = tiny_gallery(tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    seconds = fill_cache.fill("chapter", cache, profile="quick", gallery=gallery)
    assert list(seconds) == ["plot_trains.py"]
    assert any(p.is_file() for p in cache.rglob("*")), "nothing was stored in the cache"
    # The site build, pointed at the same cache, loads the network instead of training it.
    monkeypatch.setenv("LAYERWISE_CACHE", str(cache))
    monkeypatch.setenv("LAYERWISE_PROFILE", "quick")
    from layerwise import data, models, train

    config = models.MLPConfig(in_features=64, hidden=(8,), num_classes=10)
    again = train.fit(config, data.digits(), train.Schedule(epochs=1), seed=0)
    assert again.from_cache


def test_a_failing_page_stops_the_run_with_its_output(tmp_path, monkeypatch):
    gallery = tiny_gallery(tmp_path, script='"""\nBroken\n======\n"""\nraise SystemExit("no")\n')
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    with pytest.raises(RuntimeError, match="plot_trains.py failed"):
        fill_cache.fill("chapter", tmp_path / "cache", profile="quick", gallery=gallery)


def test_the_hosted_workflow_trains_each_chapter_in_its_own_job_and_merges_the_caches():
    yaml = pytest.importorskip("yaml")
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text())["jobs"]
    listing = " ".join(step.get("run", "") for step in jobs["chapters"]["steps"])
    assert "fill_cache.py --list" in listing
    train = jobs["train"]
    assert train["strategy"]["matrix"]["chapter"] == "${{ fromJSON(needs.chapters.outputs.list) }}"
    runs = [step.get("run", "") for step in train["steps"]]
    assert "nox -s cache -- ${{ matrix.chapter }}" in runs
    uploads = [
        s for s in train["steps"] if s.get("uses", "").startswith("actions/upload-artifact")
    ]
    assert uploads[0]["with"]["path"] == "build/model-cache"
    publish = jobs["publish"]
    assert publish["needs"] == "train"
    merged = [s for s in publish["steps"] if s.get("uses", "").startswith("actions/download")]
    assert merged[0]["with"]["path"] == "build/model-cache" and merged[0]["with"]["merge-multiple"]
    names = [s.get("name", "") + s.get("run", "") for s in publish["steps"]]
    assert names.index(merged[0]["name"]) < next(i for i, n in enumerate(names) if "nox -s" in n)
