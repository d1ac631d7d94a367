"""Assemble the hosted, versioned site: ``dev/``, one frozen folder per release, ``stable/``.

    python docs/_ext/publish.py --out build/site --base-url https://example.org/lw/ dev 0.1.0

Each named version is built into ``OUT/<version>/``: ``dev`` from the working tree, a release
``X.Y.Z`` from the git tag ``vX.Y.Z`` (checked out in a temporary worktree, and its package version
must be ``X.Y.Z``). Version folders already present in ``OUT`` (an earlier deployment) are frozen:
they are kept as they are unless ``--rebuild`` is given. Then:

* ``OUT/switcher.json`` lists ``dev`` and every release, newest first, the newest marked preferred;
  a copy goes into every version folder (the switcher of each page reads the one next to it);
* ``OUT/stable/`` is a copy of the newest release;
* ``OUT/index.html`` redirects to ``stable/`` (or ``dev/`` while there is no release).

``nox -s publish -- ...`` runs this in the docs environment.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import buildcmd
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[2]
RESERVED = {"stable"}


def release_key(name: str) -> Version:
    try:
        return Version(name)
    except InvalidVersion as err:
        raise ValueError(f"{name!r} is neither 'dev' nor a release version like 1.2.0.") from err


def switcher_entries(versions: list[str], base_url: str) -> list[dict]:
    """The switcher.json entries: dev first, then releases newest first (the newest preferred)."""
    releases = sorted((v for v in versions if v != "dev"), key=release_key, reverse=True)
    entries = []
    if "dev" in versions:
        entries.append({"name": "dev", "version": "dev", "url": f"{base_url}dev/"})
    for i, version in enumerate(releases):
        entry = {"name": version, "version": version, "url": f"{base_url}{version}/"}
        if i == 0:
            entry["name"] = f"{version} (stable)"
            entry["preferred"] = True
        entries.append(entry)
    return entries


def existing_versions(out: Path) -> list[str]:
    """Version folders of an earlier deployment found in ``out``."""
    if not out.is_dir():
        return []
    found = []
    for child in out.iterdir():
        if child.is_dir() and child.name not in RESERVED and (child / "index.html").exists():
            if child.name == "dev" or re.fullmatch(r"\d+(\.\d+)*([ab]|rc)?\d*", child.name):
                found.append(child.name)
    return found


def assemble(out: Path, base_url: str) -> list[dict]:
    """Write switcher.json everywhere, refresh stable/ and the root redirect; return entries."""
    base_url = base_url.rstrip("/") + "/"
    versions = existing_versions(out)
    if not versions:
        raise ValueError(f"{out} holds no built version folder (dev/ or X.Y.Z/ with index.html).")
    entries = switcher_entries(versions, base_url)
    text = json.dumps(entries, indent=1) + "\n"
    (out / "switcher.json").write_text(text)
    for version in versions:
        (out / version / "switcher.json").write_text(text)
    releases = [e["version"] for e in entries if e["version"] != "dev"]
    shutil.rmtree(out / "stable", ignore_errors=True)
    if releases:
        shutil.copytree(out / releases[0], out / "stable")
    target = "stable/" if releases else "dev/"
    (out / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="0; url={target}">\n'
        f'<link rel="canonical" href="{base_url}{target}">\n'
        "<title>Layerwise</title></head>\n"
        f'<body><p>The site has moved to <a href="{target}">{target}</a>.</p></body></html>\n'
    )
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ and friends as they are
    return entries


def _run(cmd, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def build_version(version: str, out: Path, base_url: str, switcher: Path, profile: str) -> None:
    """Build one version of the site into ``out/version``."""
    source = ROOT
    worktree = None
    if version != "dev":
        tag = f"v{version}"
        if subprocess.run(["git", "-C", ROOT, "rev-parse", "-q", "--verify", f"refs/tags/{tag}"],
                          capture_output=True).returncode:  # fmt: skip
            raise ValueError(f"there is no git tag {tag}; tag the release commit first.")
        worktree = ROOT / "build" / "release-src" / version
        shutil.rmtree(worktree, ignore_errors=True)
        _run(["git", "-C", ROOT, "worktree", "add", "--detach", "--force", worktree, tag])
        source = worktree
        init = (source / "src" / "layerwise" / "__init__.py").read_text()
        found = re.search(r'__version__ = "([^"]+)"', init)
        if not found or found.group(1) != version:
            raise ValueError(
                f"tag {tag} holds layerwise {found and found.group(1)}, not {version}."
            )
    try:
        wheel_dir = source / "build" / "wheel"
        shutil.rmtree(wheel_dir, ignore_errors=True)
        _run(buildcmd.wheel_command(source, wheel_dir))
        env = dict(os.environ)
        env.update(
            buildcmd.build_env(profile, buildcmd.model_cache(source)),
            LAYERWISE_VERSION_MATCH=version,
            LAYERWISE_SITE_URL=f"{base_url}{version}/",
            LAYERWISE_SWITCHER=str(switcher),
            PYTHONPATH=str(source / "src"),
        )
        target = out / version
        shutil.rmtree(target, ignore_errors=True)
        doctrees = source / "build" / f"doctrees-{version}"
        _run(buildcmd.sphinx_command(source, target, doctrees), env=env, cwd=source)
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", worktree])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", help="'dev' and/or release versions X.Y.Z")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--base-url", default=os.environ.get("LAYERWISE_SITE_URL", "/"))
    parser.add_argument("--rebuild", action="store_true", help="rebuild frozen versions too")
    parser.add_argument("--profile", default="default", choices=buildcmd.PROFILES)
    args = parser.parse_args(argv)
    base_url = args.base_url.rstrip("/") + "/"
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for v in args.versions:
        if v != "dev":
            release_key(v)
    frozen = set(existing_versions(out))
    todo = [v for v in args.versions if args.rebuild or v not in frozen or v == "dev"]
    skipped = sorted(set(args.versions) - set(todo))
    if skipped:
        print(f"frozen, not rebuilt: {', '.join(skipped)} (use --rebuild)")
    switcher = out / "switcher.json"
    switcher.write_text(json.dumps(switcher_entries(sorted(frozen | set(todo)), base_url)))
    for version in todo:
        build_version(version, out, base_url, switcher, args.profile)
    entries = assemble(out, base_url)
    print(f"site assembled in {out}: " + ", ".join(e["name"] for e in entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
