"""Sphinx configuration for the whole Layerwise site.

Build with ``nox -s docs`` (or ``sphinx-build -c . docs build/html``). Gallery chapters live in
``gallery/<chapter>/`` and are listed in ``CHAPTERS`` below, in reading order.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DOCS = ROOT / "docs"
BUILD = ROOT / "build"
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT / "src"))

import buildcmd  # noqa: E402

import layerwise  # noqa: E402

# Trained models are cached inside the build folder unless the user points elsewhere, so a
# clean clone starts with an empty cache and `rm -rf build` forgets everything.
# Examples run in their own folder, so a relative path is made absolute here.
os.environ["LAYERWISE_CACHE"] = str(buildcmd.model_cache(ROOT).resolve())
os.environ.setdefault("MPLBACKEND", "Agg")

# -- Project -----------------------------------------------------------------------------------
project = "Layerwise"
author = "The Layerwise developers"
copyright = "2026, The Layerwise developers"
version = release = layerwise.__version__
# Where the site is served; downloaded notebooks install the wheel published next to it.
# Set LAYERWISE_SITE_URL for a hosted build; the default is the local server of the README.
SITE_URL = os.environ.get("LAYERWISE_SITE_URL", "http://127.0.0.1:8000/").rstrip("/") + "/"
if "LAYERWISE_SITE_URL" in os.environ:
    html_baseurl = SITE_URL  # canonical links only for a real host

extensions = [
    # Before sphinx_gallery: myst-nb sets up its configuration when the builder starts, and the
    # gallery's pool (docs/_ext/gallery_pool.py) reads it then to execute the notebook pages.
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served from the site itself, not a CDN
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
    "sphinx_copybutton",
    "sphinxcontrib.bibtex",
    "layerwise_build",
]

# -- Gallery: one folder per chapter; chapters and their pages in reading order ----------------
layerwise_chapters = {
    "first_layers": ["plot_first_layer_filters.py", "plot_feature_maps.py"],
    "receptive_fields": [
        "plot_receptive_field_growth.py",
        "plot_effective_receptive_field.py",
        "plot_architecture_receptive_fields.py",
        "plot_dense_vs_conv_support.py",
    ],
    "what_layers_learn": [
        "plot_top_patches.py",
        "plot_feature_visualization.py",
        "plot_linear_probes.py",
        "plot_which_layers_settle_first.py",
        "plot_nearest_neighbours.py",
        "plot_occlusion_gradcam.py",
        "plot_natural_image_statistics.py",
    ],
    "why_neurons_differ": [
        "plot_symmetry_breaking.py",
        "plot_hidden_unit_niches.py",
        "plot_neuron_vs_layer_similarity.py",
    ],
    "dense_vs_conv": [
        "plot_dense_vs_conv_pixel_permutation.py",
        "plot_end_to_end_vs_pipeline.py",
        "plot_dense_digit_network.py",
    ],
    "why_depth": ["plot_parity_depth_vs_width.py", "plot_audio_hierarchy.py"],
    "transfer": [
        "plot_layer_transfer.py",
        "plot_cross_domain_transfer.py",
        "plot_fine_tuning_similarity.py",
    ],
    "imagenet": [
        "plot_imagenet_first_layer.py",
        "plot_imagenet_feature_visualization.py",
        "plot_imagenet_faces.py",
        "plot_imagenet_transfer.py",
        "plot_imagenet_gradcam.py",
        "plot_imagenet_small_vs_big.py",
    ],
}
CHAPTERS = list(layerwise_chapters)

_found = sorted(p.name for p in (ROOT / "gallery").iterdir() if p.is_dir() and p.name[0] != "_")
if sorted(CHAPTERS) != _found:
    raise RuntimeError(
        f"gallery/ holds chapters {_found} but conf.py's CHAPTERS lists {CHAPTERS}; "
        "list every chapter folder, in reading order."
    )

WHEEL = f"layerwise-{layerwise.__version__}-py3-none-any.whl"

sphinx_gallery_conf = {
    "examples_dirs": [f"../gallery/{c}" for c in CHAPTERS],
    "gallery_dirs": [f"auto_examples/{c}" for c in CHAPTERS],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "layerwise_build.ExampleOrder",
    "abort_on_example_error": True,
    "reset_modules": ("matplotlib", "layerwise_build.reset_state"),
    "reset_modules_order": "before",
    "first_notebook_cell": (
        "# Install the version of layerwise this notebook was built with.\n"
        f"%pip install --quiet {SITE_URL}{WHEEL}"
    ),
    "download_all_examples": True,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
    # Animations as inline JavaScript and frames (no video codec needed); the build extension
    # removes the icon stylesheet that matplotlib links from a CDN (the theme has the icons).
    "matplotlib_animations": (True, "jshtml"),
    "image_srcset": ["2x"],
    "thumbnail_size": (400, 280),
    "default_thumb_file": None,
    "capture_repr": (),
    # Sphinx-Gallery itself runs one page at a time: docs/_ext/gallery_pool.py runs the pages
    # of every chapter, LAYERWISE_GALLERY_JOBS at a time (default: one per core, at most 4).
    "parallel": False,
}

# -- Sources ----------------------------------------------------------------------------------
exclude_patterns = [
    "_build",
    "_ext",
    "_templates",
    "_intersphinx",
    "**.ipynb_checkpoints",
    # Sphinx-Gallery writes notebooks next to its pages: they are downloads, not sources.
    "auto_examples/**/*.ipynb",
    "auto_examples/**/*.py",
    "auto_examples/**/*.zip",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
templates_path = [str(DOCS / "_templates")]
html_static_path = ["docs/_static"]

# -- MyST / myst-nb: executed concept pages ----------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "deflist", "substitution"]
myst_heading_anchors = 3
nb_execution_mode = "cache"
nb_execution_cache_path = str(BUILD / "jupyter-cache")
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_merge_streams = True
# Markdown that a cell displays (the benchmark tables) is parsed as MyST, which has tables;
# plain CommonMark, the default, does not.
nb_render_markdown_format = "myst"

# -- Cross references -------------------------------------------------------------------------
nitpicky = True
nitpick_ignore_regex = [
    # Type hints that name typing internals rather than documented objects.
    (r"py:class", r"(layerwise\.runtime\.T|optional|callable|array-like)"),
    # A PyTorch type its inventory does not list (train.memory_format returns one).
    (r"py:class", r"torch\.memory_format"),
]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autosummary_generate = True
napoleon_numpy_docstring = True
napoleon_google_docstring = False

# Inventories are read from docs/_intersphinx (refreshed with `nox -s intersphinx` where there
# is a network), so the build never needs to fetch them.
_INV = DOCS / "_intersphinx"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", str(_INV / "python.inv")),
    "torch": ("https://docs.pytorch.org/docs/stable", str(_INV / "torch.inv")),
    "torchvision": ("https://docs.pytorch.org/vision/stable", str(_INV / "torchvision.inv")),
    "numpy": ("https://numpy.org/doc/stable", str(_INV / "numpy.inv")),
    "matplotlib": ("https://matplotlib.org/stable", str(_INV / "matplotlib.inv")),
}

bibtex_bibfiles = ["docs/references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# -- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "Layerwise"
html_last_updated_fmt = None
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 5,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    "secondary_sidebar_items": [
        "page-toc",
        "sourcelink",
        "sg_download_links",
        "sg_launcher_links",
    ],
}
# The version switcher reads switcher.json next to the pages of each version (written below for
# a single build, for every version by `nox -s publish`); nothing is fetched at build time.
VERSION_MATCH = os.environ.get(
    "LAYERWISE_VERSION_MATCH", "dev" if "dev" in layerwise.__version__ else layerwise.__version__
)
html_theme_options["switcher"] = {"json_url": "switcher.json", "version_match": VERSION_MATCH}
html_theme_options["check_switcher"] = False
# "Open in Colab" on every gallery page opens the notebook that this version of the site
# publishes: GitHub repository LAYERWISE_REPOSITORY (set by the deploy workflow), branch
# gh-pages, in this version's folder.
layerwise_colab = {
    "repository": os.environ.get("LAYERWISE_REPOSITORY", "layerwise/layerwise"),
    "branch": os.environ.get("LAYERWISE_PAGES_BRANCH", "gh-pages"),
    "folder": VERSION_MATCH,
}
html_theme_options["navbar_end"] = ["version-switcher", "theme-switcher"]
html_theme_options["show_version_warning_banner"] = False
html_context = {"default_mode": "auto"}
html_favicon = "docs/_static/favicon.png"
html_show_sourcelink = False
html_copy_source = False
html_css_files = ["layerwise.css"]
# Files served at the root of the site: the library's wheel (built by `nox -s docs`) and
# switcher.json (this build's version only, unless publishing supplies the full list). The
# build extension writes them into the folder when the build starts (docs/_ext).
_SWITCHER = os.environ.get("LAYERWISE_SWITCHER")
layerwise_site_root = {
    "folder": str(BUILD / "site-root"),
    "wheel": str(BUILD / "wheel" / WHEEL),
    "switcher": Path(_SWITCHER).read_text()
    if _SWITCHER
    else json.dumps(
        [{"name": VERSION_MATCH, "version": VERSION_MATCH, "url": SITE_URL}], indent=1
    ),
}
html_extra_path = [layerwise_site_root["folder"]]
