"""Sphinx glue for building Layerwise: what Sphinx-Gallery and myst-nb do not do on their own.

* **Stale examples.** Sphinx-Gallery re-runs an example only when the example file changes. Here
  each example also gets a fingerprint of the ``layerwise`` modules it imports (followed through
  the package's own imports; a name read from a subpackage, such as ``data.shapes``, counts the
  submodule that defines it, not the whole subpackage), the build profile, the device type and
  the PyTorch version; when it changes, the example's ``.md5`` is removed so Sphinx-Gallery runs
  it again. Executed MyST pages are re-run the same way (their execution cache is dropped).
* **Isolation.** :func:`reset_state` runs before every example: it re-seeds every generator,
  closes figures and frees GPU memory, so one page cannot change another's numbers.
* **Parallel examples.** The gallery's pages run :func:`gallery_jobs` at a time, those of
  every chapter in one pool of worker processes, one process per page, forked from a server
  that has only imported the libraries (no OpenMP thread pool or device is started before the
  fork); see ``gallery_pool``. :func:`reset_state` pins each worker to its own share of the CPU
  cores and, on a machine with several GPUs, to one GPU. Every
  page runs single-threaded (``buildcmd.build_env``), so its numbers do not depend on how many
  pages run at once, nor on how many cores the machine has.
* **Claims.** A page states its headline results with :func:`layerwise.stats.claim`. Before
  each example runs, :func:`reset_state` points ``LAYERWISE_CLAIMS_FILE`` at the page's claims
  file (``auto_examples/_claims/<example>.json``, kept with the page so a skipped example keeps
  its claims). After the gallery is generated, every page's claims are read: each page gets an
  answer box under its title, the Claims page gets one row per claim, and in the default and
  full profiles the build stops with one line per claim that does not hold.
* **Figure code folded.** On a gallery page, the code that draws a figure (from a cell's first
  top-level line that makes a figure to its last ``plt.show()``, when that is at least
  :data:`FOLD_LINES` lines) is folded under "Show the code that draws the figure", so prose,
  figures and results lead; the computation before it stays open, and the downloaded script and
  notebook keep every line.
* **Offline pages.** Sphinx-Gallery's execution-time tables load jQuery and DataTables from CDNs;
  those tags are removed so every page works from the local server alone.
"""

from __future__ import annotations

import ast
import functools
import gc
import hashlib
import html
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import buildcmd
import gallery_pool

from layerwise import stats

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "layerwise"
STATE_FILE = ".layerwise-fingerprints.json"


# --------------------------------------------------------------------------------------------
# Dependencies of an example on the library
# --------------------------------------------------------------------------------------------


def library_modules() -> dict[str, Path]:
    """Every module of the library by its name inside ``layerwise``, subpackages included:
    ``"train"``, ``"data"`` (a package: its ``__init__.py``), ``"data.sounds"``; the package's
    own ``__init__.py`` is ``"__init__"``."""
    found = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        parts = path.relative_to(LIBRARY).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _attribute_uses(tree: ast.AST) -> dict[str, set[str] | None]:
    """For each name in the source, the attributes read from it (``data.shapes`` ->
    ``{"shapes"}``), or None when the name is also used on its own (any attribute may be read)."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    used: dict[str, set[str] | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            parent = parents.get(node)
            if isinstance(parent, ast.Attribute) and parent.value is node:
                if used.get(node.id, set()) is not None:
                    used.setdefault(node.id, set()).add(parent.attr)
            else:
                used[node.id] = None
    return used


# What source uses from the library, as ``(module, what)`` pairs: ``what`` None is the whole
# module (its file and what it imports), ``""`` its file alone, a name one name it defines or
# imports.
Reference = tuple


@functools.cache
def _parse(source: str) -> ast.Module:
    """``ast.parse``, once per source text: every page's dependencies walk the same modules."""
    return ast.parse(source)


def _references(source: str, module: str | None, modules: dict[str, Path]) -> list | None:
    """What Python source uses from ``layerwise``; None means "the whole package".

    ``module`` is the importing module's name inside the library (``"data.sounds"``; None for an
    example), for relative imports. A module bound to a name (``from layerwise import data``)
    is used through the attributes read from that name, so that a page calling
    ``data.shapes(...)`` depends on the submodule that defines ``shapes``, not on every dataset.
    """
    package_files = tuple(sorted((name, path.name) for name, path in modules.items()))
    found = _references_of(source, module, package_files)
    return None if found is None else list(found)


@functools.cache
def _references_of(
    source: str, module: str | None, package_files: tuple[tuple[str, str], ...]
) -> tuple | None:
    """:func:`_references`, once per source text and module (``package_files``: each module's
    name and file name, all that the answer depends on besides the source)."""
    modules = dict(package_files)
    tree = _parse(source)
    uses = _attribute_uses(tree)
    found: list[Reference] = []
    if module is None or module == "__init__":
        package: list[str] = []
    elif modules[module] == "__init__.py":
        package = module.split(".")
    else:
        package = module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "layerwise":
                    if len(parts) == 1:
                        return None  # ``import layerwise``: any submodule may be used
                    found.append((".".join(parts[1:]), None))
        elif isinstance(node, ast.ImportFrom):
            if node.level and module is not None:
                up = package[: len(package) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "layerwise":
                base = ".".join(node.module.split(".")[1:])
            else:
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}" if base else alias.name
                if target in modules:  # ``from layerwise import data``: a module, by name
                    attributes = uses.get(alias.asname or alias.name)
                    if not attributes:  # passed around, or imported for its side effects
                        found.append((target, None))
                    else:
                        found.append((target, ""))
                        found.extend((target, a) for a in sorted(attributes))
                elif base:  # ``from layerwise.data import shapes``: a name in a module
                    found.append((base, alias.name))
    return tuple(found)


