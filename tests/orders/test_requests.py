"""The handlers on whole CDS Hooks requests (Epic-style and sandbox-style), through the real mapper.

Expected numbers come from the knowledge table and from the Case the mapper built (BSA), never typed twice.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_service import knowledge
from cds_service.hooks import protocol
from cds_service.hooks.call import HookCall
from cds_service.hooks.handlers import order_select, order_sign
from cds_service.orders import order_cache, order_checks
from fhir_mappings.build import case_from_bundle, case_from_hook_request
from tests.support import sandbox

TODAY = date(2026, 11, 21)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "orders"
ROWS = knowledge.load("menin_inhibitors.json")["revumenib"]["dosing"]["rows"]
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


def row(band: str, inhibitor: bool) -> dict:
    return next(r for r in ROWS if r["band"] == band and r["strong_cyp3a4_inhibitor"] == inhibitor)


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def epic() -> dict:
    return load("epic-order-select-revumenib-child.json")


def adult() -> dict:
    return load("sandbox-order-sign-revumenib-adult.json")


def call_for(request: dict, hook: str | None = None, unavailable: tuple[str, ...] = ()) -> HookCall:
    hook = hook or request["hook"]
    context = copy.deepcopy(request["context"])
    if hook == "order-sign":
        context.pop("selections", None)
    return HookCall(service_id=f"kmt2a-{hook}", hook=hook, hook_instance=request["hookInstance"],
                    context=context, prefetch=request.get("prefetch") or {}, reference_date=TODAY,
                    unavailable=unavailable)


def answer(request: dict, hook: str | None = None, unavailable: tuple[str, ...] = ()) -> list[dict]:
    call = call_for(request, hook, unavailable)
    cards = (order_sign if call.hook == "order-sign" else order_select)(call)
    assert protocol.validate_response({"cards": cards}) == []
    return cards


def check(card: dict) -> dict:
    return card["extension"]["org.kmt2a-cds.order-check"]


def the_order(request: dict) -> dict:
    return next(e["resource"] for e in request["context"]["draftOrders"]["entry"]
                if e["resource"]["resourceType"] == "MedicationRequest")


def set_dose(request: dict, value: float, unit: str = "mg/m2") -> dict:
    quantity = the_order(request)["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    quantity.update({"value": value, "unit": unit, "code": unit})
    return request


def built_case(request: dict):
    return case_from_hook_request(request, reference_date=TODAY)


def add_active(request: dict, text: str, rxcui: str | None = None) -> dict:
    resource = {"resourceType": "MedicationRequest", "id": f"active-{text.split()[0].lower()}", "status": "active",
                "intent": "order", "subject": {"reference": f"Patient/{request['context']['patientId']}"},
                "medicationCodeableConcept": {"text": text, **({"coding": [{"system": RX, "code": rxcui}]} if rxcui else {})}}
    bundle = request["prefetch"].setdefault("medicationRequests", {"resourceType": "Bundle", "type": "searchset", "entry": []})
    bundle.setdefault("entry", []).append({"resource": resource})
    return request


def add_draft(request: dict, order_id: str, text: str, dose: float = 300, unit: str = "mg") -> dict:
    resource = {"resourceType": "MedicationRequest", "id": order_id, "status": "draft", "intent": "order",
                "subject": {"reference": f"Patient/{request['context']['patientId']}"},
                "medicationCodeableConcept": {"text": text},
                "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                                       "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit,
                                                                         "system": "http://unitsofmeasure.org", "code": unit}}]}]}
    request["context"]["draftOrders"]["entry"].append({"resource": resource})
    return request


# --- the captured sandbox traffic ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["order-select-1", "order-select-2", "order-select-3", "order-select-4", "order-sign"])
def test_captured_sandbox_requests_get_no_cards(name):
    assert answer(sandbox.raw(name)["body"]) == []


def test_empty_order_answers_without_building_a_case():
    before = order_cache.stats()["misses"]
    assert answer(sandbox.raw("order-select-1")["body"]) == []
    assert order_cache.stats()["misses"] == before


# --- Epic-style: medicationReference into the Bundle, mg/m2, BID, product code, opaque ids ----------


def test_epic_child_on_posaconazole_gets_the_reduced_mg_per_m2_dose():
    request = epic()
    case = built_case(request)
    assert case.draft_orders and case.draft_orders[0].ingredient == "revumenib"
    (card,) = answer(request)
    found = check(card)
    per_m2 = row("weight-under-40kg", True)["value"]
    assert found["order"] == f"MedicationRequest/{the_order(request)['id']}"
    assert found["orderedDose"] == {"value": per_m2, "unit": "mg/m2", "frequency": "q12h"}
    bsa = round(case.bsa.value, 2)  # dosed on the BSA to 0.01 m2
    assert found["expectedDose"]["value"] == pytest.approx(per_m2 * bsa, abs=0.05)
    assert found["expectedDose"]["basis"] == f"{per_m2:g} mg/m2 x {bsa:g} m2"
    assert {"weight-under-40kg", "strong-cyp3a4-inhibitor:posaconazole", "kmt2a-rearranged"} <= set(found["reasons"])
    assert found["verdict"] in ("ok", "interaction")  # posaconazole also prolongs QT
    assert "suggestions" not in card


def test_epic_child_full_dose_on_posaconazole_is_corrected_to_the_reduced_dose():
    request = set_dose(epic(), row("weight-under-40kg", False)["value"])
    (card,) = answer(request, "order-sign")
    assert card["indicator"] == "critical" and check(card)["verdict"] == "dose-too-high"
    resource = card["suggestions"][0]["actions"][0]["resource"]
    MedicationRequest.model_validate(resource)
    assert resource["id"] == the_order(request)["id"]
    assert resource["medicationReference"] == the_order(request)["medicationReference"]
    quantity = resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (quantity["value"], quantity["code"]) == (row("weight-under-40kg", True)["value"], "mg/m2")


def test_epic_child_without_inhibitor_full_mg_per_m2_dose_is_ok():
    request = set_dose(epic(), row("weight-under-40kg", False)["value"])
    request["prefetch"]["medicationRequests"]["entry"] = []
    (card,) = answer(request)
    assert check(card)["verdict"] == "ok" and card["indicator"] == "info"
    assert answer(request, "order-sign") == []


def test_epic_contained_medication_is_read():
    request = epic()
    entries = request["context"]["draftOrders"]["entry"]
    medication = entries.pop(0)["resource"]
    order = entries[0]["resource"]
    order["contained"] = [{**medication, "id": "med1"}]
    order["medicationReference"] = {"reference": "#med1"}
    assert check(answer(request)[0])["medication"] == "revumenib"


def test_epic_ziftomenib_for_kmt2a_rearranged_child_is_not_indicated():
    request = epic()
    medication = request["context"]["draftOrders"]["entry"][0]["resource"]
    medication["code"] = {"text": "ziftomenib 200 mg capsule"}
    (card,) = answer(request, "order-sign")
    assert check(card)["verdict"] == "not-indicated" and check(card)["medication"] == "ziftomenib"


def test_epic_missing_ecg_is_asked_for():
    request = epic()
    labs = request["prefetch"]["labs"]["entry"]
    request["prefetch"]["labs"]["entry"] = [e for e in labs if e["resource"]["code"]["coding"][0]["code"] != "76634-5"]
    (card,) = answer(request)
    assert "qtc" in check(card)["missingData"] and card["indicator"] == "warning"


def test_epic_missing_height_for_a_child_in_mg_cannot_be_checked():
    request = set_dose(epic(), 100, "mg")
    request["prefetch"]["medicationRequests"]["entry"] = []
    vitals = request["prefetch"]["vitals"]["entry"]
    request["prefetch"]["vitals"]["entry"] = [e for e in vitals if e["resource"]["code"]["coding"][0]["code"] != "8302-2"]
    (card,) = answer(request)
    assert check(card)["verdict"] == "cannot-check" and "height" in check(card)["missingData"]


def test_gemtuzumab_for_kmt2a_aml_is_one_info_card():
    request = epic()
    medication = request["context"]["draftOrders"]["entry"][0]["resource"]
    medication["code"] = {"coding": [{"system": RX, "code": "1294580", "display": "gemtuzumab ozogamicin"}]}
    set_dose(request, 3, "mg/m2")
    (card,) = answer(request)  # relapsed child, no CD33 result: named as missing
    assert card["indicator"] == "warning" and check(card)["medication"] == "gemtuzumab-ozogamicin"
    assert "cd33" in check(card)["missingData"] and "No CD33 flow result" in card["detail"]
    add_cd33(request, 85)
    (card,) = answer(request)
    assert card["indicator"] == "info" and check(card)["verdict"] == "ok"
    assert "cd33" not in check(card).get("missingData", [])
    assert answer(request, "order-sign") == []
    add_cd33(request, 3, "cd33-neg")  # a later CD33-negative result: not indicated
    (card,) = answer(request, "order-sign")
    assert card["indicator"] == "critical" and check(card)["verdict"] == "not-indicated"


def add_cd33(request: dict, percent: float, obs_id: str = "cd33") -> dict:
    """A flow result as labs send it: CD33 as a percentage of blasts, no interpretation."""
    day = {"cd33": "2026-11-10", "cd33-neg": "2026-11-19"}[obs_id]
    resource = {"resourceType": "Observation", "id": obs_id, "status": "final",
                "subject": {"reference": f"Patient/{request['context']['patientId']}"},
                "code": {"text": "CD33 on blasts (flow cytometry)"}, "effectiveDateTime": day,
                "valueQuantity": {"value": percent, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}}
    request["prefetch"]["labs"].setdefault("entry", []).append({"resource": resource})
    return request


# --- sandbox-style: quirks, adult flat doses -------------------------------------------------------


def test_sandbox_adult_label_dose_is_silent_at_sign():
    assert answer(adult()) == []
    (card,) = answer(adult(), "order-select")
    assert check(card)["verdict"] == "ok"
    assert check(card)["expectedDose"]["value"] == row("weight-40kg-or-more", False)["value"]


def test_sandbox_adult_on_posaconazole_gets_critical_card_and_r4_update():
    request = add_active(adult(), "posaconazole 100 MG Delayed Release Oral Tablet", "282446")
    (card,) = answer(request)
    assert card["indicator"] == "critical" and check(card)["verdict"] == "dose-too-high"
    action = card["suggestions"][0]["actions"][0]
    MedicationRequest.model_validate(action["resource"])
    assert action["resource"]["intent"] == "order" and isinstance(action["resource"]["category"], list)
    assert "valid FHIR R4" in action["description"] and "verify against the current label" in action["description"]
    quantity = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert quantity["value"] == row("weight-40kg-or-more", True)["value"]


def test_unavailable_medication_prefetch_is_named():
    request = adult()
    (card,) = answer(request, "order-sign", unavailable=("medicationRequests",))
    assert check(card)["verdict"] == "cannot-check" and "medications" in check(card)["missingData"]
    assert card["indicator"] == "warning"


@pytest.mark.parametrize("pills, verdict", [(1, "dose-too-low"), (2, "dose-too-high")])
def test_dose_in_tablets_of_a_named_strength_is_converted(pills, verdict):
    request = adult()  # "Revuforj 160 MG Oral Tablet", BID, no inhibitor
    quantity = the_order(request)["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    quantity.clear()
    quantity.update({"value": pills, "system": "http://unitsofmeasure.org", "code": "{pill}"})
    (card,) = answer(request, "order-select")
    assert check(card)["verdict"] == verdict
    # shown in mg with its composition, never as the UCUM annotation
    assert check(card)["orderedDose"] == {"value": pills * 160, "unit": "mg", "frequency": "q12h"}
    assert f"{pills} x 160 mg tablet{'s' if pills > 1 else ''} = {pills * 160} mg every 12 hours" in card["detail"]
    assert "{pill}" not in card["detail"] and "{pill}" not in card["summary"]


def test_inhibitor_ordered_for_patient_on_revumenib():
    request = add_active(adult(), "Revuforj 160 MG Oral Tablet")
    request["context"]["draftOrders"]["entry"] = []
    add_draft(request, "posa-1", "posaconazole 100 MG Delayed Release Oral Tablet")
    (card,) = answer(request)
    assert check(card)["verdict"] == "interaction" and check(card)["medication"] == "posaconazole"
    assert f"{row('weight-40kg-or-more', True)['value']:g} mg every 12 hours" in card["summary"]


def test_inducer_co_order_is_an_interaction():
    request = add_draft(adult(), "rif-1", "rifampin 300 MG Oral Capsule", 600)
    cards = answer(request)
    assert [check(c)["verdict"] for c in cards] == ["interaction"]
    assert "strong-cyp3a4-inducer:rifampin" in check(cards[0])["reasons"]


def lab(request: dict, lab_id: str) -> dict:
    return next(e["resource"] for e in request["prefetch"]["labs"]["entry"] if e["resource"]["id"] == lab_id)


@pytest.mark.parametrize("value, low", [(1.5, True), (2.0, False)])
def test_magnesium_in_mg_per_dl_is_converted_before_the_mmol_limit(value, low):
    limit = knowledge.load("menin_inhibitors.json")["revumenib"]["pre_start"]["magnesium_min_mmol_l"]
    request = adult()
    lab(request, "mg-1")["valueQuantity"] = {"value": value, "unit": "mg/dL", "system": "http://unitsofmeasure.org",
                                             "code": "mg/dL"}
    assert (value < limit["value"]) is False  # compared raw, neither would be low: the test needs the conversion
    (card,) = answer(request, "order-select")
    assert ("magnesium-low" in check(card).get("reasons", [])) == low
    if low:
        assert "lab's own range prevails" in card["detail"]
        assert limit["tag"] == "V" or "(unverified)" in card["detail"]  # the claim's tag, said in words


def test_magnesium_without_a_unit_is_missing_not_compared():
    request = adult()
    lab(request, "mg-1")["valueQuantity"] = {"value": 0.2}
    (card,) = answer(request, "order-select")
    assert "magnesium" in check(card)["missingData"] and "magnesium-low" not in check(card).get("reasons", [])
    assert card["indicator"] == "warning"


def test_amplification_is_not_indicated():
    request = adult()
    # no translocation on the karyotype, 8-11 KMT2A signals on FISH: amplification, not rearrangement
    request["prefetch"]["genomics"]["entry"][0]["resource"]["valueString"] = "46,XX[20].nuc ish(KMT2Ax8~11)[180/200]"
    assert built_case(request).kmt2a.status.value == "amplified"
    (card,) = answer(request)
    assert check(card)["verdict"] == "not-indicated" and card["indicator"] == "critical"


def test_t11_17_is_not_taken_for_a_kmt2a_translocation():
    request = adult()
    request["prefetch"]["genomics"]["entry"][0]["resource"]["valueString"] = "46,XX,t(11;17)(q23;q21)[20]"
    (card,) = answer(request)
    assert check(card)["verdict"] == "not-indicated"
    assert "t11-17-may-be-apl" in check(card)["reasons"] and "kmt2a-status" in check(card)["missingData"]
    assert "ZBTB16::RARA" in card["detail"]


# --- the cache: order-sign reuses order-select ------------------------------------------------------


def test_order_sign_reuses_order_select_when_nothing_changed():
    request = add_active(adult(), "posaconazole 100 MG Delayed Release Oral Tablet", "282446")
    the_order(request)["id"] = "request-cache-test"  # content of its own: not cached by an earlier test
    request["context"]["selections"] = ["MedicationRequest/request-cache-test"]
    before = order_cache.stats()
    (selected,) = answer(request, "order-select")
    (signed,) = answer(request, "order-sign")
    after = order_cache.stats()
    assert after["evaluations"] - before["evaluations"] == 1
    assert after["hits"] - before["hits"] == 1
    assert (selected["indicator"], signed["indicator"]) == ("critical", "critical")  # one policy for both hooks
    assert selected["uuid"] != signed["uuid"]
    assert check(selected) == check(signed)
    # a changed dose is new content: evaluated again
    set_dose(request, 160, "mg")
    assert answer(request, "order-sign") == []  # the reduced dose with the inhibitor accounted for: nothing to act on
    assert order_cache.stats()["evaluations"] - after["evaluations"] == 1


def test_the_cache_never_answers_for_another_patient_or_changed_chart():
    limit = knowledge.load("menin_inhibitors.json")["revumenib"]["pre_start"]["qtcf_max_ms"]["value"]
    request = adult()
    the_order(request)["id"] = "request-cache-stale-test"
    (first,) = answer(request, "order-select")
    assert check(first)["verdict"] == "ok"
    # a new ECG above the start limit, same orders: re-evaluated, not the cached "ok"
    lab(request, "qtc-1")["valueQuantity"]["value"] = limit + 20
    before = order_cache.stats()["evaluations"]
    (signed,) = answer(request, "order-sign")
    assert check(signed)["verdict"] == "do-not-start" and signed["indicator"] == "critical"
    # the same chart content under another patient id is another key
    request["context"]["patientId"] = "another-patient"
    answer(request, "order-sign")
    assert order_cache.stats()["evaluations"] - before == 2


# --- the CLI's orderChecks --------------------------------------------------------------------------


def test_order_checks_from_a_bundle_with_draft_requests():
    request = adult()
    resources = [v for v in request["prefetch"].values()] + [the_order(request)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    objects = order_checks(case_from_bundle(bundle, reference_date=TODAY))
    assert [o["medication"] for o in objects] == ["revumenib"]
    assert objects[0]["verdict"] == "ok"


def test_order_that_fails_r4_validation_still_gets_a_cannot_check_card():
    # A schedule written as free text where R4 wants a Timing: the mapper cannot read the order as R4, but it
    # is still a revumenib prescription; silence here would let a wrong dose through unchecked.
    request = epic()
    the_order(request)["dosageInstruction"][0]["timing"] = "twice daily"
    draft = next(o for o in built_case(request).draft_orders if o.ingredient == "revumenib")
    assert draft.unreadable and draft.dose is None
    for hook in ("order-select", "order-sign"):
        (card,) = [c for c in answer(request, hook) if check(c)["medication"] == "revumenib"]
        assert "order-not-readable" in check(card)["reasons"] and "could not be read" in card["summary"]
        assert "orderedDose" not in check(card) and "suggestions" not in card
    request["prefetch"]["medicationRequests"]["entry"] = []  # no inhibitor: nothing outranks the unreadable order
    (card,) = answer(request, "order-sign")
    assert check(card)["verdict"] == "cannot-check" and card["indicator"] == "warning"
