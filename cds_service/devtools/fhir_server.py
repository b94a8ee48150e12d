"""A small in-memory FHIR R4 server for loopback demos and tests: what the CDS Hooks Sandbox and our prefetch use.

    store = FhirStore()
    store.load_bundle(json.load(open("demo/infant-all.json")))   # transaction, batch, collection or searchset
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
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit

log = logging.getLogger("kmt2a_cds.devtools.fhir")
FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json; charset=utf-8"
DEFAULT_COUNT, MAX_COUNT = 100, 1000
# Where a resource keeps the date its `date` search parameter (and the R4 aliases) compare against, in order.
DATE_FIELDS = ("effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued", "onsetDateTime",
               "onsetPeriod.start", "recordedDate", "authoredOn", "occurrenceDateTime", "dateAsserted",
               "period.start", "date")
DATE_PARAMS = {"date", "onset-date", "recorded-date", "authoredon", "effective", "issued", "effective-time"}
# Token parameters: the field(s) each one reads. `code` of a medication resource is its medication concept.
TOKEN_FIELDS = {"category": ("category",), "code": ("code", "medicationCodeableConcept"), "status": ("status",),
                "clinical-status": ("clinicalStatus",), "gender": ("gender",), "intent": ("intent",)}
REFERENCE_PARAMS = {"patient", "subject"}
PATIENT_STRING_PARAMS = {"name", "family", "given"}
_PREFIX = re.compile(r"^(eq|ne|lt|le|gt|ge)(?=\d)")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class FhirError(Exception):
    """An error answered as an OperationOutcome with `status`."""

    def __init__(self, status: int, code: str, text: str):
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


def operation_outcome(code: str, text: str, severity: str = "error") -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


# --- the store ------------------------------------------------------------------------------------


class FhirStore:
    """Resources by type and id, with the patient each belongs to. Thread-safe; reads never see half a write."""

    def __init__(self, resources: Iterable[dict] = ()):
        self._lock = threading.Lock()
        self._by_type: dict[str, dict[str, dict]] = {}
        for resource in resources:
            self.put(resource)

    def put(self, resource: dict) -> tuple[dict, bool]:
        """Store a copy of `resource` (an id is assigned when it has none). Returns (the stored copy, created?)."""
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirError(400, "structure", "Not a FHIR resource (no resourceType).")
        rid = resource.get("id")
        if rid is None:
            rid = str(uuid.uuid4())
            resource = {**resource, "id": rid}
        if not isinstance(rid, str) or not _ID.match(rid):
            raise FhirError(400, "value", "Resource id must match [A-Za-z0-9-.]{1,64}.")
        meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
        resource = {**resource, "meta": {**meta, "lastUpdated": datetime.now(timezone.utc).isoformat(timespec="seconds")}}
        with self._lock:
            table = self._by_type.setdefault(resource["resourceType"], {})
            created = rid not in table
            table[rid] = resource
        return resource, created

    def read(self, rtype: str, rid: str) -> dict | None:
        return self._by_type.get(rtype, {}).get(rid)

    def all(self, rtype: str) -> list[dict]:
        with self._lock:
            return list(self._by_type.get(rtype, {}).values())

    def types(self) -> list[str]:
        return sorted(self._by_type)

    def count(self, rtype: str) -> int:
        return len(self._by_type.get(rtype, {}))

    def search(self, rtype: str, params: dict[str, list[str]]) -> tuple[list[dict], dict[str, list[str]]]:
        """(matching resources in id order, the parameters that were applied)."""
        used = {name: values for name, values in params.items() if _is_supported(rtype, name)}
        hits = [r for r in self.all(rtype) if all(_matches(r, name, values) for name, values in used.items())]
        return sorted(hits, key=lambda r: r["id"]), used

    def fetch(self, relative: str) -> dict | None:
        """What `GET {base}/{relative}` answers, without HTTP: a resource (None if unknown) or a searchset Bundle
        of every match (one page). `kmt2a-cds cards` fills a service's prefetch from a Bundle with it."""
        path, _, query = relative.partition("?")
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and not query:
            return self.read(parts[0], parts[1])
        hits, _ = self.search(parts[0], parse_qs(query))
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(hits)}
        return bundle | ({"entry": [{"resource": r} for r in hits]} if hits else {})

    def load_bundle(self, bundle: dict) -> dict:
        """Apply a transaction or batch Bundle (or store the entries of any other Bundle type).

        Returns the transaction-response / batch-response Bundle. urn:uuid fullUrls of created resources are
        replaced everywhere in the Bundle by `Type/id`, as a FHIR server does."""
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise FhirError(400, "structure", "Expected a Bundle.")
        entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
        resources, aliases = [], {}
        for entry in entries:
            resource, request = dict(entry["resource"]), entry.get("request") or {}
            method, url = str(request.get("method", "PUT")).upper(), str(request.get("url", ""))
            if method == "PUT" and "/" in url:
                resource["id"] = url.split("?")[0].rstrip("/").split("/")[-1]
            elif method == "POST" or not resource.get("id"):
                resource["id"] = str(uuid.uuid4())
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url.startswith("urn:"):
                aliases[full_url] = f"{resource.get('resourceType')}/{resource['id']}"
            resources.append(resource)
        for resource in resources:  # all or nothing: check every entry before storing any
            if not isinstance(resource.get("resourceType"), str) or not _ID.match(str(resource["id"])):
                raise FhirError(400, "invalid", "A Bundle entry has no resourceType or an invalid id; nothing stored.")
        response = []
        for resource in resources:
            stored, created = self.put(_rewrite_references(resource, aliases))
            location = f"{stored['resourceType']}/{stored['id']}"
            response.append({"response": {"status": "201 Created" if created else "200 OK", "location": location}})
        kind = "batch-response" if bundle.get("type") == "batch" else "transaction-response"
        return {"resourceType": "Bundle", "type": kind, "entry": response}

    def load_path(self, path: Path) -> int:
        """Load every Bundle or resource in a JSON file, or in the *.json files of a folder. Returns the count."""
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        loaded = 0
        for file in files:
            document = json.loads(file.read_text(encoding="utf-8"))
            if document.get("resourceType") == "Bundle":
                loaded += len(self.load_bundle(document)["entry"])
            elif "resourceType" in document:
                self.put(document)
                loaded += 1
        return loaded


