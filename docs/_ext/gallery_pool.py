"""Run the gallery's pages, every chapter's at once, in a pool of worker processes.

Sphinx-Gallery builds its galleries (here one per chapter) one after another and, with its
``parallel`` option, runs the pages of one chapter at a time: while a chapter's longest page
trains (the first-layers chapter's photo CNN takes minutes), the other workers wait for the
next chapter. This module keeps Sphinx-Gallery serial and stands in for the function it calls
once per page, ``sphinx_gallery.gen_rst.generate_file_rst``: on its first call it plans every
page of every chapter that has to run, and sends them to ``jobs`` worker processes (one
process per page, forked from a server that has imported the libraries: :func:`worker_pool`);
each call then hands Sphinx-Gallery its page's result once that
page has run, so the chapters are still written in reading order. Pages whose result is
current run in the build's own process, as before (they only read their cached output).

The plan (:func:`plan`):

* **Shared networks.** A network of :mod:`layerwise.zoo` is studied on several pages, which
  share it through the model cache. Its seeds are trained first, each as a job of its own
  (:func:`layerwise.zoo.prepare`), so they train side by side; the pages that use it wait for
  them and load it. Its training counts in the build's time, not in one page's, and the build
  reports it apart (:data:`SHARED_TIMES`).
* **Dependencies.** For the other things of :mod:`layerwise.zoo` (the datasets and schedules of
  the transfer pages), a page that uses one waits for the first page, in reading order, that
  does, so what it trains is trained once (by that page) and loaded by the others.
* **Order.** Among the pages that are ready, the one with the longest path ahead of it (its own
  time and the longest chain of pages waiting for it) starts first; the times are the last
  benchmark record's (``docs/benchmarks/cpu.json``), and a page it does not list counts as the
  slowest.

Results do not depend on the number of workers: each page starts from the same state (see
``layerwise_build.reset_state``), and a site build runs every page single-threaded
(``buildcmd.build_env``), in one process or several.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

#: The benchmark record whose page times order the pool's work.
COSTS = Path(__file__).resolve().parents[1] / "benchmarks" / "cpu.json"

_ZOO_CALL = re.compile(r"\bzoo\.(\w+)\(")

#: The expected seconds of a job the benchmark record does not list: it counts as the slowest.
UNKNOWN_SECONDS = 1e9


#: Where a build that trained shared networks writes how long each seed took (seconds by
#: "zoo/<network> seed <seed>"), under the Sphinx source folder; the benchmark reads it.
SHARED_TIMES = Path("auto_examples") / "_shared_networks.json"


@dataclass
class Page:
    """One job of the pool, with its expected seconds and the jobs it waits for: a gallery page
    (its file and folders), one seed of a shared network (``network`` and ``seed``), or a MyST
    notebook page to execute (``notebook``; ``fname`` is its file)."""

    name: str  # "chapter/plot_x" or "zoo/photo_cnn seed 0"
    fname: str
    src_dir: str
    target_dir: str
    seconds: float
    after: set[str] = field(default_factory=set)
    network: str | None = None
    seed: int | None = None
    notebook: bool = False

    @classmethod
    def executed(cls, docname: str, path: Path, costs: dict[str, float]) -> Page:
        """The job that executes the MyST notebook page ``docname`` (its file: ``path``)."""
        name = f"notebooks/{docname}"
        seconds = costs.get(name, UNKNOWN_SECONDS)
        return cls(name, str(path), "", "", seconds, notebook=True)

    @classmethod
    def shared(cls, network: str, seed: int, costs: dict[str, float]) -> Page:
        name = f"zoo/{network} seed {seed}"
        seconds = costs.get(name, UNKNOWN_SECONDS)
        return cls(name, "", "", "", seconds, network=network, seed=seed)


def zoo_networks(source: str) -> set[str]:
    """The :mod:`layerwise.zoo` recipes a page's source calls: ``photo_cnn`` for
    ``zoo.photo_cnn()``."""
    return set(_ZOO_CALL.findall(source))


def recorded_costs(path: Path = COSTS) -> dict[str, float]:
    """Seconds per page (``"chapter/plot_x"``) and per seed of a shared network (``"zoo/photo_cnn
    seed 0"``) in the benchmark record at ``path``; empty if there is none."""
    try:
        build = json.loads(path.read_text())["build"]
    except (OSError, ValueError, KeyError):
        return {}
    return {**build.get("pages_median_seconds", {}), **build.get("shared_networks_seconds", {})}


def plan(
    pages: list[Page],
    sources: dict[str, str],
    shared: dict[str, list[int]] | None = None,
    costs: dict[str, float] | None = None,
) -> list[Page]:
    """The pool's jobs for ``pages`` (in reading order; ``sources``: page name -> source):
    one job per seed of each ``shared`` network (name -> seeds) that a page uses, then the
    pages, each with :attr:`Page.after` set (see the module's docstring). ``costs`` are the
    expected seconds of the shared networks' jobs (unknown: the slowest)."""
    shared, costs = shared or {}, costs or {}
    jobs: dict[str, Page] = {}
    first_user: dict[str, str] = {}
    for page in pages:
        for network in sorted(zoo_networks(sources[page.name])):
            if network in shared:
                for seed in shared[network]:
                    job = Page.shared(network, seed, costs)
                    jobs.setdefault(job.name, job)
                    page.after.add(job.name)
                continue
            producer = first_user.setdefault(network, page.name)
            if producer != page.name:
                page.after.add(producer)
    return [*jobs.values(), *pages]


def priorities(pages: list[Page]) -> dict[str, float]:
    """Each page's own seconds plus the longest chain of pages that wait for it."""
    waiting: dict[str, list[str]] = {p.name: [] for p in pages}
    for p in pages:
        for before in p.after:
            if before in waiting:
                waiting[before].append(p.name)
    seconds = {p.name: p.seconds for p in pages}
    memo: dict[str, float] = {}

    def path(name: str, seen: tuple[str, ...] = ()) -> float:
        if name in seen:
            raise ValueError(f"gallery pages wait for each other: {' -> '.join((*seen, name))}")
        if name not in memo:
            chains = (path(w, (*seen, name)) for w in waiting[name])
            memo[name] = seconds[name] + max(chains, default=0.0)
        return memo[name]

    return {p.name: path(p.name) for p in pages}


class Scheduler:
    """Runs ``pages`` with ``submit(page) -> Future`` (at most ``jobs`` at a time), each when the
    pages it waits for are done, the highest :func:`priorities` first. :meth:`result` waits for
    one page. If a page fails, the pages not yet started are not started and report the error."""

    def __init__(self, pages: list[Page], jobs: int, submit):
        names = {p.name for p in pages}
        for p in pages:
            p.after &= names  # a page that does not run now has nothing left to do
        self.pages = {p.name: p for p in pages}
        self.jobs = jobs
        self.submit = submit
        self.order: list[str] = []  # the order pages started in
        self._results = {p.name: Future() for p in pages}
        self._priority = priorities(pages)
        self._thread = threading.Thread(target=self._run, name="gallery-pool", daemon=True)
        self._thread.start()

    def result(self, name: str):
        return self._results[name].result()

    def _run(self) -> None:
        pending, done, running = set(self.pages), set(), {}
        failure = None
        while (pending and failure is None) or running:
            ready = [n for n in pending if self.pages[n].after <= done]
            ready.sort(key=lambda n: (-self._priority[n], n))
            while failure is None and ready and len(running) < self.jobs:
                name = ready.pop(0)
                pending.discard(name)
                self.order.append(name)
                try:
                    running[self.submit(self.pages[name])] = name
                except Exception as error:  # the pool itself is broken
                    failure = error
                    self._results[name].set_exception(error)
            if not running:  # after a failure, or with nothing left
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                error = future.exception()
                if error is None:
                    self._results[name].set_result(future.result())
                    done.add(name)
                else:
                    failure = failure or error
                    self._results[name].set_exception(error)
        for name in pending:
            self._results[name].set_exception(
                RuntimeError(f"{name} was not run: another page failed ({failure})")
            )


# --------------------------------------------------------------------------------------------
# Sphinx-Gallery glue
# --------------------------------------------------------------------------------------------


def _needs_running(src_file: Path, target_file: Path, gallery_conf) -> bool:
    """What Sphinx-Gallery's ``generate_file_rst`` decides: executable and not current."""
    from sphinx_gallery.gen_rst import executable_script, get_md5sum

    if not executable_script(str(src_file), gallery_conf):
        return False
    md5 = Path(f"{target_file}.md5")
    current = md5.exists() and md5.read_text() == get_md5sum(src_file, mode="t")
    return not current or gallery_conf["run_stale_examples"]


def gallery_pages(gallery_conf, costs: dict[str, float]) -> tuple[list[Page], dict[str, str]]:
    """Every page of every chapter in reading order, with its source: ``(pages, sources)``;
    ``costs`` give the pages' expected seconds (:func:`recorded_costs`)."""
    from sphinx_gallery.gen_rst import _get_callables
    from sphinx_gallery.utils import _collect_gallery_files

    root = Path(gallery_conf["src_dir"])
    pages, sources = [], {}
    for examples, gallery in zip(
        gallery_conf["examples_dirs"], gallery_conf["gallery_dirs"], strict=True
    ):
        src_dir, target_dir = root / examples, root / gallery
        order = _get_callables(gallery_conf, "within_subsection_order", src_dir)[0]
        for fname in sorted(_collect_gallery_files([src_dir], gallery_conf), key=order):
            name = f"{Path(gallery).name}/{Path(fname).stem}"
            key = os.path.normpath(src_dir)
            pages.append(
                Page(
                    name,
                    fname,
                    key,
                    os.path.normpath(target_dir),
                    costs.get(name, UNKNOWN_SECONDS),
                )
            )
            sources[name] = (src_dir / fname).read_text(encoding="utf-8")
    return pages, sources


def run_shared(network: str, seed: int) -> float:
    """Train one seed of a shared network into the model cache (in a worker process); seconds
    it took to train, 0 if it was cached already."""
    import time

    import layerwise_build

    from layerwise import runtime, zoo

    layerwise_build.pin_if_worker()
    os.environ["LAYERWISE_PAGE"] = f"zoo/{network}"  # for runtime.progress lines
    runtime.seed_everything(0)
    started = time.perf_counter()
    trained = zoo.prepare(network, seed)
    return time.perf_counter() - started if trained else 0.0


class _NotebookLog:
    """What myst-nb logs while it executes a page, printed as Sphinx would print it."""

    def __init__(self, path: str):
        self.path = path

    def info(self, message, *args, **kwargs):
        print(f"{self.path}: {message} [mystnb]", flush=True)

    warning = error = info

    def debug(self, *args, **kwargs):
        pass


def stale_notebooks(srcdir: Path, md_config, nb_config) -> dict[str, tuple[Path, str]]:
    """The MyST notebook pages under ``srcdir`` whose code myst-nb's execution cache does not
    hold (``nb_execution_mode = "cache"``): docname -> (file, source)."""
    from jupyter_cache import get_cache
    from layerwise_build import notebook_pages
    from myst_nb.core.read import create_nb_reader

    if nb_config is None or nb_config.execution_mode != "cache":
        return {}
    cache = get_cache(nb_config.execution_cache_path)
    docnames = [str(p.relative_to(srcdir).with_suffix("")) for p in sorted(srcdir.rglob("*.md"))]
    stale = {}
    for docname in notebook_pages(srcdir, docnames):
        path = srcdir / f"{docname}.md"
        source = path.read_text(encoding="utf-8")
        notebook = create_nb_reader(str(path), md_config, nb_config, source).read(source)
        try:
            cache.match_cache_notebook(notebook)
        except KeyError:
            stale[docname] = (path, source)
    return stale


def run_notebook(path: str, md_config, nb_config) -> bool:
    """Execute a MyST notebook page into myst-nb's execution cache (in a worker process), as
    myst-nb does when Sphinx reads the page, which then finds it there. False if it failed:
    Sphinx executes it again when it reads the page, and reports the error there."""
    from myst_nb.core.execute import NotebookClientCache
    from myst_nb.core.read import create_nb_reader

    source = Path(path).read_text(encoding="utf-8")
    reader = create_nb_reader(path, md_config, nb_config, source)
    client = NotebookClientCache(
        reader.read(source), Path(path), nb_config, _NotebookLog(path), read_fmt=reader.read_fmt
    )
    try:
        client.start_client()
    except Exception:  # noqa: BLE001 - Sphinx runs it again and reports the error
        return False
    return bool(client.exec_metadata and client.exec_metadata["succeeded"])


def run_page(fname, target_dir, src_dir, gallery_conf):
    """Sphinx-Gallery's own ``generate_file_rst`` for one page (in a worker process)."""
    from sphinx_gallery import gen_rst

    generate = getattr(gen_rst.generate_file_rst, "original", gen_rst.generate_file_rst)
    return generate(fname, target_dir, src_dir, gallery_conf)


#: What every page imports, loaded once by the process that starts the workers (see
#: :func:`worker_pool`); besides the ``layerwise`` modules. ``torch._inductor.config`` is what
#: PyTorch's optimisers import on first use (about 1.8 s).
PRELOAD = (
    "numpy",
    "scipy.linalg",
    "torch",
    "torch._inductor.config",
    "matplotlib.pyplot",
    "sklearn.linear_model",
    "skimage.data",
    "captum.attr",
    "sphinx_gallery.gen_rst",
    "layerwise_build",
)


def worker_pool(workers: int):
    """A pool of ``workers`` processes that each run one job and exit.

    The processes are forked from a server process (``multiprocessing``'s ``forkserver``) that
    has imported :data:`PRELOAD` and the library once, so a job starts with PyTorch, matplotlib
    and ``layerwise`` already loaded (importing them takes about 6 s of a fresh process) and in
    the state a fresh process has (nothing a page did before is left over, and the memory a
    page used goes back when it ends). Nothing has run in the server: no thread pool or device
    is started before the fork.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from layerwise_build import library_modules

    context = multiprocessing.get_context("forkserver")
    modules = [f"layerwise.{name}" for name in library_modules() if name != "__init__"]
    context.set_forkserver_preload([*PRELOAD, "layerwise", *modules])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1)


class GalleryPool:
    """The stand-in for ``generate_file_rst`` (see the module's docstring)."""

    def __init__(self, original, jobs: int, app=None):
        self.original = original
        self.jobs = jobs
        self.app = app  # the Sphinx application, for the MyST notebook pages' configuration
        self.scheduler: Scheduler | None = None
        self.executor = None
        self.names: dict[tuple[str, str], str] = {}
        self.shared: list[str] = []
        self.notebooks: list[str] = []
        self.srcdir = Path()

    def _start(self, gallery_conf) -> None:
        from layerwise import runtime, zoo

        costs = recorded_costs()
        pages, sources = gallery_pages(gallery_conf, costs)
        to_run = [
            p
            for p in pages
            if _needs_running(Path(p.src_dir, p.fname), Path(p.target_dir, p.fname), gallery_conf)
        ]
        self.srcdir = Path(gallery_conf["src_dir"])
        # myst-nb's configuration, which it sets up when the builder starts: there when conf.py
        # lists myst_nb before sphinx_gallery (otherwise Sphinx executes the notebooks as it
        # reads them, as without the pool).
        env = getattr(self.app, "env", None)
        md_config = getattr(env, "myst_config", None)
        nb_config = getattr(env, "mystnb_config", None)
        notebooks = []
        for docname, (path, source) in stale_notebooks(self.srcdir, md_config, nb_config).items():
            notebooks.append(Page.executed(docname, path, costs))
            sources[notebooks[-1].name] = source
        shared = {name: runtime.seeds() for name in zoo.recipes()}
        jobs = plan([*to_run, *notebooks], sources, shared, costs)
        self.names = {(p.src_dir, p.fname): p.name for p in to_run}
        if not to_run:  # nothing for Sphinx-Gallery to wait for: notebooks run as Sphinx reads
            self.scheduler = Scheduler([], self.jobs, None)
            return
        self.shared = [j.name for j in jobs if j.network]
        self.notebooks = [j.name for j in notebooks]
        workers = min(self.jobs, len(jobs))
        print(
            f"layerwise: running {len(to_run)} gallery pages, {len(self.shared)} seeds of "
            f"shared networks and {len(notebooks)} notebook pages, {workers} at a time",
            flush=True,
        )
        self.executor = worker_pool(workers)

        def submit(job: Page) -> Future:
            if job.network:
                return self.executor.submit(run_shared, job.network, job.seed)
            if job.notebook:
                return self.executor.submit(run_notebook, job.fname, md_config, nb_config)
            return self.executor.submit(
                run_page, job.fname, job.target_dir, job.src_dir, gallery_conf
            )

        self.scheduler = Scheduler(jobs, workers, submit)

    def shared_seconds(self) -> dict[str, float]:
        """Seconds each seed of a shared network took to train in this build (those that were
        cached already are left out); written to :data:`SHARED_TIMES`."""
        if self.scheduler is None:
            return {}
        seconds = {name: self.scheduler.result(name) for name in self.shared}
        trained = {name: s for name, s in seconds.items() if s > 0}
        if trained:
            path = self.srcdir / SHARED_TIMES
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(trained, indent=1) + "\n")
        return trained

    def __call__(self, fname, target_dir, src_dir, gallery_conf):
        if self.scheduler is None:
            self._start(gallery_conf)
        name = self.names.get((os.path.normpath(src_dir), str(fname)))
        if name is None:  # current: Sphinx-Gallery only reads its cached output
            return self.original(fname, target_dir, src_dir, gallery_conf)
        try:
            return self.scheduler.result(name)
        except BaseException:
            self.close(kill=True)  # a page failed: the build stops, so do the pages still running
            raise

    def executed_notebooks(self) -> list[str]:
        """Wait for the notebook pages' jobs; the names of those that executed (a page whose
        job failed is executed again when Sphinx reads it, which reports the error)."""
        if self.scheduler is None:
            return []
        done = []
        for name in self.notebooks:
            try:
                if self.scheduler.result(name):
                    done.append(name)
            except Exception:  # noqa: BLE001 - as above: Sphinx runs it again
                pass
        return done

    def close(self, kill: bool = False) -> None:
        """Stop the workers (there is never a queued page: the scheduler submits a page only
        when a worker is free); ``kill`` also stops the pages still running.

        Killing is repeated until the executor's manager thread has ended. A worker waiting for
        a job holds the job queue's lock, and the manager starts a new worker as each one ends
        its job: a worker started just after the others were killed would wait for ever for
        the lock a killed one held, and ``shutdown`` for it. Killing every worker it has, the
        new ones too, sends the manager down its broken-pool path, which waits for nobody.
        """
        executor, self.executor = self.executor, None
        if executor is None:
            return
        if kill:
            manager = getattr(executor, "_executor_manager_thread", None)
            deadline = time.monotonic() + 10  # a manager with no worker left waits for shutdown
            while manager is not None and manager.is_alive() and time.monotonic() < deadline:
                for process in list((getattr(executor, "_processes", None) or {}).values()):
                    process.kill()
                manager.join(timeout=0.1)
        executor.shutdown(wait=True, cancel_futures=True)


def install(jobs: int, app=None) -> GalleryPool | None:
    """Put a :class:`GalleryPool` of ``jobs`` workers in place of Sphinx-Gallery's
    ``generate_file_rst`` (nothing for one job); returns it. ``app``, the Sphinx application,
    lets it execute the MyST notebook pages too."""
    from sphinx_gallery import gen_rst

    original = getattr(gen_rst.generate_file_rst, "original", gen_rst.generate_file_rst)
    if jobs <= 1:
        gen_rst.generate_file_rst = original
        return None
    pool = GalleryPool(original, jobs, app)
    pool.original = original
    gen_rst.generate_file_rst = pool
    return pool


def active() -> GalleryPool | None:
    """The pool :func:`install` put in place, if any."""
    from sphinx_gallery import gen_rst

    pool = gen_rst.generate_file_rst
    return pool if isinstance(pool, GalleryPool) else None
