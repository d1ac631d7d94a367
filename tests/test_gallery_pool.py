"""docs/_ext/gallery_pool.py: which pages wait for which, in what order they start, and the
stand-in it puts in Sphinx-Gallery's place."""

import functools
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import gallery_pool  # noqa: E402
from gallery_pool import Page, Scheduler  # noqa: E402


def page(name, seconds=1.0, after=()):
    return Page(name, f"{name}.py", "src", "target", seconds, set(after))


def test_zoo_networks_are_the_recipes_a_page_calls():
    source = "from layerwise import zoo\nrecipe = zoo.photo_cnn()\nh = zoo.mnist1d_halves ()\n"
    assert gallery_pool.zoo_networks(source) == {"photo_cnn"}
    assert gallery_pool.zoo_networks("import zoo_keeper\nzoo_keeper.feed()\n") == set()


def test_the_first_user_of_a_zoo_network_goes_before_the_others():
    pages = [page("a/one"), page("a/two"), page("b/three"), page("b/four")]
    sources = {
        "a/one": "x = 1",
        "a/two": "r = zoo.photo_cnn()",
        "b/three": "r = zoo.photo_cnn(); h = zoo.halves()",
        "b/four": "h = zoo.halves()",
    }
    gallery_pool.plan(pages, sources)
    assert [p.after for p in pages] == [set(), set(), {"a/two"}, {"b/three"}]


def test_the_real_gallery_trains_the_photo_cnn_once_on_the_filters_page():
    import runpy

    import layerwise_build
    from sphinx_gallery.gen_gallery import _fill_gallery_conf_defaults

    conf = runpy.run_path(str(ROOT / "conf.py"))
    layerwise_build.CHAPTERS.update(conf["layerwise_chapters"])
    gallery_conf = _fill_gallery_conf_defaults(conf["sphinx_gallery_conf"])
    gallery_conf["src_dir"] = str(ROOT / "docs")
    pages, sources = gallery_pool.gallery_pages(gallery_conf, gallery_pool.recorded_costs())
    assert len(pages) == len(list((ROOT / "gallery").glob("*/plot_*.py")))
    assert all(p.seconds < gallery_pool.UNKNOWN_SECONDS for p in pages)  # the record knows all
    jobs = gallery_pool.plan(pages, sources, {"photo_cnn": [0, 1, 2, 3, 4]})
    seeds = {f"zoo/photo_cnn seed {s}" for s in range(5)}
    assert [j.name for j in jobs[:5]] == sorted(seeds)
    waiting = {p.name for p in pages if p.after == seeds}
    assert {
        "first_layers/plot_first_layer_filters",
        "what_layers_learn/plot_top_patches",
        "imagenet/plot_imagenet_small_vs_big",
    } <= waiting
    # The transfer pages' halves are not one network: their first user trains what they share.
    halves = [p for p in pages if "mnist1d_halves" in gallery_pool.zoo_networks(sources[p.name])]
    assert all(halves[0].name in p.after for p in halves[1:])


def test_a_shared_network_s_seeds_are_jobs_of_their_own_that_its_pages_wait_for():
    pages = [page("a/one"), page("a/two"), page("b/three")]
    sources = {"a/one": "x = 1", "a/two": "zoo.photo_cnn()", "b/three": "zoo.photo_cnn()"}
    costs = {"zoo/photo_cnn seed 0": 30.0}
    jobs = gallery_pool.plan(pages, sources, {"photo_cnn": [0, 1], "unused": [0]}, costs)
    assert [j.name for j in jobs] == [
        "zoo/photo_cnn seed 0",
        "zoo/photo_cnn seed 1",
        "a/one",
        "a/two",
        "b/three",
    ]
    assert (jobs[0].network, jobs[0].seed, jobs[0].seconds) == ("photo_cnn", 0, 30.0)
    assert jobs[1].seconds == gallery_pool.UNKNOWN_SECONDS  # not in the record: the slowest
    seeds = {"zoo/photo_cnn seed 0", "zoo/photo_cnn seed 1"}
    assert [p.after for p in pages] == [set(), seeds, seeds]


def test_priority_is_a_page_s_time_and_the_longest_chain_waiting_for_it():
    pages = [page("p", 10), page("q", 5, ["p"]), page("r", 7, ["q"]), page("s", 1, ["p"])]
    assert gallery_pool.priorities(pages) == {"p": 22, "q": 12, "r": 7, "s": 1}


