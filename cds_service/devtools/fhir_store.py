"""The in-memory FHIR store behind the demo FHIR server: resources by type and id, FHIR search semantics.

    store = FhirStore(resources)          # or store.load_bundle(bundle) / store.load_path(folder)
    store.search("Observation", {"patient": ["p1"], "code": ["http://loinc.org|6690-2"]})
    store.fetch("Observation?patient=p1&category=laboratory")    # what GET {base}/... answers, without HTTP

See `fhir_server` for the search parameters supported. No HTTP here: `kmt2a-cds cards` uses it directly to fill
a service's prefetch from a Bundle.
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs

FHIR_VERSION = "4.0.1"
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
