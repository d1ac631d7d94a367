"""Every Layerwise workflow: ``nox -s docs``, ``nox -s tests``, ``nox -s lint``, ...

Environments are created with uv (falling back to virtualenv), reused between runs, and pinned
by ``constraints.txt`` (regenerate it with ``nox -s lock``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "build"
HTML = BUILD / "html"
CONSTRAINTS = ROOT / "constraints.txt"
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# Generated during a build; never edited by hand.
GENERATED = [ROOT / "docs" / "auto_examples", ROOT / "docs" / "generated"]

# The build command, its environment, the wheel build and the profiles, shared with the build
# scripts in docs/_ext (a standard-library module: this file runs without Sphinx or PyTorch).
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import buildcmd  # noqa: E402


def install(session: nox.Session, *groups: str) -> None:
    """Install layerwise (editable) and the named dependency groups, pinned by the lock.

    The packages are compiled to bytecode as they are installed (uv does not by default), so
    every later process imports PyTorch, Sphinx and matplotlib from ``.pyc`` files even where
    Python may not write them itself (``PYTHONDONTWRITEBYTECODE``, a read-only environment):
    importing them from source costs about 8 s a process on 2 cores.
    """
    session.install(
        "-c", str(CONSTRAINTS), "-e", ".", *nox.project.dependency_groups(PYPROJECT, *groups),
        env={"UV_COMPILE_BYTECODE": "1"},
    )  # fmt: skip


def parse_options(session: nox.Session, allowed: dict[str, str]) -> dict[str, str | bool]:
    """Read ``--flag`` / ``--key=value`` options after ``--``; unknown ones are an error."""
    options: dict[str, str | bool] = {}
    for arg in session.posargs:
        key, _, value = arg.partition("=")
        if key not in allowed:
            choices = ", ".join(f"{k} ({v})" for k, v in allowed.items())
            session.error(f"unknown option {arg!r} for `nox -s {session.name}`; use {choices}.")
        options[key] = value or True
    return options


def build_site(session: nox.Session, profile: str, *, clean: bool = False) -> None:
    """Build the wheel and the whole site into build/html; warnings and failed examples fail."""
    if profile not in buildcmd.PROFILES:
        choices = ", ".join(buildcmd.PROFILES)
        session.error(f"unknown build profile {profile!r}; use one of {choices}.")
    if clean:
        for path in [*GENERATED, BUILD]:
            shutil.rmtree(path, ignore_errors=True)
    # The site publishes the library's wheel, so a downloaded notebook installs the same code.
    shutil.rmtree(BUILD / "wheel", ignore_errors=True)
    session.run(*buildcmd.wheel_command(ROOT, BUILD / "wheel", python="python"), external=True)
    session.run(
        *buildcmd.sphinx_command(ROOT, HTML, BUILD / "doctrees", python="python", traceback=True),
        env=buildcmd.build_env(profile, buildcmd.model_cache(ROOT)),
    )
    session.log(
        f"Site built in {HTML}; view it with: python -m http.server -d {HTML.relative_to(ROOT)}"
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site into build/html. Options: --quick, --full, --clean."""
    opts = parse_options(
        session,
        {
            "--quick": "a fast, reduced build profile",
            "--full": "more seeds and data, for a GPU",
            "--clean": "forget generated pages, executed notebooks and cached models first",
        },
    )
    if opts.get("--quick") and opts.get("--full"):
        session.error("choose one of --quick and --full.")
    profile = "quick" if opts.get("--quick") else "full" if opts.get("--full") else "default"
    install(session, "docs")
    build_site(session, profile, clean=bool(opts.get("--clean")))


@nox.session(name="docs-live")
def docs_live(session: nox.Session) -> None:
    """Serve the site and rebuild on every change (quick profile unless --default)."""
    opts = parse_options(session, {"--default": "use the default build profile"})
    install(session, "docs", "live")
    session.run(
        "sphinx-autobuild",
        "-c", str(ROOT),
        "-d", str(BUILD / "doctrees"),
        "--watch", str(ROOT / "src"),
        "--watch", str(ROOT / "gallery"),
        "--ignore", str(ROOT / "docs" / "auto_examples"),
        "--ignore", str(ROOT / "docs" / "generated"),
        "--ignore", str(BUILD),
        "--ignore", "*.md5",
        "--port", "8000",
        str(ROOT / "docs"),
        str(HTML),
        env=buildcmd.build_env(
            "default" if opts.get("--default") else "quick", buildcmd.model_cache(ROOT)
        ),
    )  # fmt: skip


