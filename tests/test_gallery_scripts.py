"""Every gallery page, downloaded as a script or as a notebook, runs for a reader: no Sphinx,
no docs environment, only the ``layerwise`` wheel the site publishes and what it depends on.

The reader's environment is made the way a downloaded notebook's first cell makes it: a fresh
virtual environment into which the published wheel is installed (pinned by constraints.txt so
the test installs the versions the site was built with, from the local package cache). Each
script is copied into an empty folder and run there in the quick profile. Each notebook the
build wrote is executed cell by cell (nbclient) by a Jupyter kernel of that environment, its
first cell included: that cell installs the wheel with ``%pip``, from the build's own wheel
folder instead of the hosted site.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "gallery").glob("*/plot_*.py"))
WHEELS = ROOT / "build" / "wheel"


def test_there_are_scripts():
    assert SCRIPTS


@pytest.fixture(scope="session")
def reader_python(tmp_path_factory) -> Path:
    """Python of a fresh virtual environment holding only the published wheel and its needs."""
    wheels = sorted(WHEELS.glob("layerwise-*.whl"))
    uv = shutil.which("uv")
    if not wheels or not uv:
        why = "no wheel in build/wheel (`nox -s tests` builds it)" if not wheels else "no uv"
        if os.environ.get("CI"):
            pytest.fail(f"cannot make the reader's environment: {why}")
        pytest.skip(f"cannot make the reader's environment: {why}")
    venv = tmp_path_factory.mktemp("reader") / "venv"
    # --seed: with pip, which a notebook's "%pip install" cell uses, as in any reader's Jupyter.
    subprocess.run(
        [uv, "venv", "--quiet", "--seed", "--python", sys.executable, str(venv)], check=True
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python),
         "-c", str(ROOT / "constraints.txt"), str(wheels[-1])],
        check=True,
    )  # fmt: skip
    return python


def test_the_reader_environment_holds_the_library_but_not_the_docs_tools(reader_python):
    probe = (
        "import layerwise, captum, mnist1d\n"
        "import importlib.util\n"
        "print(importlib.util.find_spec('sphinx'))"
    )
    done = subprocess.run([reader_python, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "None"  # nothing from the docs environment leaked in


@pytest.fixture(scope="session")
def reader_caches(tmp_path_factory) -> Path:
    """Where each page's networks are cached for the reader's runs: one folder per page, shared
    by its script and its notebook, as a reader who ran the script and then opened the notebook
    would share ``~/.cache/layerwise``. The script trains (the scripts' tests run first); the
    notebook loads what the script trained."""
    return tmp_path_factory.mktemp("reader-caches")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_script_runs_for_a_reader(script, reader_python, reader_caches, tmp_path):
    env = reader_env(reader_caches / script.stem)
    # Run a copy from an empty folder, as a reader who downloaded the file would.
    copy = tmp_path / script.name
    copy.write_text(script.read_text())
    done = subprocess.run(
        [reader_python, copy.name], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr[-3000:]}"
    assert "import sphinx" not in script.read_text()


NOTEBOOKS = sorted((ROOT / "docs" / "auto_examples").glob("*/plot_*.ipynb"))
# The concept pages' notebooks, as the site publishes them (with their values in the text).
CONCEPT_NOTEBOOKS = sorted((ROOT / "build" / "html" / "notebooks").rglob("*.ipynb"))


def reader_env(cache: Path) -> dict[str, str]:
    """The environment of a reader's run: no variable of the docs build or its Python, the
    quick profile, and the model cache in ``cache``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LAYERWISE_", "PYTHON", "VIRTUAL", "JUPYTER"))
    }
    env.update(
        MPLBACKEND="Agg",
        LAYERWISE_PROFILE="quick",
        LAYERWISE_CACHE=str(cache),
        PYTHONHASHSEED="0",
    )
    return env


@pytest.fixture(scope="session")
def reader_kernel(reader_python) -> tuple[str, Path]:
    """A Jupyter kernel running the reader's environment: its name and where its spec lies."""
    subprocess.run(
        [shutil.which("uv"), "pip", "install", "--quiet", "--python", str(reader_python),
         "-c", str(ROOT / "constraints.txt"), "ipykernel"],
        check=True,
    )  # fmt: skip
    prefix = reader_python.parent.parent
    subprocess.run(
        [reader_python, "-m", "ipykernel", "install", "--prefix", str(prefix),
         "--name", "layerwise-reader"],
        check=True, capture_output=True,
    )  # fmt: skip
    return "layerwise-reader", prefix / "share" / "jupyter"


def test_the_build_wrote_a_notebook_for_every_script():
    if not NOTEBOOKS and not os.environ.get("CI"):
        pytest.skip("no built notebooks (`nox -s docs` writes them)")
    assert [(n.parent.name, n.stem) for n in NOTEBOOKS] == [
        (s.parent.name, s.stem) for s in SCRIPTS
    ]


def test_the_build_published_a_notebook_for_every_concept_page():
    pages = sorted(  # the executable ones: MyST notebooks
        p.stem
        for p in (ROOT / "docs" / "concepts").glob("*.md")
        if "file_format: mystnb" in p.read_text()
    )
    if not CONCEPT_NOTEBOOKS and not os.environ.get("CI"):
        pytest.skip("no built site (`nox -s docs` publishes the concept notebooks)")
    assert sorted(n.stem for n in CONCEPT_NOTEBOOKS if n.parent.name == "concepts") == pages


@pytest.mark.parametrize(
    "notebook", NOTEBOOKS + CONCEPT_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_notebook_runs_for_a_reader(notebook, reader_kernel, reader_caches, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    name, kernels = reader_kernel
    nb = nbformat.read(notebook, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "%pip install" in first.source and "layerwise-" in first.source
    # The hosted site serves the wheel the build made; install that very file.
    wheel = sorted(WHEELS.glob("layerwise-*.whl"))[-1]
    first.source = re.sub(r"\S+/layerwise-[^\s]+\.whl", str(wheel), first.source)
    for key, value in reader_env(reader_caches / notebook.stem).items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith(("PYTHON", "VIRTUAL"))]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    client = nbclient.NotebookClient(
        nb, kernel_name=name, timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, if a cell fails
