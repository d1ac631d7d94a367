"""Checks of the built site: every page there, every example executed, no broken links."""

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "gallery"
EXAMPLES = sorted(GALLERY.glob("*/plot_*.py"))
# <link rel=...> values that make the browser fetch the target.
LOADED_LINKS = {"stylesheet", "icon", "preload", "modulepreload", "manifest"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()
        self.images: list[dict] = []
        self.loads: list[str] = []  # what a browser fetches to show the page

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "img", "link", "script"):
                self.links.append((tag, attrs[key]))
        if tag == "link" and set((attrs.get("rel") or "").split()) & LOADED_LINKS:
            self.loads.append(attrs["href"])
        if tag in ("script", "img") and attrs.get("src"):
            self.loads.append(attrs["src"])
        if tag == "img":
            self.images.append(attrs)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def html_pages(site):
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


def example_page(site, example: Path) -> Path:
    return site / "auto_examples" / example.parent.name / f"{example.stem}.html"


def test_there_are_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize(
    "page",
    [
        "index.html",
        "claims.html",
        "api.html",
        "contributing.html",
        "references.html",
        "search.html",
        "genindex.html",
    ],
)
def test_main_pages_exist(site, page):
    assert (site / page).is_file()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_has_a_page_with_figures_and_downloads(site, example):
    page = example_page(site, example)
    assert page.is_file(), f"{example.name} has no page"
    parsed = parse(page)
    figures = [img for img in parsed.images if "sphx_glr_" + example.stem in img.get("src", "")]
    assert figures, f"{page.name} shows no figure drawn by its example"
    for img in figures:
        target = (page.parent / unquote(img["src"])).resolve()
        assert target.is_file() and target.stat().st_size > 5_000, img["src"]
    downloads = {Path(url).name for _, url in parsed.links if "_downloads" in url}
    assert {f"{example.stem}.py", f"{example.stem}.ipynb"} <= downloads
    assert f"{example.parent.name}_python.zip" in {
        Path(url).name
        for p in [site / "auto_examples" / example.parent.name / "index.html"]
        for _, url in parse(p).links
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_figure_has_a_descriptive_alt_text(site, example):
    """Sphinx-Gallery takes alt text from figure and axes titles; without any it falls back to
    the file name ("plot first layer filters"), which tells a screen-reader user nothing."""
    generic = example.stem.replace("_", " ")
    for img in parse(example_page(site, example)).images:
        if "sphx_glr_" + example.stem in img.get("src", ""):
            alt = img.get("alt", "").strip()
            assert alt and alt != generic, f"{img['src']} has no descriptive alt text ({alt!r})"


def test_downloaded_notebooks_show_no_raw_sphinx_roles(site):
    """A notebook's text has no ``:term:`...``` or ``{cite:p}`...```, which Jupyter would show
    as they are (the build writes them as plain Markdown)."""
    notebooks = sorted((site / "_downloads").rglob("plot_*.ipynb"))
    assert len(notebooks) == len(EXAMPLES)
    concepts = sorted((site / "notebooks").rglob("*.ipynb"))  # the concept pages, from MyST
    assert concepts
    for path in notebooks + concepts:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        raw = re.findall(
            r":(?:term|cite|func|mod|class|meth|data|attr|ref|doc):`|\{\w+(?::\w+)?\}`", text
        )
        assert not raw, f"{path.name} shows {len(raw)} raw roles, e.g. {raw[0]}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_no_sphinx_gallery_setting_shows_on_a_page(site, example):
    """Settings such as ``# sphinx_gallery_thumbnail_number = 2`` are removed from code cells
    only; one written in a text cell would be printed on the page."""
    html = example_page(site, example).read_text(encoding="utf-8")
    assert "sphinx_gallery_" not in re.sub(r"<[^>]+>", "", html)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_really_ran(site, example):
    """Sphinx-Gallery's timing table lists each example with a non-zero run time."""
    table = (site / "auto_examples" / example.parent.name / "sg_execution_times.html").read_text()
    # Sphinx-Gallery prints mm:ss.mmm with the milliseconds rounded on their own: 6 s and
    # 999.6 ms is "00:06.1000".
    row = re.search(
        rf"{re.escape(example.stem)}\.py.*?<td><p>(\d+):(\d+)\.(\d+)</p></td>", table, re.S
    )
    assert row, f"{example.name} missing from the execution-time table"
    seconds = int(row.group(1)) * 60 + int(row.group(2)) + int(row.group(3)) / 1000
    assert seconds > 0, f"{example.name} ran in 0 s"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_opens_with_its_claims(site, example):
    """The answer box sits under the title and lists this build's claims with their verdicts."""
    html = example_page(site, example).read_text()
    assert "layerwise-answer" in html, f"{example.name} states no claim (stats.claim)"
    title, box = html.index("<h1"), html.index("layerwise-answer")
    first_section = html.find("<h2", title)
    assert title < box < (first_section if first_section > 0 else len(html))
    answer = html[box : html.index("</div>", box)]
    assert "95 % interval" in answer
    assert re.search(r"holds|does not hold|not checked", answer)
    # The reader is asked first: the box is folded under the page's question.
    question = html.find('<details class="layerwise-predict"><summary><strong>Predict first:')
    assert title < question < box < html.index("</details>", question), (
        f"{example.name} has no ':Predict first:' question in its docstring"
    )


def test_claims_page_lists_every_claim_of_every_page(site):
    claims = (site / "claims.html").read_text()
    for example in EXAMPLES:
        page = example_page(site, example).read_text()
        box = page[page.index("layerwise-answer") :]
        box = box[: box.index("</div>")]
        for text in re.findall(r"<strong>(.*?)\.</strong>", box):
            assert text in claims, f"{example.name}'s claim {text!r} is not on the Claims page"
    verdicts = re.findall(
        r"<td><p>(holds|does not hold|not checked: quick profile)</p></td>", claims
    )
    assert verdicts and set(verdicts) == {"holds"}  # a default build stops on any other


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_notebooks_install_the_library_first(site, example):
    notebook = next(site.glob(f"_downloads/*/{example.stem}.ipynb"))
    cells = json.loads(notebook.read_text())["cells"]
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert "%pip install" in "".join(first_code["source"])
    assert "layerwise-" in "".join(first_code["source"])


def test_the_library_wheel_is_published(site):
    assert list(site.glob("layerwise-*.whl")), "the site does not carry the layerwise wheel"


def test_no_broken_internal_links_or_anchors(site):
    pages = html_pages(site)
    ids = {p.resolve(): parse(p).ids for p in pages}
    broken = []
    for page in pages:
        for tag, url in parse(page).links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//") or url.startswith("mailto:"):
                continue
            target = (
                (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
            )
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {url}")
            elif parts.fragment and target.suffix == ".html" and tag == "a":
                if target not in ids:
                    ids[target] = parse(target).ids
                if unquote(parts.fragment) not in ids[target]:
                    broken.append(f"{page.relative_to(site)}: {url} (no such anchor)")
    assert not broken, "\n".join(broken[:30])


def test_pages_load_nothing_from_other_hosts(site):
    """Scripts, styles and images are all served by the site itself."""
    remote = []
    for page in html_pages(site):
        for url in parse(page).loads:
            if urlsplit(url).scheme in ("http", "https") or url.startswith("//"):
                remote.append(f"{page.relative_to(site)}: {url}")
    assert not remote, "\n".join(remote[:20])


def test_the_learners_navigation_keeps_contributor_pages_under_one_entry(site):
    """The top navigation has one "For contributors" entry; the benchmarks and the API reference
    are reached from it, not listed among the learner's pages."""
    html = (site / "index.html").read_text(encoding="utf-8")
    nav = html[html.index("bd-navbar-elements") :]
    nav = nav[: nav.index("</nav>")]
    assert 'href="contributing.html"' in nav
    assert 'href="api.html"' not in nav and 'href="benchmarks.html"' not in nav
    contributing = (site / "contributing.html").read_text(encoding="utf-8")
    assert 'href="api.html"' in contributing and 'href="benchmarks.html"' in contributing
    # The README's instructions are included, from "Build the site" on.
    assert (
        "Build the site" in contributing and "Split the training across machines" in contributing
    )


def test_landing_page_links_every_chapter(site):
    links = {url for _, url in parse(site / "index.html").links}
    for chapter in sorted(p.name for p in GALLERY.iterdir() if p.is_dir()):
        assert any(f"auto_examples/{chapter}/index.html" in url for url in links), chapter


def test_benchmarks_page_reports_every_recorded_benchmark(site):
    html = (site / "benchmarks.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", html)
    recorded = sorted((ROOT / "docs" / "benchmarks").glob("*.json"))
    if not recorded:
        assert "No benchmark has been recorded yet" in text
    else:  # the tables are rendered as tables, not left as Markdown source
        assert html.count("<table") >= len(recorded) and "| --- |" not in text
    for path in recorded:
        result = json.loads(path.read_text())
        assert f"at commit {result['commit']}" in re.sub(r"\s+", " ", text)
        assert f"Ratio {result['training_loop']['ratio']:.2f}" in re.sub(r"\s+", " ", text)
        if "build" in result:
            slowest = max(result["build"]["pages_median_seconds"].values())
            assert f"{slowest:.1f}" in text
        if "seed_batching" in result:
            ratio = result["seed_batching"]["five_seeds_over_one"]
            assert f"{ratio:.1f}x one seed" in re.sub(r"\s+", " ", text)
        if "build_incomplete" in result:  # a build stopped early says so, page by page
            part = result["build_incomplete"]
            assert "did not finish" in text
            for page in part["pages_started"]:
                assert page in text


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_opens_in_colab_from_this_versions_notebook(site, example):
    html = example_page(site, example).read_text()
    link = re.search(
        r'<p class="layerwise-launch"><a class="reference external" href="'
        r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([\w.-]+)/"
        r'([\w.-]+)/(_downloads/[0-9a-f]+/([\w]+)\.ipynb)"',
        html,
    )
    assert link, f"{example.name} has no well-formed Colab link"
    assert link.group(5) == example.stem
    assert (site / link.group(4)).is_file(), "the linked notebook is not published with the site"


CONCEPTS = sorted(
    p.stem for p in (ROOT / "docs" / "concepts").glob("*.md") if "mystnb" in p.read_text()
)


@pytest.mark.parametrize("concept", CONCEPTS)
def test_every_concept_notebook_opens_in_colab_and_installs_the_library_first(site, concept):
    html = (site / "concepts" / f"{concept}.html").read_text()
    link = re.search(
        r'<p class="layerwise-launch"><a class="reference external" href="'
        r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/[\w.-]+/"
        rf'(notebooks/concepts/{concept}\.ipynb)"',
        html,
    )
    assert link, f"{concept} has no well-formed Colab link"
    notebook = json.loads((site / link.group(1)).read_text())
    first = notebook["cells"][0]
    assert first["cell_type"] == "code" and "%pip install" in "".join(first["source"])
    assert any("layerwise" in "".join(c["source"]) for c in notebook["cells"][1:])


ANIMATED = {"plot_first_layer_filters", "plot_receptive_field_growth"}


def test_every_animation_player_is_served_whole_and_named(site):
    """Every matplotlib player on every example page (not only the first one found) keeps its
    frames in the page, links no icon stylesheet from elsewhere, and names its frame and slider."""
    animated = set()
    for example in EXAMPLES:
        html = example_page(site, example).read_text(encoding="utf-8")
        frames = re.findall(r"<img id=\"_anim_img\w+\"[^>]*>", html)
        sliders = re.findall(r"<input id=\"_anim_slider\w+\"[^>]*>", html)
        if not frames:
            continue
        animated.add(example.stem)
        assert len(sliders) == len(frames), example.stem
        assert all(re.search(r'alt="[^"]+"', tag) for tag in frames), example.stem
        assert all(re.search(r'aria-label="[^"]+"', tag) for tag in sliders), example.stem
        assert "font-awesome" not in html, example.stem
        assert "data:image/png;base64" in html, example.stem  # frames inside the page
    assert ANIMATED <= animated, f"animations expected on {sorted(ANIMATED - animated)}"


def _figure_cells(source: str, least: int) -> int:
    """How many figures in a gallery script take at least ``least`` lines to draw: from a
    top-level ``fig...`` line to the next top-level ``plt.show()`` in the same cell."""
    count, start = 0, None
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# %%"):
            start = None
        elif start is None and line.startswith("fig"):
            start = i
        elif start is not None and line == "plt.show()":
            count += sum(1 for ln in lines[start : i + 1] if ln.strip()) >= least
            start = None
    return count


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_a_folded_figure_code_is_followed_by_its_figure(site, example):
    # Code left in the cell after plt.show() would sit between the folded summary and the
    # figure it draws; what comes next on the page must be the figure (one image or a row).
    html_text = example_page(site, example).read_text(encoding="utf-8")
    for block in re.finditer(r'<details class="layerwise-code">.*?</details>', html_text, re.S):
        after = html_text[block.end() :]
        following = re.search(r"<(img|ul|div|p|pre|section|h\d|details)\b[^>]*>", after)
        assert following, "nothing follows a folded figure's code"
        tag = following.group(0)
        assert tag.startswith(("<img", '<ul class="sphx-glr-horizontal')), (
            "code follows a folded figure's code, before its figure: "
            + re.sub(r"<[^>]+>", "", after[: following.end() + 2000]).strip()[:120]
        )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_long_figure_code_is_folded_on_the_page_and_whole_in_the_download(site, example):
    html_text = example_page(site, example).read_text(encoding="utf-8")
    folded = re.findall(r'<details class="layerwise-code">(.*?)</details>', html_text, re.S)
    source = example.read_text()
    assert len(folded) >= _figure_cells(source, least=12), "a long figure's code is not folded"
    for block in folded:
        code = html.unescape(re.sub(r"<[^>]+>", "", block.split("</summary>", 1)[1]))
        lines = [ln for ln in code.splitlines() if ln.strip()]
        assert "plt.show()" in lines[-1]
        # The downloaded script is the gallery file itself: it holds the folded lines, in order.
        at = source.index(lines[0].strip())
        for ln in lines[1:]:
            at = source.index(ln.strip(), at)
