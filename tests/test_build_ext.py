"""The build glue in docs/_ext: which examples depend on which library modules."""

import json
import re
import sys
import time
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import layerwise_build  # noqa: E402


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_imports_are_followed_through_the_library(tmp_path):
    ex = write(tmp_path / "plot_a.py", "from layerwise import filters\nimport torch\n")
    assert layerwise_build.dependencies(ex) == ["__init__", "filters"]
    ex = write(tmp_path / "plot_b.py", "from layerwise.train import fit\n")
    assert layerwise_build.dependencies(ex) == [
        "__init__",
        "data",
        "data.dataset",
        "runtime",
        "train",
    ]
    ex = write(tmp_path / "plot_c.py", "import layerwise\n")
    assert set(layerwise_build.dependencies(ex)) == set(layerwise_build.library_modules())


def test_the_whole_gallery_s_dependencies_parse_each_source_once(monkeypatch):
    # Every build (a prose edit too) fingerprints every page before the gallery starts; walking
    # the library afresh for each page parsed its modules about 900 times (8.5 s on 2 cores).
    parsed = []
    real_parse = layerwise_build.ast.parse

    def counting_parse(source, *args, **kwargs):
        parsed.append(source)
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(layerwise_build.ast, "parse", counting_parse)
    layerwise_build._parse.cache_clear()
    layerwise_build._references_of.cache_clear()
    examples = sorted((ROOT / "gallery").glob("*/plot_*.py"))
    first = {ex.name: layerwise_build.dependencies(ex) for ex in examples}
    assert len(parsed) == len(set(parsed))
    assert len(set(parsed)) > len(examples)  # the pages and the library modules they reach
    parsed.clear()
    assert {ex.name: layerwise_build.dependencies(ex) for ex in examples} == first
    assert parsed == []


def test_only_examples_that_use_a_changed_module_are_rerun(tmp_path, monkeypatch):
    library = tmp_path / "lib"
    library.mkdir()
    for name in ("__init__", "data", "plot"):
        write(library / f"{name}.py", f"# {name}\n")
    monkeypatch.setattr(layerwise_build, "LIBRARY", library)
    src, out = tmp_path / "gallery", tmp_path / "auto"
    src.mkdir()
    write(src / "plot_data.py", "from layerwise import data\n")
    write(src / "plot_plot.py", "from layerwise import plot\n")

    def run_build():
        rerun = layerwise_build.invalidate_stale_examples([src], [out])
        for ex in src.glob("*.py"):  # what Sphinx-Gallery does after running an example
            write(out / f"{ex.name}.md5", "ok")
        return rerun

    run_build()
    assert run_build() == []  # nothing changed
    write(library / "plot.py", "# plot, edited\n")
    assert run_build() == ["gallery/plot_plot.py"]
    monkeypatch.setenv("LAYERWISE_PROFILE", "default")  # the profile changes every page
    assert run_build() == ["gallery/plot_data.py", "gallery/plot_plot.py"]