@nox.session
def cache(session: nox.Session) -> None:
    """Train one chapter's networks into the model cache: ``nox -s cache -- CHAPTER``.

    ``-- --list`` prints the chapters; the hosted workflow runs one job per chapter and builds
    the site from the merged caches. See docs/_ext/fill_cache.py.
    """
    install(session, "docs")
    session.run(
        "python", str(ROOT / "docs" / "_ext" / "fill_cache.py"), *session.posargs,
        env={"LAYERWISE_CACHE": str(buildcmd.model_cache(ROOT).resolve())},
    )  # fmt: skip


@nox.session
def publish(session: nox.Session) -> None:
    """Assemble the versioned site in build/site: ``nox -s publish -- [--base-url URL] dev 0.1.0``.

    ``dev`` is built from the working tree, a release X.Y.Z from the tag vX.Y.Z; version folders
    already in the output (an earlier deployment) stay frozen. See docs/_ext/publish.py.
    """
    if not session.posargs:
        session.error("name the versions to build, e.g. `nox -s publish -- dev` or `-- 0.1.0`.")
    install(session, "docs")
    session.run("python", str(ROOT / "docs" / "_ext" / "publish.py"), *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests, then checks of the freshly (re)built site. Arguments after -- go to pytest."""
    install(session, "docs", "test")
    install_axe(session)
    build_site(session, "default")
    session.run("pytest", *session.posargs, env={"LAYERWISE_SITE": str(HTML)})


AXE_VERSION = "4.11.0"


def install_axe(session: nox.Session) -> None:
    """axe-core (accessibility rules, injected into pages by the browser tests), from npm."""
    package = BUILD / "node" / "node_modules" / "axe-core" / "package.json"
    if package.exists() and f'"version": "{AXE_VERSION}"' in package.read_text():
        return
    if not shutil.which("npm"):
        session.warn("npm not found: the browser tests will skip the accessibility check.")
        return
    (BUILD / "node").mkdir(parents=True, exist_ok=True)
    session.run(
        "npm", "install", "--silent", "--no-save", "--no-audit", "--no-fund",
        "--prefix", str(BUILD / "node"), f"axe-core@{AXE_VERSION}", external=True,
    )  # fmt: skip


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark cold/warm/edit builds and the training loop; writes docs/benchmarks/<device>.json.

    Options after -- go to docs/_ext/bench.py: --repeat N, --jobs J, --compare-jobs K,
    --profile P, --skip-builds. The training-loop measurements run single-threaded, as every
    page of a build does.
    """
    install(session, "docs")
    session.run("python", str(ROOT / "docs" / "_ext" / "bench.py"), *session.posargs,
                env={"PYTHONPATH": str(ROOT / "src"), **buildcmd.SINGLE_THREADED})  # fmt: skip


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: formatting and lint."""
    session.install("-c", str(CONSTRAINTS), *nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")


@nox.session(venv_backend="none")
def lock(session: nox.Session) -> None:
    """Re-resolve constraints.txt from pyproject.toml (needs the package registry)."""
    session.run(
        "uv", "pip", "compile", "pyproject.toml", "--quiet", "--upgrade",
        "--group", "docs", "--group", "test", "--group", "lint", "--group", "live",
        "--python-version", "3.11", "-o", str(CONSTRAINTS),
    )  # fmt: skip


@nox.session(venv_backend="none")
def intersphinx(session: nox.Session) -> None:
    """Refresh docs/_intersphinx from the projects' sites (needs a network; the build does not)."""
    import importlib.util
    import urllib.request

    spec = importlib.util.spec_from_file_location("conf", ROOT / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    for name, (url, path) in conf.intersphinx_mapping.items():
        session.log(f"{name}: {url}/objects.inv -> {path}")
        with urllib.request.urlopen(f"{url}/objects.inv", timeout=30) as response:
            Path(path).write_bytes(response.read())