def _expand(ref: Reference, modules: dict[str, Path]) -> list[Reference] | None:
    """What one reference needs in turn (its module's file is counted by the caller).

    A name read from a package leads to the submodule it comes from (the package's
    ``__init__`` re-exports it); a name read from a plain module, to the whole module.
    """
    module, name = ref
    source = modules[module].read_text(encoding="utf-8")
    if name == "":
        return []
    if name is None or modules[module].name != "__init__.py":
        return _references(source, module, modules)
    if f"{module}.{name}" in modules:
        return [(f"{module}.{name}", None)]
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:  # a re-export: where it comes from
                    single = ast.ImportFrom(node.module, [ast.alias(alias.name)], node.level)
                    found = _references(ast.unparse(single), module, modules) or []
                    return [(m, n or None) for m, n in found]
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):  # ``PHOTOS = _photos.PHOTOS``: what the value reads, through the imports it uses
            reads = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            imports = [
                ast.ImportFrom(i.module, [ast.alias(a.name, a.asname)], i.level)
                for i in ast.walk(_parse(source))
                if isinstance(i, ast.ImportFrom)
                for a in i.names
                if (a.asname or a.name) in reads
            ]
            statements = "\n".join(ast.unparse(n) for n in [*imports, node])
            return _references(statements, module, modules)
    return _references(source, module, modules)  # defined in the ``__init__`` otherwise


def dependencies(example: Path) -> list[str]:
    """The library modules an example depends on, directly or through other modules."""
    modules = library_modules()
    direct = _references(example.read_text(encoding="utf-8"), None, modules)
    todo = [(m, None) for m in modules] if direct is None else list(direct)
    done: set[Reference] = set()
    files: set[str] = {"__init__"}
    while todo:
        ref = todo.pop()
        if ref in done or ref[0] not in modules:
            continue
        done.add(ref)
        files.add(ref[0])
        more = _expand(ref, modules)
        todo += [(m, None) for m in modules] if more is None else more
    return sorted(files)


def environment_fingerprint() -> dict[str, str]:
    """What, besides the code, changes an example's output: profile, device, PyTorch."""
    import torch

    from layerwise import runtime

    return {
        "profile": runtime.profile(),
        "device": runtime.device().type,
        "torch": torch.__version__,
    }


def example_fingerprint(example: Path, env: dict[str, str]) -> str:
    h = hashlib.sha256(json.dumps(env, sort_keys=True).encode())
    modules = library_modules()
    for name in dependencies(example):
        h.update(name.encode())
        h.update(modules[name].read_bytes())
    return h.hexdigest()[:16]


def invalidate_stale_examples(examples_dirs: list[Path], gallery_dirs: list[Path]) -> list[str]:
    """Remove the ``.md5`` of each example whose fingerprint changed; return their names."""
    env = environment_fingerprint()
    rerun = []
    for src_dir, out_dir in zip(examples_dirs, gallery_dirs, strict=True):
        state_path = out_dir / STATE_FILE
        try:
            old = json.loads(state_path.read_text())
        except (OSError, ValueError):
            old = {}
        new = {}
        for example in sorted(src_dir.glob("*.py")):
            new[example.name] = example_fingerprint(example, env)
            md5 = out_dir / f"{example.name}.md5"
            if old.get(example.name) != new[example.name] and md5.exists():
                md5.unlink()
                rerun.append(f"{src_dir.name}/{example.name}")
        out_dir.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps(new, indent=1, sort_keys=True))
    return rerun


#: Data files the MyST pages read when they run (the benchmarks page renders these records).
NOTEBOOK_DATA = Path(__file__).resolve().parents[1] / "benchmarks"


def invalidate_notebook_cache(cache_path: Path, data: Path = NOTEBOOK_DATA) -> bool:
    """Drop myst-nb's execution cache when the library, the environment or a data file the
    pages read (``data/*.json``, e.g. a new ``nox -s bench`` record) changed."""
    env = environment_fingerprint()
    h = hashlib.sha256(json.dumps(env, sort_keys=True).encode())
    for path in [*library_modules().values(), *sorted(Path(data).glob("*.json"))]:
        h.update(path.read_bytes())
    stamp = cache_path.parent / f"{cache_path.name}.fingerprint"
    current = h.hexdigest()[:16]
    if stamp.exists() and stamp.read_text() == current:
        return False
    dropped = cache_path.exists()
    shutil.rmtree(cache_path, ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)
    return dropped


# --------------------------------------------------------------------------------------------
# Reading order of the pages in a chapter
# --------------------------------------------------------------------------------------------

#: chapter folder -> example file names in reading order (from ``layerwise_chapters`` in conf.py)
CHAPTERS: dict[str, list[str]] = {}


class ExampleOrder:
    """Sphinx-Gallery sort key: the order given for the chapter in ``layerwise_chapters``."""

    def __init__(self, src_dir):
        self.chapter = Path(src_dir).name
        self.order = CHAPTERS.get(self.chapter, [])

    def __call__(self, filename):
        if filename not in self.order:
            raise ValueError(
                f"gallery/{self.chapter}/{filename} is not listed in conf.py's "
                "layerwise_chapters; add it where it belongs in the chapter's reading order."
            )
        return self.order.index(filename)

    def __repr__(self):
        return f"ExampleOrder({self.chapter!r})"


