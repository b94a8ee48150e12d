"""Prefetch as CDS Hooks 2.0 defines it: use what the EHR sent, fetch what it left out.

What a prefetch key can be when it arrives:
- absent: not attempted by the EHR -> we fetch it from `fhirServer`, but only with the EHR's token;
- `null`: the EHR has no data -> "no data", never refetched;
- an OperationOutcome: the EHR failed to get it -> unavailable (refetching would likely fail again);
- a resource or a Bundle, maybe paged (2.0 allows it): we follow `link[next]` with the EHR's token; a
  Bundle whose pages we could not all read is kept AND named unavailable, so no one reads the absence
  of a drug on page 2 as "not taking it".

Reports bring their results along: a genetics report's result that no template asked for (a local code, not in
our LOINC lists) is fetched by id, for this patient, with the same token (`_fetch_report_results`).

All fetches of one call share ONE deadline: when it passes we go on with what we have and name the
keys we could not get. URLs hold patient ids and headers hold tokens, so neither is ever logged.
No Flask here: the module is usable (and tested) on its own.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping
from urllib.parse import quote, urljoin, urlsplit

import orjson
import requests
import urllib3

from cds_service import metrics
from cds_service.hooks import limits
from cds_service.hooks.registry import TOKEN
from fhir_mappings.access import relative_reference

log = logging.getLogger("kmt2a_cds.prefetch")
RETRY_STATUSES = (502, 503, 504)
# Read an answer in small pieces: the deadline is checked between them, and with urllib3's streaming each
# piece waits at most the read timeout (a server dripping bytes cannot stretch the exchange past the deadline).
CHUNK_BYTES = 16384
# Not a template key: the results that reports list but the prefetch left out (see _fetch_report_results).
REPORT_RESULTS = "reportResults"
MAX_REPORT_RESULTS = 100  # ids in one search URL; more are named as partly fetched
USER_TOKEN_TYPES = {
    "Practitioner": "userPractitionerId",
    "PractitionerRole": "userPractitionerRoleId",
    "Patient": "userPatientId",
    "RelatedPerson": "userRelatedPersonId",
}


@dataclass(frozen=True)
class FetchSettings:
    deadline_s: float = 2.0
    connect_timeout_s: float = 1.0
    read_timeout_s: float = 2.0
    page_cap: int = 10
    workers: int = 6
    max_answer_bytes: int = 20 * 1024 * 1024  # one FHIR answer, decompressed; a larger one is not read


class AnswerRefused(ValueError):
    """A FHIR answer we will not read: past its size cap, nested too deep, badly encoded, or past the deadline."""


@dataclass
class Prefetched:
    data: dict[str, Any] = field(default_factory=dict)  # key -> resource, Bundle or None ("no data")
    unavailable: dict[str, str] = field(default_factory=dict)  # key -> why we could not get it


def token_values(context: Mapping) -> dict[str, str]:
    """Values for every 2.0 token: `context.<root primitive>` and the four user tokens (from userId)."""
    values = {f"context.{k}": str(v) for k, v in context.items() if isinstance(v, (str, int, float, bool))}
    resource_type, _, user_id = str(context.get("userId", "")).partition("/")
    if resource_type in USER_TOKEN_TYPES and user_id:
        values[USER_TOKEN_TYPES[resource_type]] = user_id
    return values


def render(template: str, context: Mapping) -> str | None:
    """The template with its tokens filled in (URL-encoded), or None if a token has no value."""
    values = token_values(context)
    missing = False

    def fill(match) -> str:
        nonlocal missing
        token = match.group(1)
        if token not in values:
            missing = True
            return ""
        # userId is itself "Type/id": keep its slash so "{{context.userId}}" stays a read.
        return quote(values[token], safe="/" if token == "context.userId" else "")

    rendered = TOKEN.sub(fill, template)
    return None if missing else rendered


def is_operation_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def resolve(templates: Mapping[str, str], request: Mapping, settings: FetchSettings) -> Prefetched:
    """Everything `templates` asks for, from the request's prefetch or (for absent keys) the FHIR server."""
    result = Prefetched()
    sent = request.get("prefetch") or {}
    absent = []
    for key in templates:
        if key not in sent:
            absent.append(key)
        elif sent[key] is None:
            result.data[key] = None
        elif is_operation_outcome(sent[key]) or not isinstance(sent[key], dict) or "resourceType" not in sent[key]:
            result.unavailable[key] = "the EHR could not provide it"
        else:
            result.data[key] = sent[key]
    deadline_at = time.monotonic() + settings.deadline_s  # one deadline for every fetch of the call
    paged = [key for key, value in result.data.items() if _next_link(value)]
    if absent or paged:
        _fetch_missing(absent, paged, templates, request, settings, result, deadline_at)
    _fetch_report_results(request, settings, result, deadline_at)
    for key, value in result.data.items():
        if _next_link(value) and key not in result.unavailable:
            # A list cut short would read as "none on the other pages": keep it, and say it is partial.
            result.unavailable[key] = "only part of it could be read (Bundle pages left unread)"
            log.info("prefetch key %s is partial: Bundle pages left unread", key)
    return result


