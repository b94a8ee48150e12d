"""The fast pre-check never accepts what fhir.resources rejects, and flags every kind of fault it is meant to flag.

The fast check (fhir_mappings/fast_validation.py) may only say "clean" when `model.model_validate` of the read part
succeeds; when it is doubtful, fhir.resources decides as before. So the one property that matters is the implication
fast clean => fhir.resources accepts, checked here over every resource in the repository's fixtures, the benchmark's
chart generator and the sandbox examples, and over mutations of them (deterministic and generated).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import field_validator

from bench import chart as bench_chart
from fhir_mappings import fast_validation
from fhir_mappings.validation import _MODULES, _model, _read_part, validated
from tests.mappings.helpers import paths

ROOT = Path(__file__).resolve().parents[2]
SHARED_EXAMPLES = ROOT.parent / "shared" / "examples"
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the corpus: every resource of a translated type the repository holds ---------------------------------------

def _resources_in(data):
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("resourceType") in _MODULES:
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _corpus() -> list[tuple[dict, bool]]:
    found: list[dict] = []
    files = [*sorted((ROOT / "tests").rglob("*.json")), *sorted((ROOT / "demo").glob("*.json")),
             *sorted(SHARED_EXAMPLES.rglob("*.json"))]
    for path in files:
        try:
            found.extend(_resources_in(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, UnicodeDecodeError):
            continue
    for size in ("small", "typical"):
        found.extend(_resources_in(bench_chart.chart(size)))  # a translated type only (not its Procedures)
    parts, seen = [], set()
    for resource in found:
        for draft in (False, True):
            part = _read_part(resource, draft)
            key = orjson.dumps(part, option=orjson.OPT_SORT_KEYS)
            if key not in seen:
                seen.add(key)
                parts.append((part, draft))
    return parts


CORPUS = _corpus()


def fhir_accepts(part: dict, rtype: str | None = None) -> bool:
    try:
        _model(rtype or part["resourceType"]).model_validate(copy.deepcopy(part))
    except Exception:  # noqa: BLE001 -- any failure is a rejection, as in validation._validated
        return False
    return True


def fast_clean(part: dict, rtype: str | None = None) -> bool:
    """The model is the one of the type the resource was routed as (validation.validated picks it before reading)."""
    before = orjson.dumps(part) if _json_only(part) else None
    clean = fast_validation.is_clean(_model(rtype or part["resourceType"]), part)
    if before is not None:
        assert orjson.dumps(part) == before, "the fast check must not change what it checks"
    return clean


def _json_only(value) -> bool:
    try:
        orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return True


def assert_sound(part: dict, rtype: str) -> None:
    if fast_clean(part, rtype):
        assert fhir_accepts(part, rtype), f"fast check accepted what fhir.resources rejects: {json.dumps(part)[:600]}"


def test_the_corpus_is_the_whole_repository():
    types = {part["resourceType"] for part, _ in CORPUS}
    assert len(CORPUS) > 300 and types == set(_MODULES)


def test_every_fixture_resource_fast_clean_only_when_fhir_resources_accepts_it():
    for part, _draft in CORPUS:
        assert_sound(part, part["resourceType"])


def test_the_resources_of_typical_charts_take_the_fast_path():
    """Not a clinical property but the reason the module exists: what the benchmark's chart and the demo charts
    send, fhir.resources accepts, and so does the fast check (if this fails, fhir_core changed under it)."""
    resources = bench_chart.chart("typical")
    for path in sorted((ROOT / "demo").glob("kmt2a-demo-*.json")):
        resources += list(_resources_in(json.loads(path.read_text(encoding="utf-8"))))
    parts = [_read_part(r) for r in resources if r.get("resourceType") in _MODULES]
    accepted = [p for p in parts if fhir_accepts(p)]
    assert len(accepted) > 100
    assert [p for p in accepted if not fast_clean(p)] == []


# --- deterministic mutations: every element of each shape of resource in the corpus, replaced, removed, added to --

AWKWARD = [None, "", " ", "  x", "x  y", "a\nb", "\u00a0", "\u2003", "\ud800", 0, -1, 1.5, 10 ** 30, -(10 ** 19),
           float("nan"), float("inf"), True, False, "true", "4.2", "1e400", [], {}, [None], [{}], {"x": 1},
           "2020", "2020-13", "2020-02-30", "2019-02-29", "2020-02-29", "2020-01-01T10:00", "2020-01-01T10:00:00",
           "2020-01-01T10:00:00Z", "2020-01-01T25:00:00Z", "2016-12-31T23:59:60Z", "2020-01-01T10:00:00+15:00",
           "2020-01-01T10:00:00.1234567891Z", "10:00:00", "24:00:00", "0000-01-01", "urn:oid:1.2.3",
           "a" * 300, "SGVsbG8=", "SGVsbG8", "ÄÖ", {"reference": "Patient/p1"}, {"coding": [{"code": "x"}]},
           {"value": 1, "unit": "mg"}, {"extension": [{"url": "http://x"}]}]


def _replaced(part: dict, path: tuple, new) -> dict:
    out = copy.deepcopy(part)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = copy.deepcopy(new)
    return out


def _without(part: dict, path: tuple) -> dict:
    out = copy.deepcopy(part)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return out


def _shapes() -> list[dict]:
    by_shape: dict[tuple, dict] = {}
    for part, _ in CORPUS:  # one resource per (type, element set): the sweep sees every shape in the repository
        by_shape.setdefault((part["resourceType"], tuple(sorted(part))), part)
    return list(by_shape.values())


@pytest.mark.parametrize("part", _shapes(), ids=lambda p: f"{p['resourceType']}-{p.get('id', '')}"[:60])
def test_no_single_awkward_value_anywhere_is_accepted_wrongly(part):
    for path in list(paths(part))[1:]:
        for new in AWKWARD:
            assert_sound(_replaced(part, path, new), part["resourceType"])
        assert_sound(_without(part, path), part["resourceType"])
    for path in paths(part):
        for name, value in ADDITIONS.items():
            assert_sound(_added(part, path, name, value), part["resourceType"])


# Elements that are well-formed on their own: added beside what is there, only a rule about the whole (one value[x],
# no unknown element, no resourceType in a datatype) can reject them.
ADDITIONS = {"valueString": "x", "valueBoolean": True, "valueInteger": 1, "valueQuantity": {"value": 1},
             "valueCodeableConcept": {"text": "x"}, "valueDateTime": "2020", "valuePeriod": {"start": "2020"},
             "effectiveDateTime": "2020", "effectivePeriod": {"start": "2020"}, "onsetDateTime": "2020",
             "onsetString": "x", "abatementString": "x", "medicationReference": {"reference": "Medication/m"},
             "medicationCodeableConcept": {"text": "x"}, "deceasedBoolean": False, "multipleBirthInteger": 2,
             "foo": "x", "resourceType": "Observation", "fhir_comments": "x", "id": "x",
             "extension": [{"url": "http://example.org/x", "valueString": "x"}]}


def _added(part: dict, path: tuple, name: str, value) -> dict:
    out = copy.deepcopy(part)
    target = out
    for key in path:
        target = target[key]
    if isinstance(target, dict):
        target[name] = copy.deepcopy(value)
    return out


# --- generated mutations ----------------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                    st.sampled_from(AWKWARD[:45]))
JSON = st.recursive(SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                    st.dictionaries(st.sampled_from(
                                                        ["url", "value", "code", "system", "extension", "valueString",
                                                         "valueCode", "valueBoolean", "valueQuantity", "unit", "id",
                                                         "coding", "text", "reference", "display", "x"]),
                                                        kids, max_size=4)), max_leaves=8)
ELEMENT_NAMES = ["foo", "_status", "status__ext", "fhir_comments", "resourceType", "resource_type", "valueString",
                 "valueBoolean", "valueInteger", "valueQuantity", "valueCodeableConcept", "valueDateTime",
                 "effectiveDateTime", "effectivePeriod", "onsetDateTime", "onsetString", "medicationReference",
                 "medicationCodeableConcept", "extension", "modifierExtension", "id", "text", "coding", "value",
                 "contained", "issued", "_issued"]
EXTENSIONS = st.recursive(
    st.fixed_dictionaries({"url": st.sampled_from(["http://example.org/x", "", "x y", 5])},
                          optional={"valueString": SCALARS, "valueCode": SCALARS, "valueDecimal": SCALARS,
                                    "valueDateTime": SCALARS, "valueQuantity": JSON, "id": SCALARS}),
    lambda kids: st.fixed_dictionaries({"url": st.just("http://example.org/nested"), "extension": st.lists(kids,
                                                                                                      max_size=3)}),
    max_leaves=6)


@st.composite
def mutated(draw) -> tuple[dict, str]:
    part = copy.deepcopy(draw(st.sampled_from([p for p, _ in CORPUS])))
    rtype = part["resourceType"]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        options = list(paths(part))
        path = draw(st.sampled_from(options))
        target = part
        for key in path:
            target = target[key]
        kind = draw(st.sampled_from(["replace", "delete", "add", "unwrap", "wrap", "extension", "contained"]))
        if kind == "replace" and path:
            part = _replaced(part, path, draw(JSON))
        elif kind == "delete" and path:
            part = _without(part, path)
        elif kind == "add" and isinstance(target, dict):
            target[draw(st.sampled_from(ELEMENT_NAMES))] = copy.deepcopy(draw(JSON))
        elif kind == "unwrap" and path and isinstance(target, list) and target:
            part = _replaced(part, path, target[0])
        elif kind == "wrap" and path and not isinstance(target, list):
            part = _replaced(part, path, [target])
        elif kind == "extension" and isinstance(target, dict):
            present = target.get("extension")
            target["extension"] = (present if isinstance(present, list) else []) + [copy.deepcopy(draw(EXTENSIONS))]
        elif kind == "contained":
            part["contained"] = [copy.deepcopy(draw(st.sampled_from([p for p, _ in CORPUS])))]
    return part, rtype


@SETTINGS
@given(case=mutated())
def test_generated_mutations_are_never_accepted_wrongly(case):
    assert_sound(*case)


# --- every primitive, fed generated values through an element the mappers read ----------------------------------

def _observation(**elements) -> dict:
    base = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "WBC"}}
    return {**base, **elements}


YEARS = st.integers(min_value=0, max_value=10000).map(lambda y: f"{y:04d}")
TWO = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")
DATES = st.builds(lambda y, m, d: f"{y}-{m}-{d}", YEARS, TWO, TWO)
FRACTION = st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=12).map(lambda s: "." + s))
ZONES = st.one_of(st.sampled_from(["Z", "", "+00:00", "-00:00", "+14:00", "-14:00", "+14:01", "+13:59", "+24:00"]),
                  st.builds(lambda s, h, m: f"{s}{h}:{m}", st.sampled_from("+-"), TWO, TWO))
CLOCKS = st.builds(lambda h, m, s, f: f"{h}:{m}:{s}{f}", TWO, TWO, TWO, FRACTION)
DATETIMES = st.builds(lambda d, c, z: f"{d}T{c}{z}", DATES, CLOCKS, ZONES)
TEXTS = st.one_of(st.text(max_size=8), st.text(st.characters(codec="utf-8"), max_size=4),
                  st.sampled_from(AWKWARD[:45]))
NUMBERS = st.one_of(st.integers(), st.floats(), st.integers(min_value=-(2 ** 64), max_value=2 ** 64),
                    st.booleans(), st.sampled_from(["1", "0.5", "-0", "1e3", ".5", "1.", ""]))
SLOTS = {
    "date": lambda v: {"resourceType": "Patient", "id": "p1", "birthDate": v},
    "dateTime": lambda v: _observation(effectiveDateTime=v),
    "instant": lambda v: _observation(issued=v),
    "time": lambda v: _observation(valueTime=v),
    "decimal": lambda v: _observation(valueQuantity={"value": v}),
    "integer": lambda v: _observation(valueInteger=v),
    "positiveInt": lambda v: {"resourceType": "MedicationRequest", "id": "m1", "status": "active",
                              "intent": "order", "medicationCodeableConcept": {"text": "x"}, "subject": {"reference": "Patient/p1"},
                              "dispenseRequest": {"validityPeriod": {"start": "2020"}, "numberOfRepeatsAllowed": v}},
    "unsignedInt": lambda v: {"resourceType": "DiagnosticReport", "id": "d1", "status": "final",
                              "code": {"text": "x"}, "presentedForm": [{"size": v}]},
    "boolean": lambda v: _observation(valueBoolean=v),
    "code": lambda v: _observation(code={"coding": [{"code": v}]}),
    "id": lambda v: {"resourceType": "Patient", "id": v},
    "uri": lambda v: _observation(code={"coding": [{"system": v}]}),
    "url": lambda v: {"resourceType": "DiagnosticReport", "id": "d1", "status": "final", "code": {"text": "x"},
                      "presentedForm": [{"url": v}]},
    "string": lambda v: _observation(valueString=v),
    "markdown": lambda v: _observation(note=[{"text": v}]),
    "base64Binary": lambda v: {"resourceType": "DiagnosticReport", "id": "d1", "status": "final",
                               "code": {"text": "x"}, "presentedForm": [{"data": v}]},
}
VALUES = st.one_of(DATES, DATETIMES, CLOCKS, YEARS, st.builds(lambda y, m: f"{y}-{m}", YEARS, TWO), TEXTS, NUMBERS,
                   st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n ", max_size=12))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slot=st.sampled_from(sorted(SLOTS)), value=VALUES)
def test_generated_primitives_are_never_accepted_wrongly(slot, value):
    part = SLOTS[slot](value)
    assert_sound(part, part["resourceType"])


def test_the_primitive_slots_accept_good_values_fast():
    good = {"date": "2020-02-29", "dateTime": "2020-02-29T23:59:59.123+14:00", "instant": "2020-01-01T00:00:00Z",
            "time": "10:00:00", "decimal": 4.2, "integer": -3, "positiveInt": 1, "unsignedInt": 0,
            "boolean": False, "code": "a b", "id": "A-1.b", "uri": "http://loinc.org", "url": "https://x/y",
            "string": "x", "markdown": "**x**", "base64Binary": "SGVsbG8="}
    for slot, value in good.items():
        part = SLOTS[slot](value)
        assert fhir_accepts(part) and fast_clean(part), slot


# --- each fault class is flagged (the fast check says doubtful, fhir.resources decides) ---------------------------

WBC = {"resourceType": "Observation", "id": "wbc-1", "status": "final",
       "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
       "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2025-05-01T08:00:00Z",
       "issued": "2025-05-01T10:00:00.000Z", "valueQuantity": {"value": 4.2, "unit": "10*3/uL"},
       "note": [{"text": "hemolysed"}]}


def _wbc(**changes) -> dict:
    out = copy.deepcopy(WBC)
    for key, value in changes.items():
        if value is ...:
            del out[key]
        else:
            out[key] = value
    return out


FAULTS = {
    "unknown element": _wbc(foo="bar"),
    "unknown element deep": _wbc(code={"coding": [{"code": "6690-2", "colour": "red"}]}),
    "element by its Python name": _wbc(status__ext={"extension": [{"url": "http://x", "valueString": "y"}]}),
    "fhir_comments": _wbc(fhir_comments="hello"),
    "resourceType inside a datatype": _wbc(code={"resourceType": "CodeableConcept", "text": "WBC"}),
    "text where a number belongs": _wbc(valueQuantity={"value": "4.2"}),
    "number where text belongs": _wbc(code={"text": 42}),
    "boolean where an integer belongs": _wbc(valueQuantity=..., valueInteger=True),
    "integer out of range": _wbc(valueQuantity=..., valueInteger=2 ** 31),
    "huge decimal": _wbc(valueQuantity={"value": 10 ** 30}),
    "NaN decimal": _wbc(valueQuantity={"value": float("nan")}),
    "infinite decimal": _wbc(valueQuantity={"value": float("inf")}),
    "single object where an array belongs": _wbc(code={"coding": {"code": "6690-2"}}),
    "array where a single object belongs": _wbc(code=[{"text": "WBC"}]),
    "empty array": _wbc(note=[]),
    "null element": _wbc(subject=None),
    "null in an array": _wbc(note=[None]),
    "empty string": _wbc(code={"text": ""}),
    "whitespace-only string": _wbc(code={"text": "\u000b"}),
    "code with double space": _wbc(code={"coding": [{"code": "6690  2"}]}),
    "code with a trailing newline": _wbc(code={"coding": [{"code": "6690-2\n"}]}),
    "id with a space": _wbc(id="wbc 1"),
    "id too long": _wbc(id="x" * 256),
    "missing required primitive": _wbc(status=...),
    "missing required complex": _wbc(code=...),
    "required primitive by extension only": _wbc(status=..., _status={"extension": [{"url": "http://x",
                                                                                      "valueCode": "unknown"}]}),
    "two value[x]": _wbc(valueString="4.2"),
    "two effective[x]": _wbc(effectivePeriod={"start": "2025-05-01"}),
    "instant without seconds": _wbc(issued="2025-05-01T10:00Z"),
    "instant as a date": _wbc(issued="2025-05-01"),
    "instant without zone": _wbc(issued="2025-05-01T10:00:00"),
    "dateTime with time but no zone": _wbc(effectiveDateTime="2025-05-01T08:00:00"),
    "impossible date": _wbc(effectiveDateTime="2025-02-30"),
    "month 13": _wbc(effectiveDateTime="2025-13"),
    "hour 24": _wbc(effectiveDateTime="2025-05-01T24:00:00Z"),
    "leap second": _wbc(issued="2016-12-31T23:59:60Z"),
    "zone beyond 14 hours": _wbc(effectiveDateTime="2025-05-01T08:00:00+15:00"),
    "extension without url": _wbc(extension=[{"valueString": "x"}]),
    "deep extension with two value[x]": _wbc(code={"text": "WBC", "extension": [
        {"url": "http://x", "extension": [{"url": "http://y", "valueString": "a", "valueCode": "b"}]}]}),
    "deep extension with a bad date": _wbc(subject={"reference": "Patient/p1", "extension": [
        {"url": "http://x", "extension": [{"url": "http://y", "valueDate": "2025-02-31"}]}]}),
    "empty primitive extension": _wbc(_issued={}),
    "contained resource of an untranslated type": {
        "resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
        "medicationReference": {"reference": "#p"}, "contained": [{"resourceType": "Patient", "id": "p"}]},
    "contained resource without resourceType": {
        "resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
        "medicationReference": {"reference": "#m"}, "contained": [{"id": "m", "code": {"text": "x"}}]},
    "contained Medication with a bad element": {
        "resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
        "medicationReference": {"reference": "#m"},
        "contained": [{"resourceType": "Medication", "id": "m", "code": {"text": "x"}, "form": "tablet"}]},
    "base64 that does not decode": {"resourceType": "DiagnosticReport", "id": "d1", "status": "final",
                                    "code": {"text": "x"}, "presentedForm": [{"data": "SGVsbG8"}]},
    "draft order without intent": {"resourceType": "MedicationRequest", "id": "m1", "status": "draft",
                                   "medicationCodeableConcept": {"text": "x"}},
}


def test_the_unfaulted_observation_is_clean():
    assert fhir_accepts(WBC) and fast_clean(WBC)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_class_is_flagged(fault):
    assert not fast_clean(FAULTS[fault])


def test_a_resource_sent_as_another_type_is_flagged():
    assert not fast_clean({**WBC, "resourceType": "Condition"}, "Observation")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_flagged_resource_gets_the_verdict_fhir_resources_gives(fault):
    """The fallback is the unchanged fhir.resources path: skipped, repaired or read leniently, as before."""
    part = FAULTS[fault]
    readable, problems = validated(copy.deepcopy(part), draft=part["resourceType"] == "MedicationRequest")
    assert (readable is not None and problems == []) == fhir_accepts(_read_part(part, True))


def test_a_valid_contained_medication_is_clean():
    order = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
             "medicationReference": {"reference": "#m"}, "subject": {"reference": "Patient/p1"},
             "contained": [{"resourceType": "Medication", "id": "m", "code": {"text": "revumenib"},
                            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}]}
    assert fhir_accepts(order) and fast_clean(order)


def test_a_model_with_a_validator_the_check_does_not_know_is_always_doubtful():
    """If fhir.resources ever adds Python-level checks, the fast check must stop accepting, not guess."""
    from fhir.resources.R4B.observation import Observation

    class StricterObservation(Observation):
        @field_validator("status")
        @classmethod
        def only_final(cls, value):
            if value != "final":
                raise ValueError("not final")
            return value

    assert fast_validation.is_clean(Observation, WBC)
    assert not fast_validation.is_clean(StricterObservation, WBC)
