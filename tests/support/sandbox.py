"""The CDS Hooks Sandbox traffic captured in ../shared/examples/sandbox, as replay fixtures.

The sandbox called demo services (py-greeter, py-rx-check, py-sign-check); `captured(name)` returns
the request with the path rewritten to the contract id that answers the same hook.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

SANDBOX_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "examples" / "sandbox"
SERVICE_FOR = {"py-greeter": "kmt2a-patient-view", "py-rx-check": "kmt2a-order-select",
               "py-sign-check": "kmt2a-order-sign"}
REQUESTS = ["discovery-get", "patient-view", "order-select-1", "order-select-2", "order-select-3",
            "order-select-4", "order-sign", "preflight-options-for-get", "preflight-options-for-post",
            "feedback-accepted", "feedback-overridden"]


@lru_cache(maxsize=None)
def _load(name: str) -> dict:
    return json.loads((SANDBOX_DIR / f"{name}.json").read_text(encoding="utf-8"))


def raw(name: str) -> dict:
    """The capture as recorded (a fresh copy)."""
    return copy.deepcopy(_load(name))


def captured(name: str) -> dict:
    """The capture with its path pointing at our service id."""
    request = raw(name)
    parts = request["path"].split("/")
    if len(parts) > 2 and parts[2] in SERVICE_FOR:
        parts[2] = SERVICE_FOR[parts[2]]
    request["path"] = "/".join(parts)
    return request


def sandbox_jwks() -> dict:
    return _load("sandbox-public-jwks")
