"""The built site in a real browser: Debian's Chromium driven by Playwright, served on 127.0.0.1.

For every page: no console errors, no failed requests, no request to another host, every image
loads, no horizontal scrolling on a phone, and no serious or critical accessibility violation
reported by axe-core. Also: search finds a chapter, the version switcher lists and navigates
between versions, the header's links fit one line at 1280 px, and screenshots (light, dark and
phone) of the landing page and three gallery pages are saved to build/screenshots for review.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE = Path(os.environ.get("LAYERWISE_AXE", ROOT / "build" / "node" / "node_modules" / "axe-core"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}

sys.path.insert(0, str(ROOT / "docs" / "_ext"))


def _missing(what: str):
    """Without a browser the suite cannot run: an error in CI, a skip on a contributor's laptop."""
    message = f"{what}; `nox -s tests` installs it (see README)."
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("LAYERWISE_CHROMIUM") or shutil.which("chromium")
    if not path:
        _missing("Chromium is not installed (Debian: apt-get install chromium)")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def serve():
    """Serve a folder on 127.0.0.1 at a free port; returns the base URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def browser(chromium_path):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def base_url(site, serve):
    return serve(site)


def site_pages(site: Path) -> list[str]:
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel.startswith(("_static/", "_sources/", "_modules/", "_images/")):
            continue
        pages.append(rel)
    return pages


class Visit:
    """One page load with everything the browser saw."""

    def __init__(self, context, url: str):
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.foreign: list[str] = []
        self.page = context.new_page()
        host = urlsplit(url).netloc
        self.page.on(
            "console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None
        )
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on(
            "response",
            lambda r: self.failed.append(f"{r.url} ({r.status})") if r.status >= 400 else None,
        )

        def route(route):
            if urlsplit(route.request.url).netloc == host or route.request.url.startswith("data:"):
                route.continue_()
            else:
                self.foreign.append(route.request.url)
                route.abort()

        self.page.route("**/*", route)
        self.page.goto(url, wait_until="networkidle")

    def broken_images(self) -> list[str]:
        return self.page.evaluate(
            """async () => {
                const broken = [];
                for (const img of document.images) {
                    img.loading = "eager";
                    try { await img.decode(); }
                    catch (e) { broken.push(img.currentSrc || img.src); }
                }
                return broken;
            }"""
        )


@pytest.fixture(scope="session")
def axe_source() -> str:
    script = AXE / "axe.min.js"
    if not script.exists():
        _missing(f"axe-core is not installed at {AXE} (npm install --prefix build/node axe-core)")
    return script.read_text()


def test_every_page_loads_cleanly_and_accessibly(site, base_url, browser, axe_source):
    problems = []
    pages = site_pages(site)
    assert len(pages) >= 5
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    for rel in pages:
        visit = Visit(context, base_url + rel)
        for kind, found in (
            ("console error", visit.console_errors),
            ("failed request", visit.failed),
            ("request to another host", visit.foreign),
            ("image that does not load", visit.broken_images()),
        ):
            problems += [f"{rel}: {kind}: {item}" for item in found]
        visit.page.add_script_tag(content=axe_source)
        violations = visit.page.evaluate(
            """async () => {
                // Open every collapsed block (the predict-first answers, the gallery's
                // folded code) so that axe checks what a reader sees after opening it.
                document.querySelectorAll("details").forEach(d => { d.open = true; });
                const r = await axe.run(document, {resultTypes: ["violations"]});
                return r.violations
                    .filter(v => v.impact === "serious" || v.impact === "critical")
                    .map(v => v.id + " (" + v.impact + "): " + v.help + " -- " +
                              v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
            }"""
        )
        problems += [f"{rel}: axe: {v}" for v in violations]
        visit.page.close()

        small = phone.new_page()
        small.goto(base_url + rel, wait_until="load")
        overflow = small.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:
            problems.append(f"{rel}: scrolls sideways by {overflow}px on a 390px-wide phone")
        small.close()
    context.close()
    phone.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


def test_search_finds_a_chapter_by_a_word_on_its_page(base_url, browser):
    page = browser.new_page()
    page.goto(base_url + "search.html?q=selectivity", wait_until="networkidle")
    page.wait_for_selector("#search-results li a", timeout=20_000)
    hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
    page.close()
    assert any("plot_first_layer_filters" in href for href in hits), hits


SCREENSHOT_PAGES = {
    "landing": "index.html",
    "first-layer-filters": "auto_examples/first_layers/plot_first_layer_filters.html",
    "occlusion": "auto_examples/what_layers_learn/plot_occlusion_gradcam.html",
    "imagenet-stages": "auto_examples/imagenet/plot_imagenet_feature_visualization.html",
}
VIEWPORTS = {
    "light": (1280, 900, "light"),
    "dark": (1280, 900, "dark"),
    "phone": (390, 844, "light"),
}


def test_screenshots_light_dark_and_phone(base_url, browser):
    """The landing page and three gallery pages in each theme and on a phone, saved for review;
    each page shows the theme the browser asks for."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for view, (width, height, scheme) in VIEWPORTS.items():
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme
        )
        page = context.new_page()
        for name, rel in SCREENSHOT_PAGES.items():
            page.goto(base_url + rel, wait_until="networkidle")
            theme = page.evaluate("document.documentElement.dataset.theme")
            assert theme == scheme, f"{rel} shows the {theme} theme for a {scheme} browser"
            out = SCREENSHOTS / f"{name}-{view}.png"
            page.screenshot(path=str(out), full_page=name == "landing")
            assert out.stat().st_size > 10_000
        context.close()