def test_editing_a_module_of_a_subpackage_reruns_only_the_pages_that_use_it(tmp_path, monkeypatch):
    library = tmp_path / "lib"
    (library / "data").mkdir(parents=True)
    write(library / "__init__.py", "")
    write(library / "runtime.py", "# runtime\n")
    write(library / "train.py", "from . import runtime\nfrom .data import Dataset\n")
    write(
        library / "data" / "__init__.py",
        "from .dataset import Dataset\nfrom .photos import photo_patches\n"
        "from . import sounds as _sounds\nfrom .sounds import spoken_words\n"
        "#: documented here\nWORDS = _sounds.WORDS\n",
    )
    write(library / "data" / "dataset.py", "class Dataset: ...\n")
    write(
        library / "data" / "photos.py", "from .dataset import Dataset\ndef photo_patches(): ...\n"
    )
    write(library / "data" / "sounds.py", "from .. import runtime\ndef spoken_words(): ...\n")
    monkeypatch.setattr(layerwise_build, "LIBRARY", library)
    src, out = tmp_path / "gallery", tmp_path / "auto"
    src.mkdir()
    write(src / "plot_audio.py", "from layerwise import data, train\nd = data.spoken_words()\n")
    write(src / "plot_photos.py", "from layerwise import data, train\nd = data.photo_patches()\n")
    write(src / "plot_train.py", "from layerwise.train import fit\n")
    write(src / "plot_words.py", "from layerwise.data import WORDS\n")
    write(src / "plot_any.py", "from layerwise import data\nprint(data)\n")  # the whole package
    assert layerwise_build.dependencies(src / "plot_audio.py") == [
        "__init__", "data", "data.dataset", "data.sounds", "runtime", "train"
    ]  # fmt: skip

    def run_build():
        rerun = layerwise_build.invalidate_stale_examples([src], [out])
        for ex in src.glob("*.py"):
            write(out / f"{ex.name}.md5", "ok")
        return rerun

    run_build()
    assert run_build() == []
    write(library / "data" / "sounds.py", "from .. import runtime\ndef spoken_words(): 1\n")
    assert run_build() == ["gallery/plot_any.py", "gallery/plot_audio.py", "gallery/plot_words.py"]
    write(library / "data" / "photos.py", "from .dataset import Dataset\ndef photo_patches(): 1\n")
    assert run_build() == ["gallery/plot_any.py", "gallery/plot_photos.py"]
    write(library / "data" / "dataset.py", "class Dataset: 1\n")  # what train uses
    assert run_build() == [
        "gallery/plot_any.py", "gallery/plot_audio.py", "gallery/plot_photos.py",
        "gallery/plot_train.py",
    ]  # fmt: skip


def test_example_order_rejects_unlisted_pages(monkeypatch):
    monkeypatch.setattr(layerwise_build, "CHAPTERS", {"ch": ["plot_b.py", "plot_a.py"]})
    key = layerwise_build.ExampleOrder("/x/ch")
    assert sorted(["plot_a.py", "plot_b.py"], key=key) == ["plot_b.py", "plot_a.py"]
    with pytest.raises(ValueError, match="not listed in conf.py"):
        key("plot_c.py")


def test_cdn_tags_are_stripped_from_timing_pages():
    source = [
        '<link href="https://cdn.datatables.net/x.css" rel="stylesheet" />\n'
        '<script src="https://code.jquery.com/jquery-3.7.0.js"></script>\n'
        "keep me\n"
    ]
    layerwise_build._strip_cdn(None, "auto_examples/ch/sg_execution_times", source)
    assert source[0].strip() == "keep me"


def test_the_animation_players_icon_stylesheet_is_stripped_from_gallery_pages():
    from matplotlib import animation
    from matplotlib import pyplot as plt

    players = []
    for _ in range(2):  # a page may hold several animations: every one is treated
        fig, ax = plt.subplots()
        line = ax.plot([0, 1], [0, 0])[0]
        anim = animation.FuncAnimation(fig, lambda i, line=line: line.set_ydata([i, i]), frames=2)
        players.append(anim.to_jshtml())  # what Sphinx-Gallery embeds for an animation
        plt.close(fig)
    assert all("https://" in html for html in players)  # matplotlib links its icons from a CDN ...
    source = "".join(".. raw:: html\n\n" + html + "\n" for html in players)
    page = layerwise_build.strip_cdn("auto_examples/ch/plot_x", source)
    assert "https://" not in page  # ... and the page the site serves does not
    assert page.count("<button") == sum(html.count("<button") for html in players)  # players stay
    # Every frame and every slider gets an accessible name (axe: image-alt, label).
    assert len(re.findall(r'<img id="_anim_img\w+" alt="[^"]+">', page)) == 2
    assert (
        len(re.findall(r'<input id="_anim_slider\w+" aria-label="[^"]+" type="range"', page)) == 2
    )
    assert not re.search(r'<img id="_anim_img\w+">', page)
    assert not re.search(r'<input id="_anim_slider\w+" type="range"', page)


