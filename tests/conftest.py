import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Unit tests use their own model cache and the quick profile, on the CPU."""
    monkeypatch.setenv("LAYERWISE_CACHE", str(tmp_path / "model-cache"))
    monkeypatch.setenv("LAYERWISE_PROFILE", "quick")
    monkeypatch.setenv("LAYERWISE_DEVICE", "cpu")


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site (``$LAYERWISE_SITE``, default build/html); `nox -s tests` builds it first."""
    path = Path(os.environ.get("LAYERWISE_SITE", ROOT / "build" / "html"))
    if not (path / "index.html").exists():
        pytest.fail(f"no built site in {path}: run `nox -s docs` (or `nox -s tests`) first.")
    return path


@pytest.fixture
def myst_notebook():
    """A MyST notebook page (the front matter myst-nb needs to execute it) with one code cell:
    ``myst_notebook(code, title="A page")``."""

    def page(code: str, title: str = "A page") -> str:
        return (
            "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n"
            f"  display_name: Python 3\n---\n\n# {title}\n\n```{{code-cell}} python\n{code}\n```\n"
        )

    return page
