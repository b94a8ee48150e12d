"""Clinical knowledge as data: sources, rule parameters, doses. Read once, never written.

The knowledge version is derived from the content of the knowledge files and the mapper's terminology tables: a
hash of their bytes, prefixed by the date `python -m cds_service.knowledge.build` recorded for that hash in
manifest.json. Nobody bumps it by hand; a change to any file changes the hash, so issued cards and feedback rows made
under different knowledge can always be told apart.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

# A folder whose files replace the packaged ones of the same name (`kmt2a-cds diff --knowledge OLD NEW` sets it
# in the worker processes of each side, before anything is loaded).
OVERRIDE_ENV = "KMT2A_CDS_KNOWLEDGE_DIR"

MANIFEST = "manifest.json"
GENERATED = frozenset({MANIFEST, "README.md"})  # derived from the others: not part of the content hash
TERMINOLOGY = ("fhir_mappings", "terminology")
UNRELEASED = "unreleased"


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    """The parsed JSON knowledge file `name` (e.g. "sources.json") shipped in this package."""
    override = os.environ.get(OVERRIDE_ENV)
    if override and (Path(override) / name).is_file():
        return json.loads((Path(override) / name).read_text(encoding="utf-8"))
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


def _content_files() -> list[tuple[str, bytes]]:
    package, folder = TERMINOLOGY
    entries = {e.name: e for e in resources.files(__package__).iterdir()}
    override = os.environ.get(OVERRIDE_ENV)
    if override and Path(override).is_dir():  # the knowledge `load` reads is the knowledge the version names
        entries.update({p.name: p for p in Path(override).iterdir()})
    knowledge = [(f"knowledge/{name}", e) for name, e in entries.items()
                 if e.is_file() and name.endswith((".json", ".csv")) and name not in GENERATED]
    terminology = [(f"terminology/{e.name}", e) for e in resources.files(package).joinpath(folder).iterdir()
                   if e.is_file() and e.name.endswith((".json", ".csv"))]
    # Line endings normalised: a checkout with CRLF is the same knowledge.
    return sorted((name, entry.read_bytes().replace(b"\r\n", b"\n")) for name, entry in knowledge + terminology)


@lru_cache(maxsize=None)
def content_hash() -> str:
    """SHA-256 over the names and bytes of every knowledge and terminology file."""
    digest = hashlib.sha256()
    for name, data in _content_files():
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def version() -> str:
    """'2026-11-29.3f2a9c1b4d5e': the date recorded for this content, then the first 12 hex digits of its hash.
    The date reads 'unreleased' when the files changed after the manifest was last generated."""
    manifest = load(MANIFEST)
    digest = content_hash()
    date = manifest.get("date") if manifest.get("content_hash") == digest else UNRELEASED
    return f"{date}.{digest[:12]}"


def source(key: str) -> dict:
    """A citable source by key ("S9"): {"label", "kind", "url"?}. KeyError for an unknown key."""
    return load("sources.json")["sources"][key]


def load_all() -> None:
    """Read every knowledge file and hash the content now (before gunicorn forks), so no request pays for it."""
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".json"):
            load(entry.name)
    content_hash()
