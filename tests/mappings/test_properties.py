"""Property tests: conversions round-trip; the ISCN and text readers and the whole mapper never raise."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings import case_from_bundle, case_from_hook_request, case_from_resources, cytogenetics, fusion_text, units
from fhir_mappings import terminology as term
from fhir_mappings.case import Case
from tests.mappings.helpers import paths

REF = date(2025, 6, 1)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UNIT_ROWS = [(r["kind"], r["unit"]) for r in term.rows("units.csv")]


@SETTINGS
@given(row=st.sampled_from(UNIT_ROWS), value=st.floats(min_value=1e-6, max_value=1e9, allow_nan=False))
def test_unit_conversion_round_trips(row, value):
    kind, unit = row
    canonical = units.to_canonical(kind, value, unit)
    assert canonical is not None
    assert units.from_canonical(kind, canonical, unit) == pytest.approx(value, rel=1e-9)


ISCN_ALPHABET = st.sampled_from(list("0123456789,;()[]/~.+-pqXYx:' ") + ["t(", "ins(", "inv(", "del(", "der(", "hsr(",
                                                                        "nuc ish", "KMT2A", "MLL", "sep", "con", "q23",
                                                                        "11", "cp", "mar", "idem", "5'", "3'"])


@SETTINGS
@given(text=st.one_of(st.text(), st.lists(ISCN_ALPHABET, max_size=40).map("".join)))
def test_iscn_parser_never_raises(text):
    result = cytogenetics.parse(text)
    assert result.abnormality_count >= 0 and result.clones >= 0
    for event in result.kmt2a_events:
        assert event.status.value in {"rearranged", "amplified", "ptd", "not-detected", "unknown"}


@SETTINGS
@given(text=st.one_of(st.text(), st.lists(st.sampled_from(["KMT2A", "MLL", "-", "::", "/", "AF4", "AFF1", "not",
                                                           "detected", "negative", "amplification", "x8~11", " ",
                                                           ";", ".", "PTD", "MLL2", "nuc ish(", ")", "p.R175H"]),
                                          max_size=30).map("".join)))
def test_fusion_text_never_raises(text):
    events, others = fusion_text.read(text)
    assert all(e.partner != "KMT2A" for e in events)
    assert all(isinstance(o[0], str) for o in others)


KEYS = ["resourceType", "id", "status", "code", "coding", "system", "display", "text", "value", "valueQuantity",
        "valueString", "valueCodeableConcept", "valueRange", "low", "high", "unit", "comparator", "component",
        "effectiveDateTime", "effectivePeriod", "start", "end", "subject", "reference", "entry", "resource",
        "fullUrl", "birthDate", "gender", "onsetDateTime", "recordedDate", "clinicalStatus", "medicationReference",
        "medicationCodeableConcept", "contained", "dosageInstruction", "doseAndRate", "doseQuantity", "timing",
        "repeat", "frequency", "period", "periodUnit", "note", "interpretation", "method", "authoredOn",
        "intent", "category", "issued", "meta", "lastUpdated", "conclusion", "ingredient", "itemCodeableConcept"]
TYPES = ["Patient", "Observation", "Condition", "MedicationRequest", "MedicationStatement", "MedicationAdministration",
         "Medication", "Bundle", "DiagnosticReport", "OperationOutcome", "Encounter", None, 7]
STRINGS = st.one_of(st.text(max_size=12), st.sampled_from([
    "http://loinc.org", "69548-6", "48018-6", "6690-2", "67128-9", "33893-9", "76634-5", "8277-6", "HGNC:7132",
    "http://www.genenames.org", "http://snomed.info/sct", "1157157006", "http://hl7.org/fhir/sid/icd-10-cm",
    "C92.62", "final", "draft", "active", "entered-in-error", "amended", "relapse", "%", "10*3/uL", "mg/m2",
    "46,XX,t(4;11)(q21;q23)[20]", "nuc ish(KMT2Ax8~11)[175/200]", "MLL-AF4", "Patient/p1", "#m", "2025-03-02",
    "2025-13-45", "282446", "2698339", "http://www.nlm.nih.gov/research/umls/rxnorm", "<", "d", "BID"]))
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), STRINGS),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(KEYS), children, max_size=6)),
    max_leaves=30,
)
RESOURCE = st.builds(lambda t, body: ({**body, "resourceType": t} if isinstance(body, dict) else body),
                     st.sampled_from(TYPES), st.one_of(st.dictionaries(st.sampled_from(KEYS), JSON, max_size=8), JSON))


@SETTINGS
@given(resources=st.lists(RESOURCE, max_size=6))
def test_mapper_never_raises_on_arbitrary_resources(resources):
    case = case_from_resources(resources, reference_date=REF)
    assert isinstance(case, Case)
    assert all(isinstance(p.message, str) for p in case.problems)


@SETTINGS
@given(body=st.one_of(JSON, st.fixed_dictionaries({
    "hook": st.sampled_from(["order-sign", "order-select", "patient-view"]),
    "context": st.fixed_dictionaries({"patientId": st.one_of(st.none(), STRINGS),
                                      "draftOrders": st.one_of(JSON, st.builds(lambda e: {"resourceType": "Bundle",
                                                                                          "entry": e}, JSON)),
                                      "selections": st.one_of(JSON, st.lists(STRINGS, max_size=3))}),
    "prefetch": st.one_of(JSON, st.dictionaries(st.text(max_size=5), RESOURCE, max_size=4))})))
def test_hook_request_never_raises(body):
    assert isinstance(case_from_hook_request(body, reference_date=REF), Case)


@SETTINGS
@given(bundle=st.one_of(JSON, st.builds(lambda t, e: {"resourceType": "Bundle", "type": t, "entry": e},
                                        st.one_of(st.none(), STRINGS), st.lists(st.fixed_dictionaries(
                                            {"resource": RESOURCE, "fullUrl": STRINGS}), max_size=5))))
def test_bundle_never_raises(bundle):
    assert isinstance(case_from_bundle(bundle, reference_date=REF), Case)


FIXTURES = ["seed_patient1_amplification_tp53.json", "seed_patient2_amplification_crlf2.json", "medications.json",
            "gr_fusion_kmt2a_aff1.json", "relapsed_aml_mcode.json", "conditions.json"]


def _mutate(document, path, new):
    if not path:
        return new
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return document


@SETTINGS
@given(data=st.data(), name=st.sampled_from(FIXTURES))
def test_mapper_never_raises_on_mutated_realistic_bundles(data, name):
    """Realistic resources with one to three elements replaced by arbitrary JSON reach the deep code paths."""
    from tests.mappings.helpers import fixture

    document = fixture(name)
    for _ in range(data.draw(st.integers(1, 3))):
        options = list(paths(document))
        path = data.draw(st.sampled_from(options))
        document = _mutate(document, path, data.draw(JSON))
    case = case_from_bundle(document, reference_date=REF)
    assert isinstance(case, Case)