def test_the_navigation_bar_fits_one_line_at_1280_px(base_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base_url + "index.html", wait_until="networkidle")
    tops = page.eval_on_selector_all(
        ".bd-header .navbar-header-items__center .navbar-nav > li",
        "items => items.map(e => Math.round(e.getBoundingClientRect().top))",
    )
    context.close()
    assert len(tops) >= 3, "no navigation links found in the header"
    # One line: the tops agree to a pixel or two (a wrapped link sits a whole line, ~40 px, lower).
    assert max(tops) - min(tops) <= 4, f"the header's links wrap onto more lines: tops {tops}"


def test_version_switcher_lists_and_navigates_between_versions(site, tmp_path, serve, browser):
    """Assemble a two-version site the way `nox -s publish` does, then use the switcher."""
    import publish

    out = tmp_path / "site"
    shutil.copytree(site, out / "dev")
    shutil.copytree(site, out / "0.1.0")
    # The 0.1.0 copy must say it is 0.1.0, as a build from the tag would.
    for page in (out / "0.1.0").rglob("*.html"):
        text = page.read_text()
        page.write_text(text.replace("version_match = 'dev'", "version_match = '0.1.0'"))
    base = serve(out)
    entries = publish.assemble(out, base)
    assert [e["version"] for e in entries] == ["dev", "0.1.0"]
    assert json.loads((out / "dev" / "switcher.json").read_text()) == entries
    assert (out / "stable" / "index.html").exists()

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base, wait_until="networkidle")  # the root redirects to stable/
    assert page.url.rstrip("/").endswith("/stable") or "/stable/" in page.url
    page.goto(base + "dev/auto_examples/first_layers/index.html", wait_until="networkidle")
    button = page.locator(".version-switcher__button:visible").first
    assert "dev" in button.inner_text()
    button.click()
    items = page.locator(".version-switcher__menu a:visible")
    items.first.wait_for()
    names = [items.nth(i).inner_text() for i in range(items.count())]
    assert any("dev" in n for n in names) and any("0.1.0" in n for n in names), names
    page.locator(".version-switcher__menu a:visible", has_text="0.1.0").click()
    page.wait_for_url("**/0.1.0/**", timeout=10_000)
    assert "/0.1.0/auto_examples/first_layers/index.html" in page.url
    assert "0.1.0" in page.locator(".version-switcher__button:visible").first.inner_text()
    page.close()