# --------------------------------------------------------------------------------------------
# Between examples
# --------------------------------------------------------------------------------------------


_WORKER_SLOT: tuple[int, object] | None = None  # (slot, open lock file) once a worker has one


#: The most gallery pages a build runs at a time by default, and the memory it allows each.
MAX_DEFAULT_JOBS = 4
MEMORY_PER_JOB_BYTES = 2.5 * 2**30


def default_jobs(cores: int | None = None, available_bytes: float | None = None) -> int:
    """One page per usable CPU core, at most :data:`MAX_DEFAULT_JOBS`, and no more than the
    available memory allows at :data:`MEMORY_PER_JOB_BYTES` each (the heaviest pages peak near
    2 GB); at least one."""
    if cores is None:
        cores = len(os.sched_getaffinity(0))
    if available_bytes is None:
        available_bytes = _available_memory()
    return max(1, min(cores, MAX_DEFAULT_JOBS, int(available_bytes // MEMORY_PER_JOB_BYTES)))


def _available_memory() -> float:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (infinite where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float("inf")


def gallery_jobs() -> int:
    """How many gallery pages a build runs at a time: ``LAYERWISE_GALLERY_JOBS``, or
    :func:`default_jobs` when it is unset or empty."""
    value = os.environ.get("LAYERWISE_GALLERY_JOBS", "").strip()
    if not value:
        return default_jobs()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"LAYERWISE_GALLERY_JOBS={value!r}: use a whole number of workers >= 1")
    return int(value)


def claim_worker_slot(jobs: int, slots_dir: Path, wait: float = 60.0) -> int:
    """Take the lowest free worker slot ``0..jobs-1`` and hold it while this process lives.

    A slot is an exclusive ``flock`` on a file in ``slots_dir``; the operating system releases it
    when the process ends, so the process that replaces a finished one takes its slot. The pool
    starts that process as soon as the finished one has reported its page, which can be before
    the finished one has exited: a process that finds every slot held tries again for up to
    ``wait`` seconds before it gives up.
    """
    import fcntl
    import time

    global _WORKER_SLOT
    deadline = time.monotonic() + wait
    while _WORKER_SLOT is None:
        slots_dir.mkdir(parents=True, exist_ok=True)
        for slot in range(jobs):
            handle = (slots_dir / f"slot-{slot}").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            _WORKER_SLOT = (slot, handle)
            break
        else:
            if time.monotonic() > deadline:
                raise RuntimeError(f"more than {jobs} gallery workers are alive at once")
            time.sleep(0.05)
    return _WORKER_SLOT[0]


def pin_worker(slot: int, jobs: int) -> None:
    """Give worker ``slot`` of ``jobs`` its share of the CPU cores and, if there are several GPUs,
    its own GPU. The number of threads stays what the build's environment sets (one)."""
    import torch

    cores = sorted(os.sched_getaffinity(0))
    mine = cores[slot::jobs] or cores
    os.sched_setaffinity(0, mine)
    if torch.cuda.device_count() > 1 and "LAYERWISE_DEVICE" not in os.environ:
        os.environ["LAYERWISE_DEVICE"] = f"cuda:{slot % torch.cuda.device_count()}"
        torch.cuda.set_device(slot % torch.cuda.device_count())


def pin_if_worker() -> None:
    """In a worker process of a parallel build, pin it once (see :func:`pin_worker`)."""
    jobs = gallery_jobs()
    build_pid = os.environ.get("LAYERWISE_BUILD_PID")
    if jobs > 1 and build_pid and int(build_pid) != os.getpid() and _WORKER_SLOT is None:
        slots = Path(tempfile.gettempdir()) / f"layerwise-gallery-slots-{build_pid}"
        pin_worker(claim_worker_slot(jobs, slots), jobs)


def reset_state(gallery_conf, fname, when):
    """Sphinx-Gallery reset hook: same seeds, no figures, free GPU memory, before each example.

    In a parallel build it first pins the worker process it runs in (see :func:`pin_worker`).
    """
    import matplotlib.pyplot as plt
    import torch

    from layerwise import runtime

    pin_if_worker()
    plt.close("all")
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    runtime.seed_everything(0)
    os.environ["LAYERWISE_PAGE"] = Path(fname).stem  # for runtime.progress lines
    claims = claims_file(Path(gallery_conf["src_dir"]), Path(fname).stem)
    claims.unlink(missing_ok=True)  # the page is about to state its claims afresh
    os.environ[stats.CLAIMS_FILE_VARIABLE] = str(claims)


# --------------------------------------------------------------------------------------------
# Claims: answer boxes, the Claims page, and a build that fails when a claim does not hold
# --------------------------------------------------------------------------------------------

CLAIMS_DIR = Path("auto_examples") / "_claims"
CLAIMS_PAGE = "claims"
_CLAIMS_MARKER = "<!-- claims table: filled in by the build -->"


def claims_file(srcdir: Path, example: str) -> Path:
    return srcdir / CLAIMS_DIR / f"{example}.json"


def page_claims(srcdir: Path, chapters: dict[str, list[str]]) -> dict[tuple[str, str], list]:
    """``(chapter, example stem) -> [claim dicts]`` for every example, in reading order."""
    found = {}
    for chapter, examples in chapters.items():
        for name in examples:
            stem = Path(name).stem
            try:
                found[chapter, stem] = json.loads(claims_file(srcdir, stem).read_text())
            except (OSError, ValueError):
                found[chapter, stem] = []
    return found


def failed_claims(claims: dict[tuple[str, str], list]) -> list[str]:
    """One line per checked claim that does not hold: page, claim, measurement and rule."""
    return [
        f"{chapter}/{stem}.py: claim {c['text']!r} does not hold: measured {c['shown']}, "
        f"rule {c['rule']}"
        for (chapter, stem), page in claims.items()
        for c in page
        if c["checked"] and not c["holds"]
    ]


def _rst_escape(text: str) -> str:
    return re.sub(r"([*`|\\_])", r"\\\1", text)


def answer_box(claims: list[dict]) -> str:
    """The reStructuredText admonition put under a gallery page's title."""
    lines = [
        ".. admonition:: What this page measured (numbers from this build)",
        "   :class: layerwise-answer",
        "",
    ]
    for c in claims:
        verdict = {"holds": "✔ holds", "does not hold": "✘ does not hold"}.get(
            c["verdict"], c["verdict"]
        )
        lines.append(
            f"   * **{_rst_escape(c['text'])}.** Measured {_rst_escape(c['shown'])}; "
            f"{_rst_escape(c['rule'])}: {verdict}."
        )
    lines += ["", "   Every claim on the site, with the rule that decides it: :doc:`/claims`.", ""]
    return "\n".join(lines) + "\n"


_TITLE = re.compile(r"^(?P<title>[^\n]+)\n(?P<rule>[=]{3,})\n", flags=re.MULTILINE)
# A page's question for the reader, one field in its docstring: ":Predict first: Will ...?"
# (continuation lines indented). It stays in the downloaded script and notebook as a prompt.
_PREDICT = re.compile(r"^:Predict first:[ ]*(?P<q>\S.*\n(?:[ ]+\S.*\n)*)", flags=re.MULTILINE)


def predict_first(source: str) -> tuple[str | None, str]:
    """The page's "Predict first" question (or None) and its source without that field."""
    match = _PREDICT.search(source)
    if not match:
        return None, source
    question = " ".join(match.group("q").split())
    return question, source[: match.start()] + source[match.end() :]


def predict_block(question: str, box: str) -> str:
    """The answer box folded under the page's question: the reader guesses, then opens it."""
    summary = html.escape(question)
    return (
        ".. raw:: html\n\n"
        f'   <details class="layerwise-predict"><summary><strong>Predict first:</strong> '
        f"{summary} <em>Then open this for what the build measured.</em></summary>\n\n"
        f"{box}\n"
        ".. raw:: html\n\n"
        "   </details>\n\n"
    )


def _insert_answer_box(app, docname, source):
    parts = docname.split("/")
    if len(parts) != 3 or parts[0] != "auto_examples" or not parts[2].startswith("plot_"):
        return
    claims = page_claims(Path(app.srcdir), {parts[1]: [parts[2] + ".py"]})[parts[1], parts[2]]
    question, text = predict_first(source[0])
    if not claims:
        source[0] = text
        return
    match = _TITLE.search(text)
    if match:
        end = match.end()
        box = answer_box(claims)
        block = predict_block(question, box) if question else box
        source[0] = text[:end] + "\n" + block + text[end:]


#: A figure's drawing code is folded on the page from this many non-blank lines on.
FOLD_LINES = 8
_CODE_BLOCK = re.compile(r"^\.\. code-block:: Python\n((?:[ ]*\n|    .*\n)*)", flags=re.MULTILINE)
# A top-level line of a code cell that starts drawing a figure.
_FIGURE_START = re.compile(
    r"^    (?:fig\b|\S.*\bplt\.(?:subplots|figure|subplot_mosaic)\(|plt\.|plot\.\w+\(|ax = plot\.)"
)


def _code_block(lines: list[str]) -> str:
    return ".. code-block:: Python\n\n" + "\n".join(lines).strip("\n") + "\n\n"


def fold_figure_code(rst: str) -> str:
    """A gallery page's reST with each figure's drawing code folded into a ``<details>`` block.

    In a code cell that calls ``plt.show()``, the drawing code runs from the first top-level line
    that starts a figure (``fig, ax = plt.subplots(...)``, ``fig = plot.image_rows(...)``,
    ``plt.figure(...)``) to the last ``plt.show()``. When it has at least :data:`FOLD_LINES`
    non-blank lines it becomes its own code block, folded; the lines before and after it stay
    open as code blocks of their own.
    """

    def fold(match: re.Match) -> str:
        lines = match.group(1).split("\n")
        start = next((i for i, line in enumerate(lines) if _FIGURE_START.match(line)), None)
        shows = [i for i, line in enumerate(lines) if line.strip() == "plt.show()"]
        if start is None or not shows or shows[-1] < start:
            return match.group(0)
        end = shows[-1] + 1
        figure = lines[start:end]
        count = sum(1 for line in figure if line.strip())
        if count < FOLD_LINES:
            return match.group(0)
        before, after = lines[:start], lines[end:]
        out = _code_block(before) if any(line.strip() for line in before) else ""
        out += (
            ".. raw:: html\n\n"
            '   <details class="layerwise-code"><summary>Show the code that draws the figure '
            f"({count} lines)</summary>\n\n" + _code_block(figure) + ".. raw:: html\n\n"
            "   </details>\n\n"
        )
        if any(line.strip() for line in after):
            out += _code_block(after)
        return out + "\n"

    return _CODE_BLOCK.sub(fold, rst)


def _fold_figure_code(app, docname, source):
    parts = docname.split("/")
    if len(parts) == 3 and parts[0] == "auto_examples" and parts[2].startswith("plot_"):
        source[0] = fold_figure_code(source[0])


def claims_table(claims: dict[tuple[str, str], list]) -> str:
    """The Claims page's table (MyST Markdown)."""
    rows = [
        "| page | claim | measured (95 % interval) | rule | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (chapter, stem), page in claims.items():
        for c in page:
            text = c["text"].replace("|", "\\|")
            rows.append(
                f"| {{doc}}`/auto_examples/{chapter}/{stem}` | {text} | {c['shown']} | "
                f"{c['rule']} | {c['verdict']} |"
            )
    if len(rows) == 2:
        return "No page has stated a claim in this build."
    return "\n".join(rows)


def _fill_claims_page(app, docname, source):
    if docname == CLAIMS_PAGE and _CLAIMS_MARKER in source[0]:
        claims = page_claims(Path(app.srcdir), app.config.layerwise_chapters)
        source[0] = source[0].replace(_CLAIMS_MARKER, claims_table(claims))


def _claims_page_outdated(app, env, added, changed, removed):
    # The table, and pages that cite claims, depend on every page's claims, not on their own
    # source: read them again every build (their executed cells stay cached).
    citing = getattr(env, "layerwise_citing_claims", set())
    return sorted(({CLAIMS_PAGE} | citing) & set(env.found_docs))


def _find_claims(app, page: str) -> tuple[str, list[dict]]:
    """The chapter of gallery page ``page`` (an example's stem) and its claims."""
    chapters = app.config.layerwise_chapters
    for chapter, examples in chapters.items():
        if f"{page}.py" in examples:
            return chapter, page_claims(Path(app.srcdir), {chapter: [f"{page}.py"]})[chapter, page]
    raise ValueError(f"{page!r} is not a gallery page listed in conf.py's layerwise_chapters")


def _claim_nodes(app, chapter: str, page: str, c: dict):
    from docutils import nodes
    from sphinx import addnodes

    link = addnodes.pending_xref(
        "",
        nodes.inline(text=c["text"]),
        refdomain="std",
        reftype="doc",
        reftarget=f"/auto_examples/{chapter}/{page}",
        refexplicit=True,
        refwarn=True,
    )
    return [link, nodes.Text(f" (measured {c['shown']}; {c['verdict']})")]


def _claim_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{claim}`page` `` or ``{claim}`page:2` ``: a gallery page's claim (1-based), linked,
    with the number this build measured."""
    from docutils import nodes

    env = inliner.document.settings.env
    env.layerwise_citing_claims = getattr(env, "layerwise_citing_claims", set()) | {env.docname}
    page, _, index = text.partition(":")
    try:
        chapter, claims = _find_claims(env.app, page.strip())
        if not claims:
            raise ValueError(f"{page} has stated no claim in this build")
        picked = claims[int(index) - 1] if index else claims[0]
    except (ValueError, IndexError) as err:
        msg = inliner.reporter.error(f"claim {text!r}: {err}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    return [nodes.inline("", "", *_claim_nodes(env.app, chapter, page.strip(), picked))], []


def _purge_citing(app, env, docname):
    getattr(env, "layerwise_citing_claims", set()).discard(docname)


def _merge_citing(app, env, docnames, other):
    env.layerwise_citing_claims = getattr(env, "layerwise_citing_claims", set()) | getattr(
        other, "layerwise_citing_claims", set()
    )


#: Seconds one page may take in the default profile on 2 CPU cores; slower ones are named.
PAGE_BUDGET_S = 60.0


def page_times(srcdir: Path) -> dict[str, float]:
    """Seconds each example took, from Sphinx-Gallery's ``sg_execution_times.rst`` files."""
    times = {}
    for table in sorted(srcdir.glob("auto_examples/*/sg_execution_times.rst")):
        for name, seconds in buildcmd.gallery_times(table.read_text(encoding="utf-8")).items():
            times[f"{table.parent.name}/{name}"] = seconds
    return times


def slowest_pages(times: dict[str, float], count: int = 10) -> str:
    """The ``count`` slowest pages as a small terminal table, and those over the budget."""
    ranked = sorted(times.items(), key=lambda item: -item[1])[:count]
    lines = [f"layerwise: the {len(ranked)} slowest pages of this build's gallery:"]
    lines += [f"  {seconds:7.1f} s  {name}" for name, seconds in ranked]
    over = [name for name, seconds in times.items() if seconds > PAGE_BUDGET_S]
    if over:
        lines.append(
            f"layerwise: over the {PAGE_BUDGET_S:.0f} s page budget: {', '.join(sorted(over))}"
        )
    return "\n".join(lines)


# Sphinx-Gallery turns a page's text into the notebook's Markdown but leaves Sphinx roles as
# they are (":term:`pooling`", ":cite:`olah2017feature`"), which a notebook shows raw.
# The same roles in MyST (the concept pages): {term}`pooling`, {cite:p}`key`.
_ROLES = "term|cite|func|mod|class|meth|data|attr|ref|doc"
_ROLE = re.compile(rf"(?::({_ROLES}):|\{{({_ROLES})(?::\w+)?\}})`([^`]+)`")
_GALLERY_REF = re.compile(r"`sphx_glr_auto_examples_(\w+?)_(plot_\w+)\.py`")


def _plain_role(match: re.Match) -> str:
    rst_role, myst_role, text = match.groups()
    role = rst_role or myst_role
    shown, _, target = text.partition(" <")
    if role == "cite":
        return "[" + ", ".join(key.strip() for key in text.split(",")) + "]"
    if role == "term":
        return shown.strip()
    if role in ("ref", "doc"):
        return shown.strip() if target else text
    name = text.lstrip("~")
    return f"`{name.rsplit('.', 1)[-1] if text.startswith('~') else name}`"


def reader_markdown(text: str) -> str:
    """A notebook's Markdown as a reader sees it: glossary terms as plain words, citations as
    ``[key]``, API names as code, and links to other pages as the page's script name."""
    text = _GALLERY_REF.sub(lambda m: f"`{m.group(1)}/{m.group(2)}.py`", text)
    return _ROLE.sub(_plain_role, text)


def tidy_gallery_notebooks(srcdir: Path) -> int:
    """Rewrite the Markdown cells of the gallery's notebooks with :func:`reader_markdown`;
    returns how many notebooks changed."""
    changed = 0
    for path in sorted(srcdir.glob("auto_examples/*/plot_*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        before = json.dumps(notebook)
        for cell in notebook["cells"]:
            if cell["cell_type"] == "markdown":
                source = cell["source"]
                text = "".join(source) if isinstance(source, list) else source
                cell["source"] = reader_markdown(text)
        if json.dumps(notebook) != before:
            path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
            changed += 1
    return changed


def _after_gallery(app):
    """After the gallery has run: the slowest pages, the notebooks' Markdown made readable
    (:func:`tidy_gallery_notebooks`), then stop if a claim does not hold."""
    from sphinx.errors import ExtensionError

    times = page_times(Path(app.srcdir))
    if times:
        print(slowest_pages(times))
    pool = gallery_pool.active()
    shared = pool.shared_seconds() if pool else {}
    if pool:
        executed = pool.executed_notebooks()
        if executed:
            print(f"layerwise: notebook pages executed beside the gallery: {', '.join(executed)}")
        pool.close()  # every page has run: the workers' memory goes back before Sphinx reads
    if shared:
        print(
            f"layerwise: shared networks trained before their pages, {sum(shared.values()):.1f} s "
            "in all: " + ", ".join(f"{name} {s:.1f} s" for name, s in shared.items())
        )
    tidy_gallery_notebooks(Path(app.srcdir))

    claims = page_claims(Path(app.srcdir), app.config.layerwise_chapters)
    total = sum(len(page) for page in claims.values())
    failed = failed_claims(claims)
    silent = [f"{chapter}/{stem}.py" for (chapter, stem), page in claims.items() if not page]
    print(
        f"layerwise: {total} claims on {len(claims) - len(silent)} of {len(claims)} pages"
        + (f"; no claims on {', '.join(silent)}" if silent else "")
    )
    if failed:
        raise ExtensionError(
            f"{len(failed)} claim(s) do not hold:\n" + "\n".join(failed), modname="layerwise"
        )


# --------------------------------------------------------------------------------------------
# Sphinx events
# --------------------------------------------------------------------------------------------

_CDN_TAG = re.compile(
    r"^\s*<(link|script)[^>]+(href|src)=\"https?://[^\"]+\"[^>]*>(</script>)?\s*$"
)
_DATATABLE_INIT = re.compile(
    r"<script type=\"text/javascript\" class=\"init\">.*?</script>", flags=re.DOTALL
)


# matplotlib's animation player links Font Awesome from a CDN, over two lines; the theme
# serves the same icons itself.
_ANIMATION_ICONS = re.compile(
    r"<link rel=\"stylesheet\"\s+href=\"https?://[^\"]+font-awesome[^\"]*\">"
)


# The player's frame and slider carry no text of their own.
_ANIMATION_FRAME = re.compile(r'<img id="(_anim_img\w+)"')
_ANIMATION_SLIDER = re.compile(r'<input id="(_anim_slider\w+)"')


def strip_cdn(docname: str, text: str) -> str:
    """A page's source without the tags that would load files from other hosts: Sphinx-Gallery's
    table scripts on the execution-time pages, matplotlib's icon stylesheet on animations (whose
    frame and slider get the accessible names matplotlib leaves out)."""
    if docname.endswith("sg_execution_times"):
        text = "\n".join(line for line in text.splitlines() if not _CDN_TAG.match(line))
        return _DATATABLE_INIT.sub("", text)
    text = _ANIMATION_ICONS.sub("", text)
    text = _ANIMATION_FRAME.sub(
        r'<img id="\1" alt="One frame of the animation; the buttons below play it or step '
        r'through it"',
        text,
    )
    return _ANIMATION_SLIDER.sub(r'<input id="\1" aria-label="Frame of the animation"', text)


def _strip_cdn(app, docname, source):
    source[0] = strip_cdn(docname, source[0])


def write_site_root(folder: Path, wheel: Path, switcher: str) -> None:
    """The files served at the site's root: this build's wheel (if built) and switcher.json."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.whl"):
        old.unlink()
    if wheel.exists():
        shutil.copyfile(wheel, folder / wheel.name)
    (folder / "switcher.json").write_text(switcher)


def _on_config_inited(app, config):
    root = config.layerwise_site_root
    if root:  # before Sphinx checks that html_extra_path exists
        write_site_root(Path(root["folder"]), Path(root["wheel"]), root["switcher"])
    os.environ["LAYERWISE_BUILD_PID"] = str(os.getpid())  # workers tell themselves apart by it
    # Decided once, so the worker processes agree on how many they are.
    jobs = gallery_jobs()
    os.environ["LAYERWISE_GALLERY_JOBS"] = str(jobs)
    gallery_pool.install(jobs, app)
    os.environ["LAYERWISE_PROGRESS"] = "1"  # runtime.progress: one terminal line per network
    CHAPTERS.clear()
    CHAPTERS.update(config.layerwise_chapters)
    srcdir = Path(app.srcdir)
    conf = config.sphinx_gallery_conf
    examples = [(srcdir / d).resolve() for d in conf["examples_dirs"]]
    galleries = [(srcdir / d).resolve() for d in conf["gallery_dirs"]]
    rerun = invalidate_stale_examples(examples, galleries)
    if rerun:
        print(f"layerwise: library or environment changed; re-running {', '.join(rerun)}")
    cache = getattr(config, "nb_execution_cache_path", None)  # set when myst-nb is loaded
    app.layerwise_notebooks_stale = bool(cache) and invalidate_notebook_cache(Path(cache))
    if app.layerwise_notebooks_stale:
        print("layerwise: library or environment changed; re-executing notebook pages")


def notebook_pages(srcdir: Path, docnames) -> list[str]:
    """The pages among ``docnames`` that are MyST notebooks (their code runs at build time)."""
    found = []
    for name in docnames:
        source = srcdir / f"{name}.md"
        if source.is_file() and "file_format: mystnb" in source.read_text(encoding="utf-8")[:500]:
            found.append(name)
    return sorted(found)


def _notebooks_outdated(app, env, added, changed, removed):
    # A dropped execution cache re-runs a notebook page only if Sphinx reads the page again,
    # which it does not do for an unchanged source: name them all.
    if not getattr(app, "layerwise_notebooks_stale", False):
        return []
    return notebook_pages(Path(app.srcdir), env.found_docs)


def restore_executed_notebooks(folder: Path, cache_path: Path) -> list[Path]:
    """Put the outputs back into the executed notebooks myst-nb wrote to ``folder`` without them;
    returns the notebooks restored.

    When myst-nb takes a page's outputs from its execution cache (``cache_path``), it renders
    them but writes the notebook it read, without outputs, to its output folder (which holds an
    executed notebook when it ran the page itself). The concept pages' downloadable notebooks
    and the benchmark's comparison of outputs are taken from that folder, and the gallery's pool
    executes the notebook pages before Sphinx reads them, so every cold build takes them from the
    cache. A notebook whose code cells have no outputs gets those of the cache's match."""
    import nbformat
    from jupyter_cache import get_cache

    if not folder.is_dir() or not cache_path.is_dir():
        return []
    cache = get_cache(cache_path)
    restored = []
    for path in sorted(folder.rglob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        if not code or any(cell.get("outputs") for cell in code):
            continue
        try:
            _, merged = cache.merge_match_into_notebook(notebook)
        except KeyError:  # not in the cache: nothing to restore
            continue
        if any(cell.get("outputs") for cell in merged.cells if cell.cell_type == "code"):
            nbformat.write(merged, path)
            restored.append(path)
    return restored


def _restore_executed_notebooks(app, env):
    nb_config = getattr(env, "mystnb_config", None)
    if nb_config is not None and nb_config.execution_mode == "cache":
        restore_executed_notebooks(
            Path(nb_config.output_folder), Path(nb_config.execution_cache_path)
        )


# Two markup problems that accessibility checkers (axe-core) report as serious:
# * Sphinx-Gallery's thumbnail links hide their text (the card is the link): give them a label;
# * docutils gives citation lists role="list" although their entries are not list items.
_THUMB_LINK = re.compile(
    r'<a class="reference internal" href="([^"]+)">'
    r'(?=<span class="doc">([^<]*)</span></a></p>\s*<div class="sphx-glr-thumbnail-title">)'
)


_NOTEBOOK_LINK = re.compile(r'href="(?:\.\./)*(_downloads/[0-9a-f]+/(plot_\w+)\.ipynb)"')


def colab_url(repository: str, branch: str, folder: str, notebook: str) -> str:
    """Colab's address for a notebook published on the site's branch of a GitHub repository."""
    path = "/".join(part.strip("/") for part in (folder, notebook) if part.strip("/"))
    return f"https://colab.research.google.com/github/{repository}/blob/{branch}/{path}"


# A concept page puts numbers its code computed into its text with myst-nb's ``glue``; a reader's
# notebook has no myst-nb (the ``layerwise`` wheel does not bring the docs tools), so the
# published notebook gets the values written into the text and a stand-in that prints them.
_GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)`")
_GLUE_IMPORT = "from myst_nb import glue\n"
_GLUE_STAND_IN = (
    "def glue(name, value, display=True):  # on the site, myst-nb writes value into the text\n"
    '    print(f"{name}: {value}")\n'
)


def _glued_text(output: dict) -> str | None:
    """The text a ``{glue:text}`` role shows for one glued output (a str without its quotes)."""
    text = output.get("data", {}).get("text/plain")
    if text is None:
        return None
    text = "".join(text)
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def reader_notebook(notebook: dict, glued: dict, first_cell: str) -> dict:
    """A concept page's executed notebook as a reader gets it: ``first_cell`` (which installs
    the matching ``layerwise``) in front, the values of ``glued`` (myst-nb's ``.glue.json``)
    written into the text, the other roles as plain Markdown (:func:`reader_markdown`), and
    ``glue`` replaced by a stand-in that prints its value."""
    values = {name: _glued_text(output) for name, output in glued.items()}
    cells = []
    for cell in notebook["cells"]:
        cell = dict(cell)
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            source = _GLUE_ROLE.sub(lambda m: values.get(m.group(1)) or m.group(0), source)
            source = reader_markdown(source)
        elif cell["cell_type"] == "code":
            source = source.replace(_GLUE_IMPORT, _GLUE_STAND_IN)
        cell["source"] = source.splitlines(keepends=True)
        cells.append(cell)
    install = {
        "cell_type": "code",
        "id": "install-layerwise",  # nbformat 4.5 gives every cell an id
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": first_cell.splitlines(keepends=True),
    }
    return {**notebook, "cells": [install, *cells]}


def publish_concept_notebook(executed: Path, out: Path, first_cell: str) -> None:
    """A concept page's executed notebook (myst-nb's), published for download and Colab (see
    :func:`reader_notebook`)."""
    notebook = json.loads(executed.read_text(encoding="utf-8"))
    glue_file = executed.with_name(f"{executed.stem}.glue.json")
    glued = json.loads(glue_file.read_text(encoding="utf-8")) if glue_file.is_file() else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(reader_notebook(notebook, glued, first_cell), indent=1), "utf-8")


def _launch_buttons(app, pagename, templatename, context, doctree):
    """An "Open in Colab" link under the title of every gallery page and concept page, for the
    notebook that this version of the site publishes (``layerwise_colab`` in conf.py says
    where). Concept pages are MyST notebooks: their executed notebook is published under
    ``notebooks/`` with a download link next to the Colab one."""
    body, where = context.get("body"), app.config.layerwise_colab
    if not body or not where:
        return
    if pagename.startswith("auto_examples/"):
        found = _NOTEBOOK_LINK.search(body)
        if not found:
            return
        notebook, extra = found.group(1), ""
    elif pagename.startswith("concepts/"):
        executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
        if not executed.is_file():
            return
        notebook = f"notebooks/{pagename}.ipynb"
        first_cell = app.config.sphinx_gallery_conf["first_notebook_cell"]
        publish_concept_notebook(executed, Path(app.outdir) / notebook, first_cell)
        up = "../" * pagename.count("/")
        extra = f' · <a class="reference internal" href="{up}{notebook}" download>Download</a>'
    else:
        return
    url = colab_url(where["repository"], where["branch"], where["folder"], notebook)
    button = (
        '<p class="layerwise-launch"><a class="reference external" '
        f'href="{url}">Open in Colab</a>{extra} (runs this page as a notebook; its first cell '
        "installs the matching <code>layerwise</code>)</p>"
    )
    end = body.find("</h1>")
    if end >= 0:
        context["body"] = body[: end + 5] + button + body[end + 5 :]


SIDEBAR_TOGGLE_LABEL = "Show or hide the pages under this entry"


def _label_sidebar_toggles(app, pagename, templatename, context, doctree):
    """The theme's sidebar opens nested sections with a <summary> that holds only an icon, which
    has no accessible name; give every such toggle one."""
    generate = context.get("generate_toctree_html")
    if generate is None or getattr(generate, "labels_toggles", False):
        return

    def labelled(*args, **kwargs):
        html = generate(*args, **kwargs)  # a BeautifulSoup tree (a string when empty)
        if isinstance(html, str):
            return html.replace("<summary>", f'<summary aria-label="{SIDEBAR_TOGGLE_LABEL}">')
        for summary in html.find_all("summary"):
            summary["aria-label"] = SIDEBAR_TOGGLE_LABEL
        return html

    labelled.labels_toggles = True
    context["generate_toctree_html"] = labelled


def _accessible_markup(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if not body:
        return
    body = body.replace('<div role="list" class="citation-list">', '<div class="citation-list">')
    context["body"] = _THUMB_LINK.sub(
        r'<a class="reference internal" href="\1" aria-label="\2">', body
    )


# Type hints name PyTorch classes by the private module that defines them; its documentation
# (and inventory) uses the public name.
_PUBLIC_NAMES = [
    (re.compile(r"^torch\.nn\.modules\.[a-z_]+\.(\w+)$"), r"torch.nn.\1"),
    (re.compile(r"^torch\._C\.(\w+)$"), r"torch.\1"),
]


def _public_torch_name(app, env, node, contnode):
    from sphinx.ext import intersphinx

    target = node.get("reftarget", "")
    for pattern, public in _PUBLIC_NAMES:
        if pattern.match(target):
            node["reftarget"] = pattern.sub(public, target)
            resolved = intersphinx.missing_reference(app, env, node, contnode)
            if resolved is None:
                node["reftarget"] = target
            return resolved
    return None


def setup(app):
    app.add_config_value("layerwise_chapters", {}, "env")
    app.add_config_value("layerwise_site_root", {}, "")
    app.add_config_value("layerwise_colab", {}, "html")  # served files only: no re-read
    app.connect("config-inited", _on_config_inited)
    # After Sphinx-Gallery's own builder-inited handler, which runs the examples.
    app.connect("builder-inited", _after_gallery, priority=900)
    app.connect("source-read", _insert_answer_box)
    app.connect("source-read", _fold_figure_code)
    app.connect("source-read", _fill_claims_page)
    app.connect("env-get-outdated", _claims_page_outdated)
    app.connect("env-get-outdated", _notebooks_outdated)
    app.connect("env-updated", _restore_executed_notebooks)
    app.connect("env-purge-doc", _purge_citing)
    app.connect("env-merge-info", _merge_citing)
    app.add_role("claim", _claim_role)
    app.connect("missing-reference", _public_torch_name)
    app.connect("source-read", _strip_cdn)
    app.connect("html-page-context", _accessible_markup)
    # After the theme's own handler (priority 500), which puts generate_toctree_html in place.
    app.connect("html-page-context", _label_sidebar_toggles, priority=900)
    app.connect("html-page-context", _launch_buttons)
    # env_version: a change to how pages are read (the folded figure code) re-reads them all.
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