@pytest.mark.parametrize("as_soup", [True, False], ids=["tree", "string"])
def test_the_sidebars_section_toggles_get_an_accessible_name(as_soup):
    from bs4 import BeautifulSoup

    markup = '<li><details><summary><span role="presentation"></span></summary></details></li>'

    def theme(kind, **kwargs):  # stands in for the theme's generate_toctree_html
        return BeautifulSoup(markup, "html.parser") if as_soup else markup

    context = {"generate_toctree_html": theme}
    layerwise_build._label_sidebar_toggles(None, "api", "page.html", context, None)
    html = str(context["generate_toctree_html"]("sidebar", startdepth=1))
    assert f'<summary aria-label="{layerwise_build.SIDEBAR_TOGGLE_LABEL}">' in html
    layerwise_build._label_sidebar_toggles(None, "api", "page.html", context, None)  # once only
    assert str(context["generate_toctree_html"]("sidebar")).count("aria-label") == 1


def test_gallery_jobs_reads_the_environment(monkeypatch):
    monkeypatch.delenv("LAYERWISE_GALLERY_JOBS", raising=False)
    assert layerwise_build.gallery_jobs() == layerwise_build.default_jobs()
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "")
    assert layerwise_build.gallery_jobs() == layerwise_build.default_jobs()
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "3")
    assert layerwise_build.gallery_jobs() == 3
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "two")
    with pytest.raises(ValueError, match="whole number"):
        layerwise_build.gallery_jobs()


_CLAIM = """
import sys, time
sys.path.insert(0, {ext!r})
import layerwise_build
from pathlib import Path
print(layerwise_build.claim_worker_slot(2, Path({slots!r}), wait={wait}), flush=True)
time.sleep({hold})
"""


def test_each_worker_gets_its_own_slot_and_a_dead_worker_frees_it(tmp_path):
    import subprocess

    ext = str(Path(layerwise_build.__file__).parent)

    def worker(hold, wait):
        code = _CLAIM.format(ext=ext, slots=str(tmp_path), hold=hold, wait=wait)
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)

    # The holders hold for longer than a loaded machine takes to start a worker; they are
    # killed below.
    first, second = worker(600, 0), worker(600, 0)
    try:
        held = int(first.stdout.readline())
        assert {held, int(second.stdout.readline())} == {0, 1}
        third = worker(0, 1)  # both slots stay held: a third worker is refused after a second
        assert third.wait(timeout=300) != 0
        # A worker started while a finished one is still exiting waits for its slot.
        replacement = worker(0, 300)
        time.sleep(2)
        assert replacement.poll() is None  # still waiting
        first.kill()
        first.wait()
        assert int(replacement.stdout.readline()) == held  # the slot the dead worker held
        assert replacement.wait(timeout=300) == 0
    finally:
        for holder in (first, second):
            holder.kill()
            holder.wait()


def test_default_jobs_is_one_per_core_within_memory_and_a_cap():
    gib = 2**30
    assert layerwise_build.default_jobs(cores=2, available_bytes=20 * gib) == 2
    assert layerwise_build.default_jobs(cores=1, available_bytes=20 * gib) == 1
    cap = layerwise_build.MAX_DEFAULT_JOBS
    assert layerwise_build.default_jobs(cores=cap + 12, available_bytes=1000 * gib) == cap
    per_job = layerwise_build.MEMORY_PER_JOB_BYTES
    assert layerwise_build.default_jobs(cores=16, available_bytes=2.5 * per_job) == 2
    assert layerwise_build.default_jobs(cores=16, available_bytes=0.5 * per_job) == 1


