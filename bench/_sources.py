"""Pinned real repositories fetched from the package registries (never vendored), for bench/.

    python   requests 2.32.3             PyPI sdist      pip download --no-binary :all:
    typescript rxjs 7.8.1                npm tarball     npm pack (the tarball has src/)
    go       client_golang 1.14.0-3      Debian package  apt-get download + dpkg -x
    rust     tokio 1.24.2-1 (src/ only)  Debian package  apt-get download + dpkg -x

:func:`fetch_repo` downloads and unpacks one of them into a cache folder (default
``.cache/bench-sources``, ignored by git) once, and returns the repository root and where it
came from (command, archive sha256).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

REPOS: dict[str, dict[str, str]] = {
    "requests": {"language": "python", "source": "pypi", "package": "requests", "version": "2.32.3"},
    "rxjs": {"language": "typescript", "source": "npm", "package": "rxjs", "version": "7.8.1"},
    "client_golang": {
        "language": "go",
        "source": "debian",
        "package": "golang-github-prometheus-client-golang-dev",
        "version": "1.14.0-3",
    },
    "tokio": {"language": "rust", "source": "debian", "package": "librust-tokio-dev", "version": "1.24.2-1"},
}

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "bench-sources"


def _extract(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_repo(name: str, cache: Path = DEFAULT_CACHE) -> tuple[Path, dict]:
    """Download + unpack ``name`` (a key of :data:`REPOS`) into ``cache``; return (root, provenance)."""
    spec = REPOS[name]
    base = cache / f"{name}-{spec['version']}"
    marker = base / ".complete.json"
    if marker.is_file():
        prov = json.loads(marker.read_text())
        return Path(prov["repo_path"]), prov
    if base.exists():
        shutil.rmtree(base)
    dl = base / "download"
    dl.mkdir(parents=True)
    pkg, ver = spec["package"], spec["version"]
    prov: dict = {"package": pkg, "version": ver, "source": spec["source"]}
    if spec["source"] == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"{pkg}=={ver}",
               "-d", str(dl)]  # fmt: skip
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        _extract(next(dl.glob(f"{pkg}-{ver}.tar.gz")), base / "src")
        repo = base / "src" / f"{pkg}-{ver}"
        prov["command"] = " ".join(["python", *cmd[1:]])
    elif spec["source"] == "npm":
        cmd = ["npm", "pack", f"{pkg}@{ver}", "--pack-destination", str(dl), "--silent"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        _extract(next(dl.glob("*.tgz")), base / "src")
        repo = base / "src" / "package"  # dist/ is skipped by the walk (a build-output folder)
        prov["command"] = " ".join(cmd)
    else:
        cmd = ["apt-get", "download", f"{pkg}={ver}"]
        proc = subprocess.run(cmd, cwd=dl, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(cmd, cwd=dl, check=True, stdout=subprocess.DEVNULL)
        deb = next(dl.glob("*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(base / "x")], check=True)
        if name == "client_golang":
            repo = base / "x/usr/share/gocode/src/github.com/prometheus/client_golang"
        else:  # tokio: src/ + Cargo.toml (tests/, CHANGELOG and debian/ left out)
            crate = sorted((base / "x/usr/share/cargo/registry").glob("tokio-*"))[0]
            repo = base / "repo" / crate.name
            repo.mkdir(parents=True)
            shutil.copytree(crate / "src", repo / "src", symlinks=True)
            shutil.copy2(crate / "Cargo.toml", repo / "Cargo.toml")
            prov["restricted_to"] = "src/ + Cargo.toml"
        prov["command"] = " ".join(cmd) + f" && dpkg -x {deb.name} x"
    prov["archive_sha256"] = _sha256(next(p for p in dl.iterdir() if p.is_file()))
    prov["repo_path"] = str(repo)
    prov["fetched_at"] = datetime.now(UTC).isoformat()
    marker.write_text(json.dumps(prov, indent=1))
    return repo, prov
