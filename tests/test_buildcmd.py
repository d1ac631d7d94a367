"""docs/_ext/buildcmd.py: the one sphinx-build command and build environment that ``nox -s docs``,
the benchmark and the publishing script all run."""

import importlib.util
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import bench  # noqa: E402
import buildcmd  # noqa: E402
import fill_cache  # noqa: E402
import publish  # noqa: E402

from layerwise import runtime  # noqa: E402

SHARED = {
    "LAYERWISE_PROFILE",
    "LAYERWISE_CACHE",
    "MPLBACKEND",
    "PYTHONHASHSEED",
    *buildcmd.SINGLE_THREADED,
    *buildcmd.ALLOCATOR,
}


def _noxfile(monkeypatch, root: Path):
    """noxfile.py imported with a stand-in for nox (the test environment has none), its paths
    moved under ``root``."""
    fake = types.ModuleType("nox")
    fake.options = types.SimpleNamespace()
    fake.project = types.SimpleNamespace(load_toml=lambda path: {}, dependency_groups=None)
    fake.Session = object

    def session(func=None, **kwargs):
        return func if func is not None else (lambda f: f)

    fake.session = session
    monkeypatch.setitem(sys.modules, "nox", fake)
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    monkeypatch.setattr(noxfile, "ROOT", root)
    monkeypatch.setattr(noxfile, "BUILD", root / "build")
    monkeypatch.setattr(noxfile, "HTML", root / "build" / "html")
    return noxfile


class _Session:
    def __init__(self):
        self.runs = []

    def run(self, *cmd, **kwargs):
        self.runs.append(([str(c) for c in cmd], kwargs))

    def log(self, message):
        pass

    def error(self, message):
        raise SystemExit(message)


def test_nox_bench_and_publish_run_the_one_sphinx_command(tmp_path, monkeypatch):
    monkeypatch.delenv("LAYERWISE_CACHE", raising=False)
    root = tmp_path / "checkout"
    (root / "src" / "layerwise").mkdir(parents=True)
    (root / "src" / "layerwise" / "__init__.py").write_text('__version__ = "0.0.0"\n')

    # nox -s docs
    session = _Session()
    _noxfile(monkeypatch, root).build_site(session, "quick")
    (wheel, _), (nox_cmd, nox_kwargs) = session.runs
    assert wheel == buildcmd.wheel_command(root, root / "build" / "wheel", python="python")
    assert nox_cmd == buildcmd.sphinx_command(
        root, root / "build" / "html", root / "build" / "doctrees", python="python", traceback=True
    )
    assert nox_kwargs["env"] == buildcmd.build_env("quick", root / "build" / "model-cache")

    # the benchmark's timed build
    seen = {}

    class Popen:
        pid = -1

        def __init__(self, cmd, env, **kwargs):
            seen.update(cmd=cmd, env=env)

        def wait(self):
            return 0

    monkeypatch.setattr(bench.subprocess, "Popen", Popen)
    env = dict(buildcmd.build_env("quick", root / "build" / "cache"))
    bench.timed_build(root, env, tmp_path / "bench.log")
    assert seen["cmd"] == buildcmd.sphinx_command(
        root, root / "build" / "html", root / "build" / "doctrees"
    )

    # publishing the dev version
    runs = []
    monkeypatch.setattr(publish, "ROOT", root)
    monkeypatch.setattr(publish, "_run", lambda cmd, **kwargs: runs.append((cmd, kwargs)))
    out = tmp_path / "site"
    publish.build_version("dev", out, "https://example.org/", out / "switcher.json", "quick")
    (pub_wheel, _), (pub_cmd, pub_kwargs) = runs
    assert pub_wheel == buildcmd.wheel_command(root, root / "build" / "wheel")
    assert pub_cmd == buildcmd.sphinx_command(root, out / "dev", root / "build" / "doctrees-dev")
    assert {k: pub_kwargs["env"][k] for k in SHARED} == nox_kwargs["env"]

    # The same flags everywhere; only nox asks for full tracebacks.
    for cmd in (nox_cmd, seen["cmd"], pub_cmd):
        assert cmd[1:5] == ["-m", "sphinx", "-b", "html"]
        assert {"-W", "--keep-going", "-n"} <= set(cmd)
    assert "-T" in nox_cmd and "-T" not in seen["cmd"] + pub_cmd


def test_build_env_and_model_cache(tmp_path, monkeypatch):
    env = buildcmd.build_env("default", tmp_path / "cache")
    assert env == {
        "LAYERWISE_PROFILE": "default",
        "LAYERWISE_CACHE": str((tmp_path / "cache").resolve()),
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_MMAP_THRESHOLD_": "33554432",
        "MALLOC_TRIM_THRESHOLD_": "268435456",
    }
    with pytest.raises(ValueError, match="unknown build profile 'fast'"):
        buildcmd.build_env("fast", tmp_path)
    monkeypatch.delenv("LAYERWISE_CACHE", raising=False)
    assert buildcmd.model_cache(tmp_path) == tmp_path / "build" / "model-cache"
    monkeypatch.setenv("LAYERWISE_CACHE", str(tmp_path / "elsewhere"))
    assert buildcmd.model_cache(tmp_path) == tmp_path / "elsewhere"


def test_the_build_profiles_are_the_library_s():
    assert buildcmd.PROFILES == runtime.PROFILES
    for script in (bench, publish, fill_cache):
        assert script.buildcmd is buildcmd


def test_gallery_times_reads_minutes_seconds_and_milliseconds_of_each_example():
    table = (
        "   * - :ref:`sphx_glr_auto_examples_ch_plot_a.py` (``plot_a.py``)\n"
        "     - 01:05.250\n     - 0.0\n"
        "   * - :ref:`sphx_glr_auto_examples_ch_plot_b.py` (``plot_b.py``)\n"
        "     - 00:06.1000\n     - 0.0\n"
        "   * - :ref:`sphx_glr_auto_examples_ch_plot_c.py` (``plot_c.py``)\n"
        "     - 00:00.005\n     - 0.0\n"
    )
    # The milliseconds are rounded on their own: 6 s and 999.6 ms is written "00:06.1000".
    assert buildcmd.gallery_times(table) == {
        "plot_a.py": 65.25,
        "plot_b.py": 7.0,
        "plot_c.py": 0.005,
    }


def test_a_site_build_s_processes_compute_with_one_thread(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, **buildcmd.build_env("quick", tmp_path)}
    code = "import torch; print(torch.get_num_threads())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "1", done.stderr