def test_pin_worker_splits_the_cores_between_workers(monkeypatch):
    import os

    import torch

    cores = sorted(os.sched_getaffinity(0))
    threads = torch.get_num_threads()
    try:
        layerwise_build.pin_worker(0, 2)
        mine = sorted(os.sched_getaffinity(0))
        assert mine == (cores[0::2] or cores)
        assert torch.get_num_threads() == threads  # the build's environment decides threads
    finally:
        os.sched_setaffinity(0, cores)
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------
# Claims: a real (tiny) Sphinx-Gallery build, as `nox -s docs` runs it
# --------------------------------------------------------------------------------------------

EXAMPLE = '''"""
A page with a claim
===================

It measures something.

:Predict first: Is the effect
   positive?
"""

from layerwise import stats

stats.claim("The effect is positive", stats.Runs([0.30, 0.32, 0.29, 0.31, 0.33]), above={t})
'''

CONF = """
import sys
sys.path.insert(0, {ext!r})
extensions = ["sphinx_gallery.gen_gallery", "layerwise_build"]
layerwise_chapters = {{"chapter": ["plot_claim.py"]}}
sphinx_gallery_conf = {{
    "examples_dirs": ["../gallery/chapter"],
    "gallery_dirs": ["auto_examples/chapter"],
    "filename_pattern": "/plot_",
    "reset_modules": ("layerwise_build.reset_state",),
    "reset_modules_order": "before",
    "within_subsection_order": "layerwise_build.ExampleOrder",
}}
exclude_patterns = ["auto_examples/**/*.ipynb", "auto_examples/**/*.py", "auto_examples/**/*.zip"]
"""


def tiny_site(tmp_path: Path, threshold: float) -> Path:
    (tmp_path / "gallery" / "chapter").mkdir(parents=True)
    write(tmp_path / "gallery" / "chapter" / "README.rst", "Chapter\n=======\n")
    write(tmp_path / "gallery" / "chapter" / "plot_claim.py", EXAMPLE.format(t=threshold))
    docs = tmp_path / "docs"
    docs.mkdir()
    write(docs / "conf.py", CONF.format(ext=str(ROOT / "docs" / "_ext")))
    write(
        docs / "index.rst",
        "Home\n====\n\nAs measured: :claim:`plot_claim`.\n\n"
        ".. toctree::\n\n   auto_examples/chapter/index\n",
    )
    return docs


def sphinx_build(docs: Path, profile: str):
    import os
    import subprocess

    env = dict(os.environ, LAYERWISE_PROFILE=profile, MPLBACKEND="Agg")
    env.pop(stats_variable(), None)
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(docs), str(docs / "_html")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def stats_variable():
    from layerwise import stats

    return stats.CLAIMS_FILE_VARIABLE


def test_a_claim_that_holds_is_shown_at_the_top_of_its_page_and_in_the_claims_table(tmp_path):
    pytest.importorskip("sphinx_gallery")
    docs = tiny_site(tmp_path, threshold=0.1)
    done = sphinx_build(docs, "default")
    assert done.returncode == 0, done.stderr[-2000:]
    page = (docs / "_html" / "auto_examples" / "chapter" / "plot_claim.html").read_text()
    box = page[page.index("layerwise-answer") : page.index("It measures something")]
    assert "The effect is positive" in box and "0.310 ± 0.020 (n=5)" in box and "holds" in box
    # The page's question opens a folded block that holds the answer box; the field itself is
    # not shown a second time.
    question = '<details class="layerwise-predict"><summary><strong>Predict first:</strong> '
    assert page.count(question + "Is the effect positive?") == 1
    assert page.index(question) < page.index("layerwise-answer") < page.index("</details>")
    assert page.index("</details>") < page.index("It measures something")
    assert "Predict first:</" not in page.replace(question, "")
    home = (docs / "_html" / "index.html").read_text()  # a page citing the claim by its page
    assert 'href="auto_examples/chapter/plot_claim.html"' in home
    assert "The effect is positive" in home and "(measured 0.310 ± 0.020 (n=5); holds)" in home
    claims = layerwise_build.page_claims(docs, {"chapter": ["plot_claim.py"]})
    table = layerwise_build.claims_table(claims)
    assert "{doc}`/auto_examples/chapter/plot_claim`" in table
    assert (
        "| The effect is positive | 0.310 ± 0.020 (n=5) | 95 % interval above 0.1 | holds |"
        in table
    )


