"""docs/_ext/publish.py: the hosted versions, on a temporary git repository.

Sphinx and the wheel build are replaced by a stand-in that writes an ``index.html`` naming the
package version it was built from, so each test checks which source went where.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import publish  # noqa: E402


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def release(repo: Path, version: str, tag: str | None = None) -> None:
    """Commit the package at ``version`` and tag it (``v<version>`` unless ``tag`` is given)."""
    init = repo / "src" / "layerwise" / "__init__.py"
    init.write_text(f'__version__ = "{version}"\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"version {version}")
    git(repo, "tag", tag or f"v{version}")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with releases 0.1.0 and 0.2.0, then 0.3.0.dev0 in the working tree; the
    ``builds`` made by the stand-in, as (version asked for, package version built from)."""
    for name, value in {"NAME": "Test", "EMAIL": "test@example.org"}.items():
        monkeypatch.setenv(f"GIT_AUTHOR_{name}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{name}", value)
    root = tmp_path / "repo"
    (root / "src" / "layerwise").mkdir(parents=True)
    (root / ".gitignore").write_text("build/\n")
    git(root, "init", "-q")
    release(root, "0.1.0")
    release(root, "0.2.0")
    (root / "src" / "layerwise" / "__init__.py").write_text('__version__ = "0.3.0.dev0"\n')
    monkeypatch.setattr(publish, "ROOT", root)
    builds: list[tuple[str, str]] = []

    def run(cmd, **kwargs):
        cmd = [str(c) for c in cmd]
        if cmd[0] == "git":
            subprocess.run(cmd, check=True, capture_output=True)
        elif "sphinx" in cmd:  # the stand-in for the site build
            init = Path(kwargs["cwd"]) / "src" / "layerwise" / "__init__.py"
            built_from = re.search(r'"(.+)"', init.read_text()).group(1)
            target = Path(cmd[-1])
            target.mkdir(parents=True)
            (target / "index.html").write_text(f"layerwise {built_from}")
            builds.append((kwargs["env"]["LAYERWISE_VERSION_MATCH"], built_from))
        # the wheel build: nothing to stand in for

    monkeypatch.setattr(publish, "_run", run)
    return SimpleNamespace(root=root, builds=builds)


def publish_site(out: Path, *args: str) -> None:
    assert publish.main(["--out", str(out), "--base-url", "https://example.org/lw", *args]) == 0


def test_each_version_is_built_from_its_tag_and_the_newest_release_is_stable(repo, tmp_path):
    out = tmp_path / "site"
    publish_site(out, "dev", "0.1.0", "0.2.0")
    assert sorted(repo.builds) == [("0.1.0", "0.1.0"), ("0.2.0", "0.2.0"), ("dev", "0.3.0.dev0")]
    entries = json.loads((out / "switcher.json").read_text())
    assert [(e["name"], e.get("preferred", False)) for e in entries] == [
        ("dev", False), ("0.2.0 (stable)", True), ("0.1.0", False)
    ]  # fmt: skip
    assert entries[1]["url"] == "https://example.org/lw/0.2.0/"
    for version in ("dev", "0.1.0", "0.2.0"):  # every page's switcher reads the one beside it
        assert json.loads((out / version / "switcher.json").read_text()) == entries
    assert (out / "stable" / "index.html").read_text() == "layerwise 0.2.0"
    assert 'url=stable/"' in (out / "index.html").read_text()
    assert not (repo.root / "build" / "release-src" / "0.1.0").exists()  # the worktree is removed


def test_releases_are_ordered_as_versions_not_as_text():
    entries = publish.switcher_entries(["0.9.0", "dev", "0.10.0", "0.10.0rc1"], "/")
    assert [e["version"] for e in entries] == ["dev", "0.10.0", "0.10.0rc1", "0.9.0"]
    assert [e.get("preferred", False) for e in entries] == [False, True, False, False]


def test_frozen_versions_are_left_alone_unless_rebuilt(repo, tmp_path):
    out = tmp_path / "site"
    publish_site(out, "dev", "0.1.0")
    (out / "0.1.0" / "index.html").write_text("as deployed")
    (out / "dev" / "index.html").write_text("old dev")
    repo.builds.clear()
    publish_site(out, "dev", "0.1.0", "0.2.0")
    assert sorted(repo.builds) == [("0.2.0", "0.2.0"), ("dev", "0.3.0.dev0")]  # dev: every time
    assert (out / "0.1.0" / "index.html").read_text() == "as deployed"
    assert (out / "dev" / "index.html").read_text() == "layerwise 0.3.0.dev0"
    assert (out / "stable" / "index.html").read_text() == "layerwise 0.2.0"
    publish_site(out, "0.1.0", "--rebuild")
    assert (out / "0.1.0" / "index.html").read_text() == "layerwise 0.1.0"
    versions = [e["version"] for e in json.loads((out / "switcher.json").read_text())]
    assert versions == ["dev", "0.2.0", "0.1.0"]  # what was deployed before stays listed


def test_without_a_release_the_root_redirects_to_dev(repo, tmp_path):
    out = tmp_path / "site"
    publish_site(out, "dev")
    assert 'url=dev/"' in (out / "index.html").read_text()
    assert not (out / "stable").exists()


def test_a_tag_whose_package_version_differs_is_refused(repo, tmp_path):
    release(repo.root, "0.2.9", tag="v0.3.0")
    with pytest.raises(ValueError, match=r"tag v0\.3\.0 holds layerwise 0\.2\.9, not 0\.3\.0"):
        publish_site(tmp_path / "site", "0.3.0")
    with pytest.raises(ValueError, match="there is no git tag v0.4.0"):
        publish_site(tmp_path / "site", "0.4.0")
    with pytest.raises(ValueError, match="neither 'dev' nor a release version"):
        publish_site(tmp_path / "site", "latest")
    assert repo.builds == []
