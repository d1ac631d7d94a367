"""Every gallery page, downloaded as a script, runs on its own: no Sphinx, Agg, quick profile."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "gallery").glob("*/plot_*.py"))


def test_there_are_scripts():
    assert SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_script_runs_standalone(script, tmp_path):
    env = dict(os.environ)
    env.update(
        MPLBACKEND="Agg",
        LAYERWISE_PROFILE="quick",
        LAYERWISE_CACHE=str(tmp_path / "cache"),
        PYTHONHASHSEED="0",
    )
    env.pop("LAYERWISE_SITE", None)
    # Run a copy from an empty folder, as a reader who downloaded the file would.
    copy = tmp_path / script.name
    copy.write_text(script.read_text())
    done = subprocess.run(
        [sys.executable, copy.name], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr[-3000:]}"
    assert "import sphinx" not in script.read_text()
