"""Every gallery page, downloaded as a script, runs for a reader: no Sphinx, no docs
environment, only the ``layerwise`` wheel the site publishes and what it depends on.

The reader's environment is made the way a downloaded notebook's first cell makes it: a fresh
virtual environment into which the published wheel is installed (pinned by constraints.txt so
the test installs the versions the site was built with, from the local package cache). Each
script is copied into an empty folder and run there in the quick profile.
"""

import os
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
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
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


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_script_runs_for_a_reader(script, reader_python, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LAYERWISE_", "PYTHON", "VIRTUAL"))
    }
    env.update(
        MPLBACKEND="Agg",
        LAYERWISE_PROFILE="quick",
        LAYERWISE_CACHE=str(tmp_path / "cache"),
        PYTHONHASHSEED="0",
    )
    # Run a copy from an empty folder, as a reader who downloaded the file would.
    copy = tmp_path / script.name
    copy.write_text(script.read_text())
    done = subprocess.run(
        [reader_python, copy.name], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr[-3000:]}"
    assert "import sphinx" not in script.read_text()