def test_a_claim_that_does_not_hold_fails_the_default_build_in_one_line(tmp_path):
    pytest.importorskip("sphinx_gallery")
    docs = tiny_site(tmp_path, threshold=0.31)  # the interval (0.29, 0.33) straddles 0.31
    done = sphinx_build(docs, "default")
    assert done.returncode != 0
    line = "chapter/plot_claim.py: claim 'The effect is positive' does not hold: measured 0.310"
    assert line in done.stderr + done.stdout
    # The quick profile computes the claim but does not check it.
    assert sphinx_build(docs, "quick").returncode == 0


def test_page_times_are_read_from_the_gallery_and_slow_pages_are_named(tmp_path):
    chapter = tmp_path / "auto_examples" / "ch"
    chapter.mkdir(parents=True)
    write(
        chapter / "sg_execution_times.rst",
        "   * - :ref:`sphx_glr_auto_examples_ch_plot_a.py` (``plot_a.py``)\n"
        "     - 01:05.250\n     - 0.0\n"
        "   * - :ref:`sphx_glr_auto_examples_ch_plot_b.py` (``plot_b.py``)\n"
        "     - 00:06.1000\n     - 0.0\n",
    )
    times = layerwise_build.page_times(tmp_path)
    # "00:06.1000" is 6 s and 1000 ms: Sphinx-Gallery rounds the milliseconds on their own.
    assert times == {"ch/plot_a.py": 65.25, "ch/plot_b.py": 7.0}
    table = layerwise_build.slowest_pages(times)
    assert table.index("ch/plot_a.py") < table.index("ch/plot_b.py")
    assert table.splitlines()[-1].endswith("page budget: ch/plot_a.py")


def test_site_root_holds_this_builds_wheel_only_and_the_switcher(tmp_path):
    folder, wheels = tmp_path / "root", tmp_path / "wheel"
    wheels.mkdir()
    write(wheels / "layerwise-0.2.0-py3-none-any.whl", "new")
    folder.mkdir()
    write(folder / "layerwise-0.1.0-py3-none-any.whl", "old")
    layerwise_build.write_site_root(folder, wheels / "layerwise-0.2.0-py3-none-any.whl", "[]")
    assert sorted(p.name for p in folder.iterdir()) == [
        "layerwise-0.2.0-py3-none-any.whl",
        "switcher.json",
    ]
    assert (folder / "switcher.json").read_text() == "[]"


def test_colab_links_name_repository_branch_version_and_notebook():
    url = layerwise_build.colab_url("org/site", "gh-pages", "dev", "_downloads/ab12/plot_x.ipynb")
    assert url == (
        "https://colab.research.google.com/github/org/site/blob/gh-pages/dev/"
        "_downloads/ab12/plot_x.ipynb"
    )


