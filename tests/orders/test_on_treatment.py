"""A patient already on revumenib: on-treatment QTcF limits, ECG schedule and electrolytes, in patient-view
and on continuation orders (order-select, order-sign), over real HTTP; never "consider starting".

The thresholds are read from the knowledge table, never typed here.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta

import pytest
import requests

from cds_service import knowledge
from cds_service.hooks import protocol
from cds_service.orders import on_treatment
from cds_service.orders.wording import monitoring_lines
from cds_service.orders.checks import evaluate
from cds_service.stratification import assess
from cds_service.stratification.text import day
from fhir_mappings.case import Measurement, MedicationUse, Source
from tests.orders.builders import TODAY, case, draft
from tests.orders.test_requests import adult, the_order
from tests.support.live import LiveService, test_config

RULES = knowledge.load("menin_inhibitors.json")["revumenib"]["on_treatment"]
INTERRUPT = RULES["interrupt_limit_ms"]["value"]
TOP = next(r for r in RULES["qtc_actions"] if "rise_above_ms" in r)
ALL_KEYS = ("patient", "conditions", "genomics", "genomicReports", "labs", "vitals", "medicationRequests",
            "medicationStatements", "medicationAdministrations", "ecg")
START = TODAY - timedelta(days=60)


@pytest.fixture(scope="module")
def base(service_dir, test_issuer):
    live = LiveService(test_config(service_dir, test_issuer, reference_date=TODAY))
    yield live
    live.stop()


def on_revumenib(qtcf: float, ecg_day: date = TODAY - timedelta(days=1), started: date = START) -> dict:
    """The adult sandbox request, with an active revumenib order since `started` and the latest QTcF `qtcf`."""
    body = copy.deepcopy(adult())
    for key in ALL_KEYS:
        body["prefetch"].setdefault(key, {"resourceType": "Bundle", "type": "searchset", "entry": []})
    active = {"resourceType": "MedicationRequest", "id": "revumenib-active", "status": "active", "intent": "order",
              "subject": {"reference": "Patient/pat-1"}, "authoredOn": started.isoformat(),
              "medicationCodeableConcept": {"text": "Revuforj 160 MG Oral Tablet"}}
    body["prefetch"]["medicationRequests"]["entry"].append({"resource": active})
    for entry in body["prefetch"]["labs"]["entry"]:
        if entry["resource"]["id"] == "qtc-1":
            entry["resource"]["valueQuantity"]["value"] = qtcf
            entry["resource"]["effectiveDateTime"] = ecg_day.isoformat()
    the_order(body)["id"] = f"continue-{qtcf:g}-{ecg_day.isoformat()}"  # content of its own for the cache
    return body


def post(base, service: str, body: dict) -> list[dict]:
    body = copy.deepcopy(body)
    hook = service.removeprefix("kmt2a-")
    body["hook"] = hook
    if hook == "patient-view":
        body["context"] = {"patientId": body["context"]["patientId"], "userId": body["context"]["userId"]}
    elif hook == "order-select":
        body["context"]["selections"] = [f"MedicationRequest/{the_order(body)['id']}"]
    response = requests.post(f"{base}/cds-services/{service}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    assert protocol.validate_response(response.json()) == []
    return response.json()["cards"]


def order_card(cards: list[dict]) -> dict:
    (card,) = [c for c in cards if "org.kmt2a-cds.order-check" in c.get("extension", {})]
    return card


# --- over HTTP: the three services -------------------------------------------------------------------


def test_qtcf_above_the_interrupt_limit_is_critical_in_all_three_services(base):
    qtcf = INTERRUPT + 15  # above the interrupt limit, below the top row
    body = on_revumenib(qtcf)
    for service in ("kmt2a-order-select", "kmt2a-order-sign"):
        card = order_card(post(base, service, body))
        assert card["indicator"] == "critical", service
        assert card["extension"]["org.kmt2a-cds.order-check"]["verdict"] == "hold"
        assert TODAY == date(2026, 11, 21) and f"QTcF {qtcf:g} ms on 20 Nov 2026" in card["summary"] + card["detail"]
        assert "interrupt revumenib" in card["detail"] and "verify against the current label" in card["detail"]
    cards = post(base, "kmt2a-patient-view", body)
    monitoring = [c for c in cards if "org.kmt2a-cds.on-treatment" in c.get("extension", {})]
    assert len(monitoring) == 1 and monitoring[0]["indicator"] == "critical"
    assert monitoring[0]["summary"].startswith("Hold revumenib: QTcF")
    assert "resume at the same dose" in monitoring[0]["detail"]
    assert monitoring == cards[1:2]  # right after the assessment card


def test_a_patient_on_revumenib_is_never_told_to_consider_starting_it(base):
    cards = post(base, "kmt2a-patient-view", on_revumenib(430))
    text = " ".join(c["summary"] + " " + c.get("detail", "") for c in cards)
    assert "Menin inhibitor revumenib" not in text and "Label dose" not in text
    assert "QTc monitoring" in text  # the considerations became on-treatment monitoring
    # nothing is due (QTcF normal, ECG yesterday, electrolytes recent): no monitoring card
    assert not [c for c in cards if "org.kmt2a-cds.on-treatment" in c.get("extension", {})]


def test_an_overdue_ecg_is_a_warning_in_patient_view_and_on_the_continuation_order(base):
    last = TODAY - timedelta(days=40)  # on treatment for 60 days: monthly ECGs, the last one 40 days ago
    body = on_revumenib(430, ecg_day=last)
    (monitoring,) = [c for c in post(base, "kmt2a-patient-view", body) if "org.kmt2a-cds.on-treatment" in c.get("extension", {})]
    assert monitoring["indicator"] == "warning" and "ECG overdue" in monitoring["summary"]
    assert f"last ECG on {day(last)}" in monitoring["detail"]
    assert "due monthly after the first 4 weeks." in monitoring["detail"]
    # the schedule is the knowledge's own sentence, not a copy restated in code
    assert f"Label: {RULES['ecg_schedule']['text']}." in monitoring["detail"]
    card = order_card(post(base, "kmt2a-order-sign", body))
    assert card["indicator"] == "warning" and "ecg-overdue" in card["extension"]["org.kmt2a-cds.order-check"]["reasons"]


# --- the monitoring data ------------------------------------------------------------------------------


def revumenib_since(start: date | None) -> MedicationUse:
    return MedicationUse("revumenib", Source("MedicationRequest/r1", start), frozenset({"menin-inhibitor"}),
                         active=True, start=start)


def ecg(value: float, day: date, method: str = "QTcF") -> Measurement:
    return Measurement(value, "ms", Source(f"Observation/ecg-{day.isoformat()}", day), method=method)


def monitored(readings: list[Measurement], start: date | None = START, **extra):
    base_case = case(**extra)
    latest = max(readings, key=lambda m: m.source.date) if readings else None
    return replace(base_case, medications=base_case.medications + (revumenib_since(start),), qtc=latest,
                   qtc_readings=tuple(readings))


def test_a_rise_of_more_than_60_ms_from_baseline_meets_the_top_row_below_500():
    baseline = ecg(400, START - timedelta(days=3))
    latest = ecg(400 + TOP["rise_above_ms"] + 5, TODAY - timedelta(days=1))
    assert latest.value <= INTERRUPT  # below every absolute limit: only the rise decides
    found = on_treatment.monitoring(monitored([baseline, latest]))
    assert found.qtc_action.rule["code"] == TOP["code"] and found.qtc_action.baseline == baseline
    assert "qtcf-above-interrupt-limit" in found.findings


def test_in_the_first_4_weeks_ecgs_are_weekly():
    start = TODAY - timedelta(days=14)
    week = RULES["ecg_schedule"]["weekly_interval_days"]
    late = on_treatment.monitoring(monitored([ecg(420, TODAY - timedelta(days=week + 1))], start=start))
    assert late.ecg.phase == "weekly" and "ecg-overdue" in late.findings
    on_time = on_treatment.monitoring(monitored([ecg(420, TODAY - timedelta(days=week - 1))], start=start))
    assert "ecg-overdue" not in on_time.findings


def test_without_a_start_date_the_weekly_schedule_applies_and_the_card_says_why():
    """No start date: the first 4 weeks (weekly ECGs) cannot be ruled out; never silently read as monthly."""
    week = RULES["ecg_schedule"]["weekly_interval_days"]
    found = on_treatment.monitoring(monitored([ecg(420, TODAY - timedelta(days=week + 3))], start=None))
    assert found.since is None and found.ecg.phase == "start-unknown" and "ecg-overdue" in found.findings
    assert any("treatment start is not recorded" in line for line in monitoring_lines(found))


def test_no_ecg_on_record_is_overdue_and_low_magnesium_is_named():
    found = on_treatment.monitoring(monitored([], magnesium=0.5))
    assert {"ecg-overdue", "electrolytes-low"} <= set(found.findings)


def test_a_bazett_qtc_above_the_limit_asks_for_a_qtcf_not_a_hold():
    found = on_treatment.monitoring(monitored([ecg(INTERRUPT + 30, TODAY, "QTcB")]))
    assert found.qtc_action is None and "qtc-above-limit-not-fridericia" in found.findings


def test_a_recent_administration_alone_means_on_treatment():
    given = MedicationUse("revumenib", Source("MedicationAdministration/a1", TODAY - timedelta(days=2)),
                          frozenset({"menin-inhibitor"}), active=False, start=TODAY - timedelta(days=2),
                          end=TODAY - timedelta(days=2), kind="administration")
    the_case = replace(case(orders=[draft("revumenib", 270)]), medications=(given,))
    assert on_treatment.monitoring(the_case) is not None
    assert "menin-inhibitor" not in [c.code for c in assess(the_case).considerations]


def test_the_continuation_order_keeps_the_dose_and_inhibitor_checks():
    # on revumenib and posaconazole, continuing at the full dose: still an overdose (dose checks stay)
    the_case = replace(monitored([ecg(420, TODAY - timedelta(days=1))], meds=["posaconazole"]),
                       draft_orders=(draft("revumenib", 270),))
    (check,) = [c for c in evaluate(the_case) if c.medication == "revumenib"]
    assert check.verdict == "dose-too-high" and check.level == "critical"
    assert "prestart-data-missing" not in check.findings  # pre-start rules left out


def test_the_work_up_around_a_transplant_is_not_a_transplant():
    from fhir_mappings.transplants import transplant_of
    done = {"resourceType": "Procedure", "id": "p1", "status": "completed", "code": {"text": "Allogeneic HSCT"},
            "performedDateTime": "2026-01-15"}
    assert transplant_of(done).date == date(2026, 1, 15)
    for words in ("HSCT evaluation", "Stem cell harvest", "BMT donor search"):
        assert transplant_of({**done, "code": {"text": words}}) is None, words