def run(pages, jobs, fail=None):
    """Scheduler over a thread pool whose "pages" sleep a little; returns it and a log."""
    log, lock, running = [], threading.Lock(), [0]
    peak = [0]

    def work(p):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            log.append(("start", p.name))
        time.sleep(0.02)
        with lock:
            running[0] -= 1
            log.append(("end", p.name))
        if p.name == fail:
            raise ValueError(f"{p.name} broke")
        return p.name.upper()

    with ThreadPoolExecutor(8) as executor:
        scheduler = Scheduler(pages, jobs, lambda p: executor.submit(work, p))
        results = {}
        for p in pages:
            try:
                results[p.name] = scheduler.result(p.name)
            except Exception as error:
                results[p.name] = error
    return scheduler, log, results, peak[0]


def test_scheduler_runs_everything_once_within_its_jobs_longest_first_after_dependencies():
    pages = [
        page("short", 1),
        page("long", 50),
        page("after_long", 3, ["long"]),
        page("middle", 10),
        page("not_run_now", 1, ["gone"]),  # its producer is current: nothing to wait for
    ]
    scheduler, log, results, peak = run(pages, jobs=2)
    assert results == {p.name: p.name.upper() for p in pages}
    assert peak <= 2
    assert sorted(scheduler.order) == sorted(p.name for p in pages)
    assert scheduler.order[0] == "long"  # 50 + 3 ahead of it
    assert log.index(("end", "long")) < log.index(("start", "after_long"))


def test_a_failed_page_stops_the_pages_not_yet_started():
    pages = [page("first", 10), page("needs_first", 1, ["first"]), page("other", 0.5)]
    _, log, results, _ = run(pages, jobs=1, fail="first")
    assert isinstance(results["first"], ValueError)
    assert isinstance(results["needs_first"], RuntimeError)
    assert "another page failed" in str(results["needs_first"])
    assert ("start", "needs_first") not in log


def test_pages_that_wait_for_each_other_are_an_error():
    with pytest.raises(ValueError, match="wait for each other: (a -> b -> a|b -> a -> b)"):
        Scheduler([page("a", 1, ["b"]), page("b", 1, ["a"])], 2, submit=None)


def test_recorded_costs_read_the_benchmark_record(tmp_path):
    record = tmp_path / "cpu.json"
    record.write_text(
        '{"build": {"pages_median_seconds": {"a/plot_x": 12.5},'
        ' "shared_networks_seconds": {"zoo/n seed 0": 3.0}}}'
    )
    assert gallery_pool.recorded_costs(record) == {"a/plot_x": 12.5, "zoo/n seed 0": 3.0}
    assert gallery_pool.recorded_costs(tmp_path / "missing.json") == {}
    assert gallery_pool.recorded_costs(gallery_pool.COSTS)  # the committed record has pages


def test_install_puts_the_pool_in_sphinx_gallery_s_place_and_one_job_takes_it_out():
    from sphinx_gallery import gen_rst

    original = gen_rst.generate_file_rst
    try:
        pool = gallery_pool.install(2)
        assert gen_rst.generate_file_rst is pool and pool.original is original
        assert gallery_pool.install(3).original is original  # not a pool around a pool
        assert gallery_pool.install(1) is None
        assert gen_rst.generate_file_rst is original
    finally:
        gen_rst.generate_file_rst = original


def test_run_page_calls_sphinx_gallery_s_own_function(monkeypatch):
    from sphinx_gallery import gen_rst

    calls = []
    original = gen_rst.generate_file_rst
    monkeypatch.setattr(gen_rst, "generate_file_rst", lambda *a: calls.append(a) or "done")
    try:
        gallery_pool.install(2)
        assert gallery_pool.run_page("f.py", "t", "s", {}) == "done"
        assert calls == [("f.py", "t", "s", {})]
    finally:
        gen_rst.generate_file_rst = original


def test_close_stops_the_workers_and_can_be_called_again():
    pool = gallery_pool.GalleryPool(original=None, jobs=2)
    pool.executor = gallery_pool.worker_pool(1)
    assert pool.executor.submit(sum, [1, 2]).result() == 3
    pool.close()
    assert pool.executor is None
    pool.close()  # nothing left to stop
    pool.executor = gallery_pool.worker_pool(1)
    running = pool.executor.submit(time.sleep, 60)
    time.sleep(1)
    started = time.perf_counter()
    pool.close(kill=True)  # does not wait for the minute-long job
    assert pool.executor is None and time.perf_counter() - started < 30
    assert running.done()