def test_a_concept_notebook_for_readers_has_its_glued_values_in_the_text_and_no_myst_nb(capsys):
    notebook = {
        "cells": [
            {"cell_type": "code", "source": ["from myst_nb import glue\n", "glue('n', 6)\n"]},
            {
                "cell_type": "markdown",
                "source": [
                    "A {glue:text}`n`x{glue:text}`n` {term}`patch <receptive field>`, ",
                    "{glue:text}`share` of it {cite:p}`araujo2019computing`.",
                ],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3"}},
    }
    glued = {
        "n": {"output_type": "display_data", "data": {"text/plain": "6"}},
        "share": {"output_type": "display_data", "data": {"text/plain": "'3.7%'"}},
    }
    out = layerwise_build.reader_notebook(notebook, glued, "%pip install layerwise\n")
    install, code, text = out["cells"]
    assert "".join(install["source"]) == "%pip install layerwise\n"
    assert "".join(text["source"]) == "A 6x6 patch, 3.7% of it [araujo2019computing]."
    assert "myst_nb" not in "".join(code["source"])
    exec("".join(code["source"]), {})  # the stand-in runs without myst-nb and prints the value
    assert capsys.readouterr().out == "n: 6\n"
    assert out["metadata"] == notebook["metadata"]
    assert "myst_nb" in "".join(notebook["cells"][0]["source"])  # the input is left as it was


def test_a_published_concept_notebook_is_a_valid_notebook_with_an_id_for_every_cell(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    executed = tmp_path / "page.ipynb"  # as myst-nb writes one: nbformat 4.5, cells with ids
    source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(source, executed)
    out = tmp_path / "site" / "page.ipynb"
    layerwise_build.publish_concept_notebook(executed, out, "%pip install layerwise\n")
    published = json.loads(out.read_text())
    assert all(cell.get("id") for cell in published["cells"])
    assert len({cell["id"] for cell in published["cells"]}) == len(published["cells"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing id is only a warning in nbformat today
        nbformat.validate(nbformat.reads(out.read_text(), as_version=4))


def test_a_gallery_notebook_shows_sphinx_roles_as_plain_markdown(tmp_path):
    text = (
        "The network of `sphx_glr_auto_examples_first_layers_plot_first_layer_filters.py` "
        "(from the :term:`model cache`), up to its :term:`pooling <global pooling>` "
        ":cite:`zeiler2014visualizing,olah2017feature`; :func:`~layerwise.train.fit` and "
        ":mod:`layerwise.optvis`, see :ref:`the chapter <chapter-receptive-fields>`."
    )
    assert layerwise_build.reader_markdown(text) == (
        "The network of `first_layers/plot_first_layer_filters.py` (from the model cache), up "
        "to its pooling [zeiler2014visualizing, olah2017feature]; `fit` and "
        "`layerwise.optvis`, see the chapter."
    )
    chapter = tmp_path / "auto_examples" / "ch"
    chapter.mkdir(parents=True)
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "A :term:`channel`."},
            {"cell_type": "code", "metadata": {}, "source": "x = ':term:`kept`'", "outputs": []},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    write(chapter / "plot_a.ipynb", json.dumps(notebook))
    assert layerwise_build.tidy_gallery_notebooks(tmp_path) == 1
    cells = json.loads((chapter / "plot_a.ipynb").read_text())["cells"]
    assert [c["source"] for c in cells] == ["A channel.", "x = ':term:`kept`'"]
    assert layerwise_build.tidy_gallery_notebooks(tmp_path) == 0  # already tidy


def test_a_new_benchmark_record_reexecutes_the_notebook_pages(tmp_path):
    cache, data = tmp_path / "jupyter-cache", tmp_path / "benchmarks"
    data.mkdir()
    write(data / "cpu.json", '{"commit": "a"}')
    layerwise_build.invalidate_notebook_cache(cache, data)
    cache.mkdir()  # what myst-nb writes while executing the pages
    assert not layerwise_build.invalidate_notebook_cache(cache, data)  # nothing changed
    assert cache.exists()
    write(data / "cpu.json", '{"commit": "b"}')  # nox -s bench wrote a new record
    assert layerwise_build.invalidate_notebook_cache(cache, data)
    assert not cache.exists()


def test_notebook_pages_are_the_myst_notebooks(tmp_path):
    write(tmp_path / "why.md", "---\nfile_format: mystnb\n---\n# Why\n")
    write(tmp_path / "plain.md", "# Plain\n")
    (tmp_path / "concepts").mkdir()
    write(tmp_path / "concepts" / "arith.md", "---\nfile_format: mystnb\n---\n# A\n")
    found = layerwise_build.notebook_pages(tmp_path, ["why", "plain", "concepts/arith", "api"])
    assert found == ["concepts/arith", "why"]


def _rst_cell(code: str) -> str:
    body = "\n".join(("    " + line) if line else "" for line in code.splitlines())
    return f".. code-block:: Python\n\n{body}\n\n\n.. image-sg:: /x.png\n\nText.\n"


def test_figure_code_is_folded_and_the_computation_before_it_stays_open():
    drawing = "\n".join(
        ["fig, ax = plt.subplots()"]
        + [f"ax.plot(x, y + {i})" for i in range(layerwise_build.FOLD_LINES - 2)]
        + ["plt.show()"]
    )
    rst = _rst_cell("x = compute()\ny = more(x)\n\n" + drawing + "\nprint(x)")
    out = layerwise_build.fold_figure_code(rst)
    shown, rest = out.split('<details class="layerwise-code">')
    folded, after = rest.split("</details>")
    assert "x = compute()" in shown and "plt.subplots" not in shown
    assert f"({layerwise_build.FOLD_LINES} lines)" in folded
    assert "fig, ax = plt.subplots()" in folded and "plt.show()" in folded
    assert "print(x)" in after and "print(x)" not in folded  # code after the figure stays open
    assert after.count(".. code-block:: Python") == 1 and out.rstrip().endswith("Text.")
    # Every line of code is still on the page, in order.
    lines = [ln.strip() for ln in re.findall(r"^    (\S.*)$", out, flags=re.MULTILINE)]
    assert lines == [
        ln for ln in ("x = compute()\ny = more(x)\n" + drawing + "\nprint(x)").split("\n") if ln
    ]


def test_short_figure_code_and_code_without_a_figure_stay_open():
    short = _rst_cell("fig, ax = plt.subplots()\nax.plot(x)\nplt.show()")
    assert layerwise_build.fold_figure_code(short) == short
    long_no_figure = _rst_cell("\n".join(f"a{i} = {i}" for i in range(20)))
    assert layerwise_build.fold_figure_code(long_no_figure) == long_no_figure
    # A figure started inside a loop or function body is not split mid-block.
    nested = _rst_cell(
        "for i in range(3):\n" + "\n".join(["    fig = plt.figure()"] * 12) + "\nplt.show()"
    )
    assert layerwise_build.fold_figure_code(nested) == nested


POOL_PAGE = '''"""
Page {n}
========

Says which process ran it.
"""

import os

print("ran in", os.getpid(), "build", os.environ["LAYERWISE_BUILD_PID"])
{extra}
'''


def pool_site(tmp_path: Path, extra: str = "", notebook: str = "") -> Path:
    """Two chapters of one page each; the second page runs ``extra`` at its end. ``notebook``, a
    MyST notebook page, is added as ``answer.md``, executed with myst-nb's cache."""
    chapters = {"one": ["plot_one.py"], "two": ["plot_two.py"]}
    for n, (chapter, (page,)) in enumerate(chapters.items()):
        (tmp_path / "gallery" / chapter).mkdir(parents=True)
        write(tmp_path / "gallery" / chapter / "README.rst", f"{chapter}\n=====\n")
        write(tmp_path / "gallery" / chapter / page, POOL_PAGE.format(n=n, extra=extra * n))
    docs = tmp_path / "docs"
    docs.mkdir()
    conf = CONF.format(ext=str(ROOT / "docs" / "_ext"))
    conf = conf.replace('{"chapter": ["plot_claim.py"]}', repr(chapters))
    conf = conf.replace('["../gallery/chapter"]', '["../gallery/one", "../gallery/two"]')
    conf = conf.replace('["auto_examples/chapter"]', '["auto_examples/one", "auto_examples/two"]')
    pages = [f"auto_examples/{c}/index" for c in chapters]
    if notebook:
        conf = conf.replace("extensions = [", 'extensions = ["myst_nb", ')  # as in conf.py
        cache = str(tmp_path / "jupyter-cache")
        conf += f"nb_execution_mode = 'cache'\nnb_execution_cache_path = {cache!r}\n"
        write(docs / "answer.md", notebook)
        pages.append("answer")
    write(docs / "conf.py", conf)
    toctree = "\n".join(f"   {p}" for p in pages)
    write(docs / "index.rst", f"Home\n====\n\n.. toctree::\n\n{toctree}\n")
    return docs


def test_the_pool_runs_every_chapter_s_pages_in_worker_processes(tmp_path, monkeypatch):
    pytest.importorskip("sphinx_gallery")
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "2")
    docs = pool_site(tmp_path)
    done = sphinx_build(docs, "quick")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 gallery pages, 0 seeds of shared networks and 0 notebook pages" in done.stdout
    for chapter, page in (("one", "plot_one"), ("two", "plot_two")):
        html = (docs / "_html" / "auto_examples" / chapter / f"{page}.html").read_text()
        ran, build = re.search(r"ran in (\d+) build (\d+)", html).groups()
        assert ran != build  # a worker, not the build's own process
    again = sphinx_build(docs, "quick")  # nothing changed: nothing runs, no pool
    assert again.returncode == 0 and "gallery pages" not in again.stdout


KERNEL_PARENT = """import os

print("kernel of the build:", os.getppid() == int(os.environ["LAYERWISE_BUILD_PID"]))"""


def test_the_pool_executes_the_notebook_pages_and_sphinx_reads_them_from_the_cache(
    tmp_path, monkeypatch, myst_notebook
):
    pytest.importorskip("myst_nb")
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "2")
    docs = pool_site(tmp_path, notebook=myst_notebook(KERNEL_PARENT, "A notebook page"))
    done = sphinx_build(docs, "quick")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 gallery pages, 0 seeds of shared networks and 1 notebook pages" in done.stdout
    assert "notebook pages executed beside the gallery: notebooks/answer" in done.stdout
    html = (docs / "_html" / "answer.html").read_text()
    assert "kernel of the build: False" in html  # a worker's kernel ran it, not Sphinx's
    # myst-nb took the outputs from its cache, and wrote the notebook it read (no outputs) to
    # its output folder; the build puts them back, for the downloads and the benchmark.
    executed = json.loads((docs / "jupyter_execute" / "answer.ipynb").read_text())
    outputs = [out for cell in executed["cells"] for out in cell.get("outputs", [])]
    assert "kernel of the build: False" in json.dumps(outputs)


def test_a_notebook_edited_alone_is_rebuilt_though_it_names_a_shared_network(
    tmp_path, monkeypatch, myst_notebook
):
    # The second build has no gallery page to run, so no pool: the edited notebook, which now
    # names a network of layerwise.zoo, runs as Sphinx reads it, and no shared network's
    # training time is asked for (there was none).
    pytest.importorskip("myst_nb")
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "2")
    docs = pool_site(tmp_path, notebook=myst_notebook('print("edition", 1)', "A notebook page"))
    done = sphinx_build(docs, "quick")
    assert done.returncode == 0, done.stderr[-2000:]
    code = 'print("edition", 2)  # the page would call zoo.photo_cnn() here'
    write(docs / "answer.md", myst_notebook(code, "A notebook page"))
    again = sphinx_build(docs, "quick")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "gallery pages" not in again.stdout
    assert "edition 2" in (docs / "_html" / "answer.html").read_text()


def test_a_page_that_fails_in_a_worker_fails_the_build_with_its_error(tmp_path, monkeypatch):
    pytest.importorskip("sphinx_gallery")
    monkeypatch.setenv("LAYERWISE_GALLERY_JOBS", "2")
    docs = pool_site(tmp_path, extra='raise RuntimeError("page two broke")')
    done = sphinx_build(docs, "quick")
    assert done.returncode != 0
    assert "page two broke" in done.stdout + done.stderr
