"""The Hugging Face hub as a source of shards: ``hf://datasets/OWNER/NAME[@REVISION]/GLOB``.

What it does: :func:`parse_hf_url` splits such a URL; :class:`HfHub`, the one class that talks to the
hub (through ``huggingface_hub``, the ``hub`` extra, imported when first needed), resolves a revision
(a branch, tag or commit; default ``main``) to its commit sha, lists the repository's files at that
commit and downloads one file into the cache (``$FORENSICS_CACHE/hub``, the ``huggingface_hub`` cache
layout: an interrupted download resumes, a file already there is not fetched again);
:func:`list_hub_files` matches the URL's glob (``*``, ``?``, ``[...]``, ``**`` for any folders) against
the listing. Everything is read at the resolved commit, so a build names exactly what it read.

What it leaves out: reading the files (:mod:`forensics.corpus.readers`), choosing which to fetch
(:mod:`forensics.corpus.manifest` fetches lazily, in its seeded order, until a category has enough
text), models and spaces (datasets only), and tokens (``huggingface_hub`` finds ``HF_TOKEN`` or a
``huggingface-cli login``; gated datasets need their terms accepted on the website first).

Tests substitute a local directory for the hub by replacing ``huggingface_hub.HfApi`` and
``huggingface_hub.hf_hub_download``, which :class:`HfHub` looks up on each call.

>>> parse_hf_url("hf://datasets/wikimedia/wikipedia@20231101/20231101.de/*.parquet")
HubSource(repo_id='wikimedia/wikipedia', revision='20231101', pattern='20231101.de/*.parquet')
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote

from forensics.errors import ForensicsError

PREFIX = "hf://"
DATASETS = "hf://datasets/"
_SHA = re.compile(r"[0-9a-f]{40}")
_REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class HubSource:
    """A parsed ``hf://datasets/...`` URL: repository, requested revision (None: ``main``) and glob."""

    repo_id: str
    revision: str | None
    pattern: str


@dataclass(frozen=True)
class RemoteFile:
    """One file of a hub repository at a commit: its path, size and (for LFS files) sha256."""

    path: str
    size: int
    sha256: str | None = None


class Hub(Protocol):
    """What the manifest builder needs from a hub: resolve a revision, list files, fetch one file."""

    def resolve(self, repo_id: str, revision: str | None) -> str: ...

    def list_files(self, repo_id: str, sha: str, prefix: str) -> list[RemoteFile]: ...

    def fetch(self, repo_id: str, path: str, sha: str) -> Path: ...


def is_hf_url(text: str) -> bool:
    """Whether a manifest source is a hub URL.

    >>> is_hf_url("hf://datasets/a/b/*.parquet"), is_hf_url("shards/*.parquet")
    (True, False)
    """
    return text.startswith(PREFIX)


def parse_hf_url(url: str) -> HubSource:
    """Split ``hf://datasets/OWNER/NAME[@REVISION]/GLOB``; a revision with ``/`` is written ``%2F``.

    >>> parse_hf_url("hf://datasets/bigcode/the-stack-smol/data/python/data.json").revision is None
    True
    >>> parse_hf_url("hf://datasets/a/b@refs%2Fconvert%2Fparquet/default/*/*.parquet").revision
    'refs/convert/parquet'
    """
    if not url.startswith(DATASETS):
        kind = url[len(PREFIX):].split("/", 1)[0] if url.startswith(PREFIX) else ""
        what = f"hub {kind!r} repositories are not supported" if kind else "not an hf:// URL"
        raise ForensicsError(f"{url}: {what}; write hf://datasets/OWNER/NAME[@REVISION]/GLOB")
    parts = url[len(DATASETS):].split("/")
    if len(parts) < 3 or not all(parts[:2]) or not "/".join(parts[2:]).strip("/"):
        raise ForensicsError(f"{url}: incomplete hub URL; write hf://datasets/OWNER/NAME[@REVISION]/GLOB, "
                             f"e.g. hf://datasets/wikimedia/wikipedia/20231101.de/*.parquet")
    owner, name = parts[0], parts[1]
    revision = None
    if "@" in name:
        name, revision = name.split("@", 1)
        revision = unquote(revision)
        if not revision:
            raise ForensicsError(f"{url}: empty revision after '@'; name a branch, tag or commit, or drop the '@'")
    if not (_REPO_PART.fullmatch(owner) and _REPO_PART.fullmatch(name)):
        raise ForensicsError(f"{url}: {owner}/{name} is not a repository name; write OWNER/NAME as on the hub")
    return HubSource(repo_id=f"{owner}/{name}", revision=revision, pattern="/".join(p for p in parts[2:] if p))


def fixed_prefix(pattern: str) -> str:
    """The leading folders of a glob that hold no wildcard (listing starts there).

    >>> fixed_prefix("data/deu_Latn/train/*.parquet"), fixed_prefix("**/*.json.gz")
    ('data/deu_Latn/train', '')
    """
    parts = pattern.split("/")
    fixed = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed)


def matches(pattern: str, path: str) -> bool:
    """Whether a repository path matches a glob; a pattern without wildcards also names a whole folder.

    >>> matches("data/*/train/*.parquet", "data/deu_Latn/train/000_00000.parquet")
    True
    >>> matches("data/python", "data/python/data.json"), matches("**/*.json.gz", ".cache/x.json.gz")
    (True, False)
    """
    from forensics.corpus.shards import _match

    parts = tuple(path.split("/"))
    glob = tuple(p for p in pattern.split("/") if p)
    if not any(ch in pattern for ch in "*?["):
        return parts == glob or parts[:len(glob)] == glob
    return _match(glob, parts, explicit_dots=True)