def test_close_with_kill_does_not_wait_for_a_worker_started_as_it_closes():
    """How a build stops after a page fails: a page ended early, and a new worker waits for a
    job (holding the job queue's lock); the last running page ends and the build closes the
    pool at once, while the pool starts a worker in place of the one that ended. Killing only
    the workers there were left that new one waiting for ever for the lock the killed one held,
    and the build with it (seen on a GPU build whose page failed; it hung here 3 times in 3)."""
    pool = gallery_pool.GalleryPool(original=None, jobs=2)
    pool.executor = gallery_pool.worker_pool(2)
    early = pool.executor.submit(time.sleep, 0.2)
    last = pool.executor.submit(time.sleep, 3)
    early.result()
    time.sleep(1)  # its worker has ended and a new one waits for a job
    last.result()
    closing = threading.Thread(target=pool.close, kwargs={"kill": True}, daemon=True)
    started = time.perf_counter()
    closing.start()
    closing.join(timeout=30)
    assert not closing.is_alive(), "close(kill=True) hung"
    assert pool.executor is None and time.perf_counter() - started < 10


def test_each_job_gets_a_process_of_its_own_with_the_libraries_already_loaded():
    pool = gallery_pool.worker_pool(2)
    try:
        loaded = functools.partial(
            eval, "[m in __import__('sys').modules for m in ('torch', 'layerwise.train')]"
        )
        assert [pool.submit(loaded).result() for _ in range(3)] == [[True, True]] * 3
        pids = [pool.submit(os.getpid).result() for _ in range(4)]
        assert len(set(pids)) == 4 and os.getpid() not in pids
    finally:
        pool.shutdown()


def notebook_configs(cache):
    from myst_nb.core.config import NbParserConfig
    from myst_parser.config.main import MdParserConfig

    return MdParserConfig(), NbParserConfig(
        execution_mode="cache", execution_cache_path=str(cache), execution_raise_on_error=True
    )


def test_a_notebook_page_executed_by_a_worker_is_what_myst_nb_finds_in_its_cache(
    tmp_path, myst_notebook
):
    # The pool executes a MyST notebook page into myst-nb's execution cache; when Sphinx then
    # reads the page, myst-nb looks it up with the same match, so the page is not run twice.
    docs = tmp_path / "docs"
    (docs / "concepts").mkdir(parents=True)
    page = docs / "concepts" / "answer.md"
    page.write_text(myst_notebook("print(6 * 7)"))
    (docs / "prose.md").write_text("# Only prose\n")
    md_config, nb_config = notebook_configs(tmp_path / "jupyter-cache")
    stale = gallery_pool.stale_notebooks(docs, md_config, nb_config)
    assert list(stale) == ["concepts/answer"] and stale["concepts/answer"][0] == page
    assert gallery_pool.run_notebook(str(page), md_config, nb_config) is True
    assert gallery_pool.stale_notebooks(docs, md_config, nb_config) == {}

    from jupyter_cache import get_cache

    bundle = get_cache(nb_config.execution_cache_path).list_cache_records()
    assert len(bundle) == 1
    page.write_text(myst_notebook("print(6 * 9)"))  # new code: stale again
    assert list(gallery_pool.stale_notebooks(docs, md_config, nb_config)) == ["concepts/answer"]


def test_a_notebook_page_that_fails_in_a_worker_is_left_for_sphinx_to_run_and_report(
    tmp_path, myst_notebook
):
    page = tmp_path / "broken.md"
    page.write_text(myst_notebook("raise ValueError('broken')"))
    md_config, nb_config = notebook_configs(tmp_path / "jupyter-cache")
    assert gallery_pool.run_notebook(str(page), md_config, nb_config) is False
    assert list(gallery_pool.stale_notebooks(tmp_path, md_config, nb_config)) == ["broken"]


def test_notebook_pages_wait_for_the_shared_networks_their_code_uses():
    pages = [page("chapter/plot_a")]
    book = Page.executed("why", Path("docs/why.md"), {"notebooks/why": 7.0})
    sources = {"chapter/plot_a": "zoo.photo_cnn()", "notebooks/why": "r = zoo.photo_cnn()"}
    jobs = gallery_pool.plan([*pages, book], sources, {"photo_cnn": [0, 1]}, {})
    assert book.after == {"zoo/photo_cnn seed 0", "zoo/photo_cnn seed 1"} and book.seconds == 7.0
    assert [j.name for j in jobs][-1] == "notebooks/why" and book.notebook
