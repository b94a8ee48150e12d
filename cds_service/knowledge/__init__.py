"""Clinical knowledge as data: sources, rule parameters, doses. Read once, never written."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

# A folder whose files replace the packaged ones of the same name (`kmt2a-cds diff --knowledge OLD NEW` sets it
# in the worker processes of each side, before anything is loaded).
OVERRIDE_ENV = "KMT2A_CDS_KNOWLEDGE_DIR"


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    """The parsed JSON knowledge file `name` (e.g. "sources.json") shipped in this package."""
    override = os.environ.get(OVERRIDE_ENV)
    if override and (Path(override) / name).is_file():
        return json.loads((Path(override) / name).read_text(encoding="utf-8"))
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


def version() -> str:
    """The knowledge version recorded with every issued card and assessment."""
    return load("manifest.json")["version"]


def source(key: str) -> dict:
    """A citable source by key ("S9"): {"label", "url", "tag"}. KeyError for an unknown key."""
    return load("sources.json")["sources"][key]


def load_all() -> None:
    """Read every knowledge file now (before gunicorn forks), so no request pays for it."""
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".json"):
            load(entry.name)
