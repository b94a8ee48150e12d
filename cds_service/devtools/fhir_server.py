"""A small in-memory FHIR R4 server for loopback demos and tests: what the CDS Hooks Sandbox and our prefetch use.

    store = FhirStore()                                           # cds_service.devtools.fhir_store
    store.load_path(Path("demo"))                                 # transaction, batch, collection or searchset
    with FhirServer(store, port=0) as fhir:                       # 127.0.0.1 only
        fhir.base                                                 # "http://127.0.0.1:<port>/fhir"

    python -m cds_service.devtools.fhir_server --port 8090 demo/     # the same from the shell

Supported (the subset the sandbox and `hooks.json` prefetch templates use, plus what a developer tries by hand):
- `GET /metadata`: a CapabilityStatement with `fhirVersion` 4.0.1 (the sandbox checks it);
- read `GET /{Type}/{id}`; create `POST /{Type}`, update `PUT /{Type}/{id}`; `POST /` a transaction or batch Bundle
  (urn:uuid fullUrls and the references to them are rewritten to the ids the server assigns);
- search by GET or `POST /{Type}/_search` (form body, as the sandbox sends it): `_id`, `patient`/`subject`,
  `category`, `code`, `status` (tokens: `system|code`, `code`, `|code`, `system|`; comma = OR, repeated = AND; the
  `:text` modifier), `date` and its aliases (`onset-date`, `authoredon`, ...) with the prefixes eq ne lt le gt ge
  at the precision given, for Patient also `name`, `family`, `given`, `gender`, `birthdate`, `identifier`;
  `_count` with `link[next]` paging, `_summary=count`. Unknown parameters are ignored, as FHIR's lenient handling
  allows, and left out of the `self` link so a client can tell.
- CORS for any origin (a loopback demo server: it has no access control and holds synthetic data only).

Not a general FHIR server: no history, versioning, chaining, _include or validation. Data lives in memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cds_service.devtools.fhir_store import FHIR_VERSION, FhirError, FhirStore, operation_outcome

log = logging.getLogger("kmt2a_cds.devtools.fhir")
FHIR_JSON = "application/fhir+json; charset=utf-8"
DEFAULT_COUNT, MAX_COUNT = 100, 1000


# --- HTTP -----------------------------------------------------------------------------------------


def capability_statement(store: FhirStore) -> dict:
    search = [{"name": n, "type": t} for n, t in (("_id", "token"), ("patient", "reference"), ("subject", "reference"),
                                                  ("category", "token"), ("code", "token"), ("status", "token"),
                                                  ("date", "date"))]
    types = sorted(set(store.types()) | {"Patient", "Condition", "Observation", "DiagnosticReport", "MedicationRequest",
                                         "MedicationStatement", "MedicationAdministration"})
    return {
        "resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "date": "2026-11-29",
        "fhirVersion": FHIR_VERSION, "format": ["application/fhir+json", "json"],
        "software": {"name": "kmt2a-cds demo FHIR server"},
        "implementation": {"description": "In-memory loopback FHIR R4 server for demos; synthetic data only"},
        "rest": [{"mode": "server", "interaction": [{"code": "transaction"}, {"code": "batch"}],
                  "resource": [{"type": t, "interaction": [{"code": c} for c in ("read", "search-type", "create", "update")],
                                "searchParam": search} for t in types]}],
    }


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # else ~40 ms stalls per keep-alive request (Nagle + delayed ACK)
    protocol_version = "HTTP/1.1"
    server_version = "kmt2a-cds-demo-fhir"

    def log_message(self, fmt: str, *args) -> None:
        pass  # the query holds patient ids: logged by _log with the path only

    # every verb goes through _serve, which turns FhirError into an OperationOutcome
    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._serve(self._post)

    def do_PUT(self) -> None:  # noqa: N802
        self._serve(self._put)

    def do_OPTIONS(self) -> None:  # noqa: N802 - CORS preflight
        self._send(204, None)

    @property
    def app(self) -> "FhirServer":
        return self.server.owner  # type: ignore[attr-defined]

    def _serve(self, handler) -> None:
        try:
            split = urlsplit(self.path)
            path = split.path
            if not (path == self.app.base_path or path.startswith(self.app.base_path + "/")):
                raise FhirError(404, "not-found", f"FHIR base is {self.app.base_path}")
            parts = [p for p in path[len(self.app.base_path):].split("/") if p]
            status, body, headers = handler(parts, parse_qs(split.query, keep_blank_values=False))
        except FhirError as error:
            status, body, headers = error.status, operation_outcome(error.code, error.text), {}
        except Exception:  # noqa: BLE001 - a demo server answers 500 with an OperationOutcome, never a traceback
            log.exception("demo FHIR server error on %s", self.command)
            status, body, headers = 500, operation_outcome("exception", "Internal error."), {}
        self._send(status, body, headers)
        if self.app.verbose:
            print(f"fhir {self.command} {urlsplit(self.path).path} -> {status}", file=sys.stderr, flush=True)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 50 * 1024 * 1024:
            raise FhirError(413, "too-long", "Request body too large.")
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> Any:
        try:
            return json.loads(self._read_body() or b"null")
        except (ValueError, UnicodeDecodeError):
            raise FhirError(400, "structure", "The body is not JSON.") from None

    def _get(self, parts: list[str], query: dict) -> tuple[int, Any, dict]:
        store = self.app.store
        if parts == ["metadata"]:
            return 200, capability_statement(store), {}
        if len(parts) == 1:
            return 200, self.app.searchset(parts[0], query), {}
        if len(parts) == 2:
            resource = store.read(parts[0], parts[1])
            if resource is None:
                raise FhirError(404, "not-found", f"{parts[0]}/{parts[1]} is not known.")
            return 200, resource, {}
        raise FhirError(400, "not-supported", "Supported: /metadata, /{Type}, /{Type}/{id}, /{Type}/_search.")

    def _post(self, parts: list[str], query: dict) -> tuple[int, Any, dict]:
        if len(parts) == 2 and parts[1] == "_search":
            body = self._read_body().decode("utf-8", "replace")
            form = parse_qs(body, keep_blank_values=False)
            merged = {k: query.get(k, []) + form.get(k, []) for k in set(query) | set(form)}
            return 200, self.app.searchset(parts[0], merged), {}
        if not parts:
            return 200, self.app.store.load_bundle(self._json_body()), {}
        if len(parts) == 1:
            resource = self._json_body()
            if not isinstance(resource, dict) or resource.get("resourceType") != parts[0]:
                raise FhirError(400, "invalid", f"Body must be a {parts[0]} resource.")
            resource.pop("id", None)
            stored, _ = self.app.store.put(resource)
            return 201, stored, {"Location": f"{self.app.base}/{parts[0]}/{stored['id']}"}
        raise FhirError(400, "not-supported", "POST to /, /{Type} or /{Type}/_search.")

    def _put(self, parts: list[str], query: dict) -> tuple[int, Any, dict]:
        resource = self._json_body()
        if len(parts) != 2 or not isinstance(resource, dict) or resource.get("resourceType") != parts[0]:
            raise FhirError(400, "invalid", "PUT /{Type}/{id} with a resource of that type.")
        resource["id"] = parts[1]
        stored, created = self.app.store.put(resource)
        return (201 if created else 200), stored, {}

    def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        origin = self.headers.get("Origin")
        self.send_header("Access-Control-Allow-Origin", origin or "*")
        if origin:
            self.send_header("Vary", "Origin")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
        self.send_header("Access-Control-Allow-Headers",
                         self.headers.get("Access-Control-Request-Headers") or "Authorization, Content-Type, Accept")
        self.send_header("Access-Control-Expose-Headers", "Location, Content-Location")
        self.send_header("Access-Control-Max-Age", "600")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", FHIR_JSON)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (a prefetch deadline) closes its socket: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FhirServer:
    """The store served over HTTP on 127.0.0.1:`port` (0: any free port), under `base_path`."""

    def __init__(self, store: FhirStore, port: int = 0, base_path: str = "/fhir", verbose: bool = False):
        self.store, self.base_path, self.verbose = store, base_path.rstrip("/"), verbose
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}{self.base_path}"
        self._thread: threading.Thread | None = None

    def searchset(self, rtype: str, query: dict[str, list[str]]) -> dict:
        if not re.fullmatch(r"[A-Z][A-Za-z]+", rtype):
            raise FhirError(404, "not-found", f"Unknown resource type {rtype!r}.")
        params = {k: v for k, v in query.items() if not k.startswith("_") or k == "_id"}
        for name in params:
            if ":" in name and name.split(":", 1)[1] != "text":
                raise FhirError(400, "not-supported", f"Modifier of {name!r} is not supported.")
        hits, used = self.store.search(rtype, params)
        count = _count(query)
        offset = _int(query.get("_offset", ["0"])[0], "_offset")
        bundle: dict = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset", "total": len(hits),
                        "link": [{"relation": "self", "url": self._url(rtype, used, count, offset)}]}
        if query.get("_summary") == ["count"]:
            return bundle
        page = hits[offset: offset + count]
        if offset + count < len(hits):
            bundle["link"].append({"relation": "next", "url": self._url(rtype, used, count, offset + count)})
        if page:
            bundle["entry"] = [{"fullUrl": f"{self.base}/{r['resourceType']}/{r['id']}", "resource": r,
                                "search": {"mode": "match"}} for r in page]
        return bundle

    def _url(self, rtype: str, used: dict, count: int, offset: int) -> str:
        pairs = [(k, v) for k, values in sorted(used.items()) for v in values] + [("_count", count)]
        if offset:
            pairs.append(("_offset", offset))
        return f"{self.base}/{rtype}?{urlencode(pairs)}"

    def start(self) -> "FhirServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="demo-fhir", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "FhirServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _count(query: dict) -> int:
    value = _int(query.get("_count", [str(DEFAULT_COUNT)])[0], "_count")
    return max(1, min(value, MAX_COUNT))


def _int(text: str, name: str) -> int:
    try:
        return max(0, int(text))
    except ValueError:
        raise FhirError(400, "value", f"{name} must be a whole number.") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cds_service.devtools.fhir_server",
                                     description="In-memory FHIR R4 server on 127.0.0.1 for demos (synthetic data only)")
    parser.add_argument("paths", nargs="*", type=Path, help="JSON Bundles or resources to load, or folders of them")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--verbose", action="store_true", help="print each request's method, path and status")
    args = parser.parse_args(argv)
    store = FhirStore()
    loaded = sum(store.load_path(p) for p in args.paths)
    server = FhirServer(store, args.port, verbose=args.verbose)
    print(f"FHIR R4 server with {loaded} resources at {server.base}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
