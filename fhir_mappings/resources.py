"""Flatten what arrived (Bundles of any type, nested or typeless; single resources) into one pool of
resources, indexed for reference resolution, with withdrawn and superseded results removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from fhir_mappings import genomics
from fhir_mappings.access import as_list, codings, dicts, get, reference_of, relative_reference
from fhir_mappings.case import Problem

WITHDRAWN = {"entered-in-error", "cancelled"}
# Contained resources that carry results: lifted into the pool so that each is read like any other resource.
LIFTED = {"Observation", "DiagnosticReport", "Condition"}
# DiagnosticReport.status values that are no Observation.status, for a contained Observation without one.
_REPORT_TO_OBSERVATION_STATUS = {"partial": "preliminary", "appended": "amended"}
# Higher wins when two results share code and time: a correction supersedes what it corrects.
STATUS_RANK = {"amended": 4, "corrected": 4, "final": 3, "preliminary": 2, "registered": 1}


@dataclass
class Pool:
    """The patient's resources and an index for `resolve`."""

    resources: list[dict] = field(default_factory=list)
    by_reference: dict[str, dict] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    lifted: dict[int, dict] = field(default_factory=dict)  # id(contained dict) -> its copy in `resources`
    _index: dict = field(default_factory=dict, repr=False, compare=False)  # resourceType -> [(position, resource)]
    _index_state: tuple = field(default=(), repr=False, compare=False)  # (id, len) of `resources` when indexed

    def replace(self, old: dict, new: dict) -> None:
        """Put `new` wherever `old` was (a copy read with more context)."""
        self.resources = [new if r is old else r for r in self.resources]
        for key, value in list(self.by_reference.items()):
            if value is old:
                self.by_reference[key] = new
        for key, value in list(self.lifted.items()):
            if value is old:
                self.lifted[key] = new

    def of_type(self, *types: str) -> list[dict]:
        """The resources of these types, in pool order. Indexed once per state of `resources` (the mappers ask
        six times per call; on a long record each full pass costs more than the lookups it serves)."""
        state = (id(self.resources), len(self.resources))
        if self._index_state != state:
            index: dict[Any, list[tuple[int, dict]]] = {}
            for position, r in enumerate(self.resources):
                index.setdefault(r.get("resourceType"), []).append((position, r))
            self._index, self._index_state = index, state
        if len(types) == 1:
            return [r for _, r in self._index.get(types[0], ())]
        return [r for _, r in sorted(item for t in set(types) for item in self._index.get(t, ()))]

    def resolve(self, reference: Any, container: dict | None = None) -> dict | None:
        """A Reference (dict or string) -> the resource: contained ("#id"), "Type/id", a fullUrl or urn:uuid."""
        ref = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(ref, str) or not ref:
            return None
        if ref.startswith("#"):
            for c in dicts((container or {}).get("contained")):
                if c.get("id") == ref[1:]:
                    return self.lifted.get(id(c), c)
            return None
        if ref in self.by_reference:
            return self.by_reference[ref]
        return self.by_reference.get(relative_reference(ref))


def flatten(items: Iterable[Any], pool: Pool | None = None, depth: int = 0) -> Pool:
    """Add every resource found in `items` (resources, Bundles, lists of them) to a pool."""
    pool = pool or Pool()
    for item in as_list(items) if not isinstance(items, (list, tuple)) else items:
        _add(item, pool, depth, full_url=None)
    return pool


def _add(item: Any, pool: Pool, depth: int, full_url: str | None) -> None:
    if depth > 6:
        pool.problems.append(Problem("Bundle nesting too deep; inner entries ignored"))
        return
    if isinstance(item, list):
        for sub in item:
            _add(sub, pool, depth + 1, None)
        return
    if not isinstance(item, dict):
        if item is not None:
            pool.problems.append(Problem("an input item is not a FHIR resource; ignored"))
        return
    rtype = item.get("resourceType")
    if rtype == "Bundle" or (rtype is None and isinstance(item.get("entry"), list)):
        for entry in dicts(item.get("entry")):
            resource = entry.get("resource")
            url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            if isinstance(resource, dict):
                _add(resource, pool, depth + 1, url)
        return
    if rtype == "OperationOutcome":
        pool.problems.append(Problem("the EHR returned an OperationOutcome instead of data for one prefetch item"))
        return
    if not isinstance(rtype, str) or not rtype:
        pool.problems.append(Problem("an input item has no resourceType; ignored"))
        return
    if not item.get("id") and full_url and full_url.lower().startswith("urn:uuid:"):
        item = {**item, "id": full_url[9:]}  # a transaction Bundle names its entries by urn:uuid only
    pool.resources.append(item)
    ref = reference_of(item)
    if item.get("id"):
        pool.by_reference[ref] = item
    if full_url:
        pool.by_reference[full_url] = item
    try:
        _lift_contained(item, pool)
    except Exception:  # a malformed contained list: the container is still read
        pool.problems.append(Problem("contained resources could not be read; ignored", rtype))


