"""Loopback HTTP servers for tests: a small FHIR server and a fixed-JSON server, both recording requests.

    with FhirTestServer([patient, observation, ...], page_size=2) as fhir:
        fhir.base                      # "http://127.0.0.1:<port>/fhir"
        fhir.slow_s = 3                # every answer waits 3 s
        fhir.fail_next = [503]         # the next answer is 503, then normal answers
        fhir.status_for["Condition"] = 500                 # searches/reads of a type answer 500
        fhir.outcome_for.add("MedicationRequest")          # ... or 200 with an OperationOutcome body
        fhir.requests                  # [Recorded(method, path, query, authorization)]

FHIR server: reads `GET /fhir/{Type}/{id}` and searches `GET /fhir/{Type}?_id=&patient=&subject=&category=&code=`
(comma = OR, `system|code` or `code`), paged by `page_size` with absolute `link[next]` URLs (`_page=N`).
`JsonServer(document)` answers every GET with `document` (used as a jku endpoint that counts hits).
Both are ThreadingHTTPServer with `disable_nagle_algorithm = True` (else ~40 ms stalls per request).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterable
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict
    authorization: str | None


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    content_type = "application/fhir+json"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        owner: RecordingServer = self.server.owner  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        owner.requests.append(Recorded("GET", split.path, parse_qs(split.query), self.headers.get("Authorization")))
        self._json(*owner.answer(split.path, parse_qs(split.query)))

    def _json(self, status: int, document: dict) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that gave up (our prefetch deadline) closes the socket: expected, not worth a traceback.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LoopbackServer:
    """A threaded server on 127.0.0.1 (a free port) for a `with` block; its handler reaches it as
    `self.server.owner`."""

    handler: type[BaseHTTPRequestHandler] = _Handler

    def __init__(self):
        self._httpd = _QuietServer(("127.0.0.1", 0), self.handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class RecordingServer(LoopbackServer):
    def __init__(self):
        super().__init__()
        self.requests: list[Recorded] = []

    def answer(self, path: str, query: dict) -> tuple[int, dict]:
        raise NotImplementedError


class JsonServer(RecordingServer):
    def __init__(self, document: dict):
        super().__init__()
        self.document = document

    def answer(self, path: str, query: dict) -> tuple[int, dict]:
        return 200, self.document


def outcome(code: str, text: str) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


class FhirTestServer(RecordingServer):
    def __init__(self, resources: Iterable[dict] = (), page_size: int = 50):
        super().__init__()
        self.base = f"{self.url}/fhir"
        self.resources = list(resources)
        self.page_size = page_size
        self.slow_s = 0.0
        self.fail_next: list[int] = []
        self.status_for: dict[str, int] = {}
        self.outcome_for: set[str] = set()
        self._lock = threading.Lock()

    def answer(self, path: str, query: dict) -> tuple[int, dict]:
        if self.slow_s:
            time.sleep(self.slow_s)
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0), outcome("transient", "try again")
        parts = path.removeprefix("/fhir/").split("/")
        rtype = parts[0]
        if rtype in self.status_for:
            return self.status_for[rtype], outcome("exception", "server error")
        if rtype in self.outcome_for:
            return 200, outcome("forbidden", "not allowed")
        if len(parts) == 2:
            found = [r for r in self.resources if r["resourceType"] == rtype and r.get("id") == parts[1]]
            return (200, found[0]) if found else (404, outcome("not-found", "no such resource"))
        return 200, self._search(rtype, query)

    def _search(self, rtype: str, query: dict) -> dict:
        hits = [r for r in self.resources if r["resourceType"] == rtype and _matches(r, query)]
        page = int(query.get("_page", ["1"])[0])
        chunk = hits[(page - 1) * self.page_size: page * self.page_size]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(hits),
                  "link": [{"relation": "self", "url": f"{self.base}/{rtype}"}],
                  "entry": [{"fullUrl": f"{self.base}/{r['resourceType']}/{r['id']}", "resource": r} for r in chunk]}
        if page * self.page_size < len(hits):
            params = {k: v[0] for k, v in query.items() if k != "_page"} | {"_page": page + 1}
            bundle["link"].append({"relation": "next", "url": f"{self.base}/{rtype}?{urlencode(params)}"})
        if not bundle["entry"]:
            del bundle["entry"]
        return bundle


def _matches(resource: dict, query: dict) -> bool:
    for name, values in query.items():
        wanted = [w for v in values for w in v.split(",")]
        if name == "_id":
            if resource.get("id") not in wanted:
                return False
        elif name in ("patient", "subject"):
            ref = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
            if not any(ref in (w, f"Patient/{w}") for w in wanted):
                return False
        elif name in ("category", "code"):
            field = resource.get(name)
            concepts = field if isinstance(field, list) else [field] if field else []
            codings = [c for concept in concepts for c in concept.get("coding", [])]
            if not any(_coding_matches(c, w) for c in codings for w in wanted):
                return False
    return True


def _coding_matches(coding: dict, wanted: str) -> bool:
    system, _, code = wanted.rpartition("|")
    return coding.get("code") == code and (not system or coding.get("system") == system)