def fhir_access(request: Mapping) -> tuple[str, str] | str:
    """(fhirServer, bearer token) when we may call the FHIR server, else the reason we may not."""
    server, auth = request.get("fhirServer"), request.get("fhirAuthorization")
    token = auth.get("access_token") if isinstance(auth, Mapping) else None
    if not isinstance(server, str) or not server or not isinstance(token, str) or not token.strip():
        return "not sent, and no FHIR server access was granted"
    patient = auth.get("patient")
    if patient and patient != request.get("context", {}).get("patientId"):
        # A token for another patient must not be used for this one.
        return "not sent, and the FHIR token is for another patient"
    return server.rstrip("/"), token


def _fetch_missing(absent, paged, templates, request, settings: FetchSettings, result: Prefetched,
                   deadline_at: float) -> None:
    """Fetch the absent keys and the remaining pages of paged Bundles the EHR sent, within the call's deadline."""
    access = fhir_access(request)
    if isinstance(access, str):
        result.unavailable.update({key: access for key in absent})
        return
    base, token = access
    jobs = {}
    workers = max(1, min(settings.workers, len(absent) + len(paged)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prefetch")
    try:
        for key in absent:
            relative = render(templates[key], request.get("context", {}))
            if relative is None:
                result.unavailable[key] = "its prefetch template has no value for a token"
                continue
            jobs[pool.submit(_fetch, base, relative, token, settings, deadline_at)] = key
            metrics.PREFETCH_FETCHES.labels(key).inc()
        for key in paged:
            jobs[pool.submit(_read_remaining_pages, base, result.data[key], token, settings, deadline_at)] = key
        done, _ = wait(jobs, timeout=max(0.0, deadline_at - time.monotonic()))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for future, key in jobs.items():
        if future not in done:
            result.unavailable[key] = f"not received from the FHIR server within {settings.deadline_s:g} s"
            continue
        ok, value = future.result()
        if ok:
            result.data[key] = value
        elif key not in result.data:  # a paged Bundle we could not complete stays, marked partial by resolve
            result.unavailable[key] = value
    for key, reason in result.unavailable.items():
        log.info("prefetch key %s unavailable: %s", key, reason)


def _fetch_report_results(request: Mapping, settings: FetchSettings, result: Prefetched, deadline_at: float) -> None:
    """The results a report lists but the prefetch left out, fetched by id, under REPORT_RESULTS.

    Our templates ask for genetics, cytogenetics and pathology reports by category whatever their code, but for
    results by LOINC code: a FISH or karyotype result under a local code reaches us only through the report that
    lists it. Fetched only with the EHR's token (and for this patient only); without access nothing is said,
    since the report's own conclusion and attachments are still read."""
    missing = missing_report_results(result.data)
    if not missing:
        return
    access = fhir_access(request)
    patient = (request.get("context") or {}).get("patientId")
    if isinstance(access, str) or not isinstance(patient, str) or not patient:
        return
    base, token = access
    ids = ",".join(quote(i, safe="") for i in missing[:MAX_REPORT_RESULTS])
    metrics.PREFETCH_FETCHES.labels(REPORT_RESULTS).inc()
    ok, value = _fetch(base, f"Observation?_id={ids}&patient={quote(patient, safe='')}", token, settings,
                       deadline_at)
    if ok and value is not None:
        result.data[REPORT_RESULTS] = value
        if len(missing) > MAX_REPORT_RESULTS:
            result.unavailable[REPORT_RESULTS] = f"only {MAX_REPORT_RESULTS} of {len(missing)} report results were fetched"
    elif not ok:
        result.unavailable[REPORT_RESULTS] = value
    if REPORT_RESULTS in result.unavailable:
        log.info("prefetch key %s unavailable: %s", REPORT_RESULTS, result.unavailable[REPORT_RESULTS])


def missing_report_results(data: Mapping[str, Any]) -> list[str]:
    """Ids of the Observations that the DiagnosticReports in `data` list as results and `data` does not hold."""
    resources = [r for value in data.values() for r in _resources_of(value)]
    held = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources if isinstance(r.get("id"), str)}
    missing: dict[str, None] = {}  # an ordered set: a list's `in` made a 5 MB body of result references quadratic
    for report in resources:
        if report.get("resourceType") != "DiagnosticReport" or not isinstance(report.get("result"), list):
            continue
        for item in report["result"]:
            ref = item.get("reference") if isinstance(item, dict) else None
            if not isinstance(ref, str) or not ref or ref.startswith(("#", "urn:")):
                continue  # contained or within the same Bundle: the mappers resolve those
            tail = relative_reference(ref)
            kind, _, rid = tail.partition("/")
            if kind == "Observation" and rid and tail not in held:
                missing[rid] = None
    return list(missing)


def _resources_of(value: Any) -> list[dict]:
    """A prefetch value's resources: the resource itself, or the entries of a Bundle."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") != "Bundle":
        return [value]
    entries = value.get("entry")
    return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)] \
        if isinstance(entries, list) else []


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json, application/json"}


def _read_remaining_pages(base: str, bundle: dict, token: str, settings: FetchSettings,
                          deadline_at: float) -> tuple[bool, Any]:
    """(True, a copy of a Bundle the EHR sent with its next pages merged) or (False, reason). Never raises.
    A copy: a worker still paging after the deadline must not change what the handler reads."""
    entries = bundle.get("entry")
    merged = {**bundle, "entry": list(entries) if isinstance(entries, list) else []}
    try:
        with requests.Session() as session:
            _follow_pages(session, base, merged, _headers(token), settings, deadline_at)
    except AnswerRefused as error:
        return False, f"its next pages were not read: {error}"
    except (requests.RequestException, ValueError) as error:
        return False, f"its next pages could not be read ({type(error).__name__})"
    return True, merged


def _fetch(base: str, relative: str, token: str, settings: FetchSettings, deadline_at: float) -> tuple[bool, Any]:
    """(True, resource or None) or (False, reason). Never raises."""
    headers = _headers(token)
    is_read = "?" not in relative
    try:
        with requests.Session() as session:
            status, value = _get_json(session, f"{base}/{relative}", headers, settings, deadline_at)
            if is_read and status in (404, 410):
                return True, None
            if status != 200:
                return False, f"the FHIR server answered {status}"
            if is_operation_outcome(value) or not isinstance(value, dict):
                return False, "the FHIR server returned an error (OperationOutcome)"
            if value.get("resourceType") == "Bundle":
                _follow_pages(session, base, value, headers, settings, deadline_at)
            return True, value
    except requests.Timeout:
        return False, f"not received from the FHIR server within {settings.deadline_s:g} s"
    except AnswerRefused as error:
        return False, f"the FHIR server's answer was not read: {error}"
    except (requests.RequestException, ValueError) as error:
        return False, f"the FHIR server could not be read ({type(error).__name__})"


def _get_json(session, url, headers, settings: FetchSettings, deadline_at: float) -> tuple[int, Any]:
    """(status, parsed JSON body or None). The body is read as a stream: decompressed by us within its cap
    (a gzip bomb costs at most the cap), abandoned when the deadline passes (a server that drips one byte a
    second cannot hold the worker), and refused when nested deeper than any FHIR resource is."""
    response = _get(session, url, headers, settings, deadline_at)
    with response:
        if response.status_code != 200:
            return response.status_code, None
        chunks = _pieces_until_deadline(response.raw, deadline_at)
        try:
            data = limits.read_capped(chunks, response.headers.get("Content-Encoding"), settings.max_answer_bytes)
            value = orjson.loads(data)
            limits.check_json_depth(data)  # on the text, as for request bodies
        except limits.TooLarge:
            raise AnswerRefused(f"larger than {settings.max_answer_bytes} bytes") from None
        except limits.TooDeep:
            raise AnswerRefused(f"nested deeper than {limits.MAX_JSON_DEPTH} levels") from None
        except limits.BadEncoding as error:
            raise AnswerRefused(str(error)) from None
        except orjson.JSONDecodeError:
            raise AnswerRefused("not JSON") from None
        return 200, value


def _pieces_until_deadline(raw, deadline_at: float) -> Iterator[bytes]:
    """The raw (still encoded) body, one socket read at a time (`read1`: a drip of one byte a second yields
    every second instead of blocking until a whole piece arrived), until the deadline passes."""
    try:
        while piece := raw.read1(CHUNK_BYTES, decode_content=False):
            if time.monotonic() > deadline_at:
                raise requests.Timeout("deadline passed while reading the answer")
            yield piece
    except urllib3.exceptions.ReadTimeoutError:
        raise requests.Timeout("no data within the read timeout") from None
    except urllib3.exceptions.HTTPError as error:
        raise requests.ConnectionError(f"the answer broke off ({type(error).__name__})") from None


def _get(session, url, headers, settings: FetchSettings, deadline_at: float) -> requests.Response:
    """GET (streamed) with connect/read timeouts bounded by the deadline, retried once on 502/503/504."""
    for attempt in (1, 2):
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise requests.Timeout("deadline passed")
        timeout = (min(settings.connect_timeout_s, remaining), min(settings.read_timeout_s, remaining))
        response = session.get(url, headers=headers, timeout=timeout, allow_redirects=False, stream=True)
        if response.status_code not in RETRY_STATUSES or attempt == 2:
            return response
        response.close()
    raise AssertionError("unreachable")


def _follow_pages(session, base, bundle: dict, headers, settings: FetchSettings, deadline_at: float) -> None:
    """Merge the entries of `link[next]` pages into `bundle`, on the same server, up to the page cap.

    A Bundle we could not complete keeps its `next` link, so a reader can tell it is partial."""
    pages = 1
    while (next_url := _next_link(bundle)) and pages < settings.page_cap:
        next_url = urljoin(base + "/", next_url)
        if not _same_server(next_url, base):
            log.warning("prefetch paging stopped: next link points to another server")
            return
        _, page = _get_json(session, next_url, headers, settings, deadline_at)
        if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
            return
        bundle.setdefault("entry", []).extend(page.get("entry") or [])
        bundle["link"] = page.get("link") or []
        pages += 1
    if not bundle.get("link"):
        bundle.pop("link", None)


def _next_link(bundle: Any) -> str | None:
    """The `link[next]` URL of a Bundle; None for anything else (links come from the EHR: any shape)."""
    links = bundle.get("link") if isinstance(bundle, dict) and bundle.get("resourceType") == "Bundle" else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


def _same_server(url: str, base: str) -> bool:
    """Whether `url` lies under the FHIR base (the token may go there): "/fhir-other" is not under "/fhir"."""
    a, b = urlsplit(url), urlsplit(base)
    under = b.path.rstrip("/") + "/"
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower()) and (
        a.path == b.path or a.path.startswith(under))