def _lift_contained(container: dict, pool: Pool) -> None:
    """Contained results (a report's Observations sent inside it, "#obs1") join the pool as copies named
    "<container id>.<id>" that inherit what a contained resource usually leaves to its container: subject, date,
    status."""
    if "contained" not in container or _withdrawn(container):
        return  # nothing contained; or a report entered in error, which takes its contained results with it
    for c in dicts(container.get("contained")):
        rtype, cid = c.get("resourceType"), c.get("id")
        if not isinstance(rtype, str) or rtype not in LIFTED or not isinstance(cid, str):
            continue
        owner = container.get("id") if isinstance(container.get("id"), str) else "contained"
        copy = {**c, "id": f"{owner}.{cid}"[:64]}
        for key in ("subject", "effectiveDateTime", "effectivePeriod", "issued"):
            if key in container and not any(k.startswith(key[:9]) for k in c):
                copy[key] = container[key]
        if c.get("resourceType") == "Observation" and not isinstance(c.get("status"), str):
            status = container.get("status")
            copy["status"] = _REPORT_TO_OBSERVATION_STATUS.get(status, status) if isinstance(status, str) else "unknown"
        pool.lifted[id(c)] = copy
        pool.resources.append(copy)
        pool.by_reference[reference_of(copy)] = copy


def _withdrawn(resource: dict) -> bool:
    status = resource.get("status")
    if isinstance(status, str) and status in WITHDRAWN:
        return True
    if "verificationStatus" not in resource:
        return False
    verification = {c for _, c, _ in codings(resource.get("verificationStatus"))}
    return bool(verification & {"entered-in-error", "refuted"})


def _subject_id(resource: dict) -> str | None:
    for key in ("subject", "patient"):
        ref = get(resource, key, "reference")
        if isinstance(ref, str) and "Patient/" in ref:
            return ref.split("Patient/")[-1].split("/")[0]
    return None


def _result_key(resource: dict) -> tuple | None:
    if resource.get("resourceType") != "Observation":
        return None
    codes = sorted(f"{s}|{c}" for s, c, _ in codings(resource.get("code")))
    when = resource.get("effectiveDateTime") or get(resource, "effectivePeriod", "start") or resource.get("issued")
    if not codes or not isinstance(when, str):
        return None
    return (tuple(codes), when)


def _status_rank(resource: dict) -> int:
    status = resource.get("status")
    return STATUS_RANK.get(status, 0) if isinstance(status, str) else 0


def _rank(resource: dict) -> tuple:
    updated = get(resource, "meta", "lastUpdated") or resource.get("issued") or ""
    return (_status_rank(resource), updated if isinstance(updated, str) else "")


def _genes_studied(resource: dict) -> frozenset[str]:
    try:
        return frozenset(genomics.genes_studied(resource))
    except Exception:  # an odd component: treat as "about anything", as before
        return frozenset()


def _same_result(a: dict, b: dict) -> bool:
    """Two results of the same code and time are one result reported twice -- unless they are Genomics Reporting
    Variants about different genes (one report's KMT2A fusion and TP53 variant share code 69548-6 and time)."""
    genes_a, genes_b = _genes_studied(a), _genes_studied(b)
    return not (genes_a and genes_b) or bool(genes_a & genes_b)


def _superseded(resource: dict, group: list[dict]) -> bool:
    """A result is superseded by another of the same code, time and subject matter with a higher status
    (preliminary < final < amended/corrected). Two results of equal status are both kept: which one is right
    cannot be told, so a disagreement stays visible to the mappers instead of being settled silently."""
    return any(other is not resource and _status_rank(other) > _status_rank(resource) and _same_result(resource, other)
               for other in group)


def clean(pool: Pool, patient_id: str | None) -> Pool:
    """Drop withdrawn results, other patients' resources, the same resource sent twice, and superseded results."""
    kept: dict[Any, dict] = {}
    order: list[Any] = []
    for r in pool.resources:
        if _withdrawn(r):
            continue
        subject = _subject_id(r)
        if patient_id and subject and subject != patient_id and r.get("resourceType") != "Patient":
            pool.problems.append(Problem("a resource about another patient was ignored", r.get("resourceType")))
            continue
        if r.get("resourceType") == "Patient" and patient_id and r.get("id") and r.get("id") != patient_id:
            continue
        key = reference_of(r) if r.get("id") else id(r)
        if key in kept:
            if _rank(r) > _rank(kept[key]):
                kept[key] = r
            continue
        kept[key] = r
        order.append(key)
    keyed = [(kept[k], _result_key(kept[k])) for k in order]
    groups: dict[tuple, list[dict]] = {}
    for r, key in keyed:
        if key:
            groups.setdefault(key, []).append(r)
    # Only a result below the best status of its group can be superseded (a day's repeated labs, all final, are
    # the common group): the pairwise check runs for those alone.
    best = {key: max(map(_status_rank, group)) for key, group in groups.items() if len(group) > 1}
    pool.resources = [r for r, key in keyed
                      if not (key in best and _status_rank(r) < best[key] and _superseded(r, groups[key]))]
    return pool


def collect(items: Iterable[Any], patient_id: str | None = None) -> Pool:
    return clean(flatten(items), patient_id)