def _rewrite_references(value: Any, aliases: dict[str, str]) -> Any:
    if not aliases:
        return value
    if isinstance(value, dict):
        return {k: (aliases.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite_references(v, aliases))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite_references(v, aliases) for v in value]
    return value


# --- search matching ------------------------------------------------------------------------------


def _is_supported(rtype: str, name: str) -> bool:
    base = name.split(":")[0]
    if base == "_id":
        return True
    if rtype == "Patient":
        return base in PATIENT_STRING_PARAMS | {"gender", "birthdate", "identifier"}
    return base in REFERENCE_PARAMS | DATE_PARAMS | set(TOKEN_FIELDS)


def _matches(resource: dict, name: str, values: list[str]) -> bool:
    """AND over repeated parameters, OR over the comma-separated values of one."""
    base, _, modifier = name.partition(":")
    return all(any(_match_one(resource, base, modifier, v) for v in value.split(",")) for value in values)


def _match_one(resource: dict, name: str, modifier: str, value: str) -> bool:
    if name == "_id":
        return resource.get("id") == value
    if name in REFERENCE_PARAMS:
        return _patient_id(resource) == value.rstrip("/").split("/")[-1]
    if name in DATE_PARAMS or name == "birthdate":
        field = resource.get("birthDate") if name == "birthdate" else _first_date(resource)
        return isinstance(field, str) and _date_matches(field, value)
    if name == "identifier":
        system, bar, wanted = value.rpartition("|")
        return any(i.get("value") == wanted and (not bar or i.get("system") == system)
                   for i in resource.get("identifier") or [] if isinstance(i, dict))
    if name in PATIENT_STRING_PARAMS:
        return value.lower() in _name_words(resource, name)
    if name in TOKEN_FIELDS:
        return any(_token_matches(concept, modifier, value)
                   for field in TOKEN_FIELDS[name] for concept in _as_list(resource.get(field)))
    return True


def _patient_id(resource: dict) -> str | None:
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for field in ("subject", "patient"):
        ref = resource.get(field)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str) and "Patient/" in ref["reference"]:
            return ref["reference"].rstrip("/").split("/")[-1]
    return None


def _first_date(resource: dict) -> str | None:
    for path in DATE_FIELDS:
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    return None


def _date_matches(field: str, param: str) -> bool:
    """Compare at the precision of the parameter (2026, 2026-11, 2026-11-02; a time part is cut to the day)."""
    prefix = _PREFIX.match(param)
    op = prefix.group(1) if prefix else "eq"
    wanted = param[prefix.end():] if prefix else param
    wanted = wanted[:10]
    have = field[: len(wanted)]
    return {"eq": have == wanted, "ne": have != wanted, "lt": have < wanted, "le": have <= wanted,
            "gt": have > wanted, "ge": have >= wanted}[op]


def _token_matches(concept: Any, modifier: str, value: str) -> bool:
    if isinstance(concept, str):  # a code-typed field such as status or gender
        return concept == value.rpartition("|")[2]
    if not isinstance(concept, dict):
        return False
    if modifier == "text":
        words = " ".join([str(concept.get("text", ""))] + [str(c.get("display", "")) for c in concept.get("coding") or []
                                                            if isinstance(c, dict)])
        return value.lower() in words.lower()
    system, bar, code = value.rpartition("|")
    for coding in concept.get("coding") or []:
        if not isinstance(coding, dict):
            continue
        if bar and system and coding.get("system") != system:
            continue
        if bar and not system and coding.get("system"):
            continue  # "|code": a coding without a system
        if not code or coding.get("code") == code:
            return True
    return False


def _name_words(resource: dict, which: str) -> str:
    parts = []
    for name in resource.get("name") or []:
        if not isinstance(name, dict):
            continue
        if which in ("name", "family"):
            parts.append(str(name.get("family", "")))
        if which in ("name", "given"):
            parts.extend(str(g) for g in name.get("given") or [])
        if which == "name":
            parts.append(str(name.get("text", "")))
    return " ".join(parts).lower()


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


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