def list_hub_files(source: HubSource, hub: Hub) -> tuple[str, list[RemoteFile]]:
    """The resolved commit sha and the files matching the source's glob there, sorted by path."""
    sha = hub.resolve(source.repo_id, source.revision)
    listed = hub.list_files(source.repo_id, sha, fixed_prefix(source.pattern))
    found = sorted((f for f in listed if matches(source.pattern, f.path)), key=lambda f: f.path)
    return sha, found


def _hub_error(exc: Exception, what: str, repo_id: str) -> ForensicsError:
    """One line for a failed hub call, with what to do."""
    name = type(exc).__name__
    page = f"https://huggingface.co/datasets/{repo_id}"
    if name == "GatedRepoError":
        return ForensicsError(f"{what}: access to {repo_id} is gated; accept its terms at {page} and log in "
                              f"(huggingface-cli login, or set HF_TOKEN)")
    if name == "RepositoryNotFoundError":
        return ForensicsError(f"{what}: no dataset {repo_id} on the hub (or it is private); check the name at "
                              f"{page}, or log in if it is yours")
    if name == "RevisionNotFoundError":
        return ForensicsError(f"{what}: {repo_id} has no such revision; name a branch, tag or commit that exists "
                              f"({page}/tree/main)")
    if name in ("EntryNotFoundError", "RemoteEntryNotFoundError"):
        return ForensicsError(f"{what}: the file is not in {repo_id} at that revision; check the path")
    if name in ("LocalEntryNotFoundError", "OfflineModeIsEnabled"):
        return ForensicsError(f"{what}: not in the cache and the hub is not reachable ({str(exc)[:200]}); "
                              f"connect to the network (or unset HF_HUB_OFFLINE) and rerun")
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return ForensicsError(f"{what}: the hub request failed ({name}: {detail}); check the network and the "
                          f"repository, then rerun (finished downloads are kept)")


class HfHub:
    """The hub through ``huggingface_hub``: resolve, list, fetch; downloads go to ``cache`` (resumable).

    >>> HfHub(cache="/tmp/hub").cache
    PosixPath('/tmp/hub')
    """

    def __init__(self, *, cache: str | os.PathLike | None = None, token: str | None = None,
                 endpoint: str | None = None) -> None:
        from forensics._cache import cache_dir

        self.cache = Path(cache) if cache is not None else cache_dir("hub")
        self.token = token
        self.endpoint = endpoint
        self.fetched: list[tuple[str, str, str]] = []  # (repo, path, sha) of every fetch, in order

    @staticmethod
    def _library():
        from forensics.errors import require

        return require("huggingface_hub", extra="hub", purpose="reading hf:// sources")

    def _api(self):
        return self._library().HfApi(endpoint=self.endpoint, token=self.token)

    def resolve(self, repo_id: str, revision: str | None) -> str:
        """The commit sha of ``revision`` (default ``main``); a full sha is checked, not trusted blindly."""
        api = self._api()
        try:
            info = api.dataset_info(repo_id, revision=revision or "main")
        except Exception as exc:  # the library raises its own types (and httpx/requests ones) for every failure
            raise _hub_error(exc, f"hf://datasets/{repo_id}@{revision or 'main'}", repo_id) from None
        sha = getattr(info, "sha", None)
        if not sha:
            raise ForensicsError(f"hf://datasets/{repo_id}: the hub gave no commit for revision "
                                 f"{revision or 'main'!r}; pass a commit sha as the revision")
        return str(sha)

    def list_files(self, repo_id: str, sha: str, prefix: str) -> list[RemoteFile]:
        """Every file under ``prefix`` (recursive) at commit ``sha``."""
        api = self._api()
        try:
            entries = list(api.list_repo_tree(repo_id, path_in_repo=prefix or None, recursive=True,
                                              revision=sha, repo_type="dataset"))
        except Exception as exc:
            if type(exc).__name__ in ("EntryNotFoundError", "RemoteEntryNotFoundError"):
                return []  # the folder does not exist: nothing matches
            raise _hub_error(exc, f"hf://datasets/{repo_id}@{sha[:12]}/{prefix}", repo_id) from None
        files = []
        for entry in entries:
            size = getattr(entry, "size", None)
            if size is None:  # a folder
                continue
            lfs = getattr(entry, "lfs", None)
            sha256 = getattr(lfs, "sha256", None) if lfs is not None else None
            files.append(RemoteFile(path=entry.path, size=int(size), sha256=sha256))
        return files

    def fetch(self, repo_id: str, path: str, sha: str) -> Path:
        """The local path of ``path`` at ``sha``, downloaded into the cache unless it is there already."""
        library = self._library()
        self.fetched.append((repo_id, path, sha))
        try:
            local = library.hf_hub_download(repo_id, path, repo_type="dataset", revision=sha,
                                            cache_dir=os.fspath(self.cache), token=self.token,
                                            endpoint=self.endpoint)
        except Exception as exc:
            raise _hub_error(exc, f"hf://datasets/{repo_id}@{sha[:12]}/{path}", repo_id) from None
        return Path(local)
