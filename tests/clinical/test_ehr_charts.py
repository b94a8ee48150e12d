"""Charts as Epic- and Cerner-like EHRs send them (tests/fixtures/ehr_charts: local codes, display-only
codings, DiagnosticReport result references, units as "K/uL", "x10E9/L", "/mm3", "lb", "msec", times with zones),
posted over loopback HTTP to the real app. Each test states what a leukemia clinician or pharmacist must read on
the cards: the risk group and why, the action, the indicator; never a whole-card snapshot."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import requests

from cds_service.cards.assessment_cards import EXTENSION_KEY
from cds_service.hooks import protocol
from tests.fixtures.ehr_charts import build

CHARTS = Path(__file__).resolve().parents[1] / "fixtures" / "ehr_charts"
TODAY = date.fromisoformat(build.TODAY)
SERVICES = {"patient-view": "kmt2a-patient-view", "order-select": "kmt2a-order-select",
            "order-sign": "kmt2a-order-sign"}
NAMES = sorted(p.stem for p in CHARTS.glob("*.json"))


@pytest.fixture(scope="module")
def live(service_dir, test_issuer):
    from tests.support.live import LiveService, test_config

    service = LiveService(test_config(service_dir, test_issuer, reference_date=TODAY))
    yield service
    service.stop()


def post(live, name: str) -> list[dict]:
    body = json.loads((CHARTS / f"{name}.json").read_text())
    response = requests.post(f"{live}/cds-services/{SERVICES[body['hook']]}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert protocol.validate_response(answer) == []
    return answer["cards"]


def text(cards: list[dict]) -> str:
    return "\n".join(f"{c['summary']}\n{c.get('detail', '')}" for c in cards)


def groups(cards: list[dict]) -> set[tuple[str, str]]:
    a = next(c["extension"][EXTENSION_KEY] for c in cards if EXTENSION_KEY in c.get("extension", {}))
    return {(g["scheme"], g["group"]) for g in a.get("riskGroups", [])}


def test_the_chart_files_are_what_build_py_writes():
    """The tests below read the JSON files: a chart changed in build.py but not rebuilt (or a file edited by hand)
    would be tested as it was, not as build.py says."""
    built = build.chart_requests()
    stale = [name for name in NAMES if json.loads((CHARTS / f"{name}.json").read_text()) != built.get(name)]
    assert NAMES == sorted(built) and not stale, f"run .venv/bin/python -m tests.fixtures.ehr_charts.build: {stale}"


@pytest.mark.parametrize("name", NAMES)
def test_every_chart_reads_in_ten_seconds(live, name):
    cards = post(live, name)
    assert cards and len(cards) <= 3
    words = text(cards)
    for artefact in ("Observation/", "Condition/", "MedicationStatement/", "eObs.", "eVar.", "2026-", "2025-",
                     "HGNC:", "LA9633", "`"):
        assert artefact not in words, (artefact, name)
    assert all(len(c["summary"]) < 140 for c in cards)


def test_infant_aff1_is_interfant_high_risk_from_wbc_and_prednisone_response(live):
    cards = post(live, "infant-aff1-interfant-high")
    assert groups(cards) == {("interfant-06", "high")}
    assert [c["indicator"] for c in cards] == ["info"]
    words = text(cards)
    assert "WBC at diagnosis 412 x10^9/L" in words and "poor prednisone response" in words
    assert "HSCT in first remission" in words


def test_child_mllt1_all_quotes_the_positive_mrd_behind_intensification(live):
    cards = post(live, "child-all-mllt1-mrd-positive")
    assert groups(cards) == {("pediatric-all-kmt2a", "high")}
    words = text(cards)
    assert "MRD-positive: intensify" in words
    assert "MRD end of induction 0.02 % (flow) on 14 Oct 2026" in words  # the result the action rests on
    assert "HSCT in first remission" in words  # discussed for the positive MRD, not for the fusion alone


def test_adult_t9_11_aml_is_eln_intermediate(live):
    cards = post(live, "adult-aml-t9-11-intermediate")
    assert groups(cards) == {("eln-2022", "intermediate")}
    assert cards[0]["summary"].startswith("ELN 2022 intermediate: KMT2A::MLLT3 AML")


def test_adult_afdn_aml_from_old_gene_names_is_eln_adverse(live):
    cards = post(live, "adult-aml-afdn-adverse")
    assert groups(cards) == {("eln-2022", "adverse")}
    assert "KMT2A::AFDN" in cards[0]["summary"] and "HSCT in first remission" in text(cards)


def test_ptd_is_not_a_rearrangement_and_gets_no_kmt2a_group_or_menin(live):
    cards = post(live, "aml-kmt2a-ptd")
    assert groups(cards) == set() and [c["indicator"] for c in cards] == ["info"]
    words = text(cards)
    assert "not a rearrangement" in words and "revumenib" not in words.lower()


def test_amplified_aml_with_a_known_tp53_variant_asks_whether_it_is_germline_not_for_tp53(live):
    cards = post(live, "aml-kmt2a-amplification")
    assert ("eln-2022", "adverse") in groups(cards) and ("kmt2a-amplified", "high") in groups(cards)
    words = text(cards)
    assert "not rearranged" in words and "revumenib" not in words.lower()
    assert "Germline TP53 testing" in words
    assert "KMT2A amplification, 8 copies: FISH nuc ish(KMT2Ax8)[140/200] on 20 Nov 2026" in words  # not the karyotype
    assert "• TP53 testing" not in words and "- TP53 testing" not in words


def test_therapy_related_aml_names_the_prior_drugs_and_when(live):
    cards = post(live, "therapy-related-aml-after-etoposide")
    assert groups(cards) == {("eln-2022", "adverse")}
    words = text(cards)
    assert "therapy-related KMT2A::MLLT1 AML" in cards[0]["summary"]
    assert "etoposide from 1 Mar 2023" in words and "doxorubicin from 1 Mar 2023" in words


def test_lineage_switch_keeps_the_all_scheme_of_diagnosis_and_warns_of_the_switch(live):
    cards = post(live, "lineage-switch-after-blinatumomab")
    assert groups(cards) == {("pediatric-all-kmt2a", "high")}  # diagnosed as B-ALL: never an AML scheme
    assert "Pediatric AML" not in text(cards)
    warning = next(c for c in cards if c["indicator"] == "warning")
    assert warning["summary"].startswith("Lineage switch")
    assert "B-ALL (1 Mar 2025), now AML (20 Nov 2026)" in warning["detail"]
    assert "blinatumomab" in warning["detail"] and "tisagenlecleucel" in warning["detail"]


def test_lineage_switch_back_in_remission_is_history_without_first_line_steps(live):
    cards = post(live, "lineage-switch-now-in-remission")
    assert [c["indicator"] for c in cards] == ["info"]  # nothing due now: no warning at every chart opening
    assert cards[0]["summary"].startswith("KMT2A::AFF1 AML: Childhood ALL KMT2A-r high-risk genetics at diagnosis")
    words = text(cards)
    assert "Lineage switch on record: B-ALL (1 Mar 2023), now AML (20 Jun 2024), after blinatumomab" in words
    assert "MRD after induction" not in words and "HSCT in first remission" not in words
    assert "first remission" not in words  # the remission after a switch is a second one


def test_patient_on_revumenib_gets_monitoring_and_the_low_potassium_now(live):
    cards = post(live, "relapsed-on-revumenib-qtc")
    words = text(cards)
    assert "Menin inhibitor revumenib" not in words  # already on it: never "consider starting"
    assert "QTc monitoring" in words
    warning = next(c for c in cards if c["indicator"] == "warning")
    assert "Potassium 3.3 mmol/L on 29 Nov 2026" in warning["detail"]
    assert "QTcF 472 ms on 29 Nov 2026" in words


def test_patient_on_full_dose_revumenib_after_posaconazole_is_told_to_reduce_it(live):
    cards = post(live, "on-revumenib-full-dose-after-posaconazole")
    warning = next(c for c in cards if c["indicator"] == "warning")  # signed already: reduce now, not stop
    assert warning["summary"].startswith("On revumenib 270 mg every 12 hours: above the label dose, 160 mg")
    assert "posaconazole" in warning["detail"]
    assert not any(c["indicator"] == "critical" for c in cards)


def test_mpal_with_t4_11_is_read_as_mpal_without_a_borrowed_scheme(live):
    cards = post(live, "mpal-kmt2a-aff1")
    assert groups(cards) == set()
    assert "KMT2A::AFF1 MPAL" in cards[0]["summary"]


def test_untested_all_asks_for_kmt2a_once_with_an_order_and_no_adult_aml_source(live):
    cards = post(live, "child-all-no-kmt2a-test")
    warning = next(c for c in cards if c["indicator"] == "warning")
    assert "KMT2A status" in warning["summary"] and warning["suggestions"]
    assert "ELN 2022" not in warning["source"]["label"]  # a 3-year-old's ALL is not an adult AML


def test_fish_positive_rna_negative_is_a_conflict_resolved_by_another_method(live):
    cards = post(live, "conflicting-fish-positive-rna-negative")
    assert groups(cards) == set()
    assert cards[0]["summary"].startswith("B-ALL, KMT2A results conflict")  # tested, not "unknown"
    assert "No KMT2A fusion transcript detected on 18 Nov 2026" in cards[0]["detail"]
    warning = next(c for c in cards if c["indicator"] == "warning")
    assert warning["summary"] == "Conflicting KMT2A results"
    labels = [s["label"] for c in cards for s in c.get("suggestions", [])]
    assert labels and not any("break-apart FISH" in label for label in labels)  # FISH was done: it is one side


def test_revumenib_for_ptd_is_stopped(live):
    (card,) = post(live, "order-sign-revumenib-ptd")
    assert card["indicator"] == "critical" and "not indicated" in card["summary"]


def test_full_dose_revumenib_beside_posaconazole_is_stopped_with_the_reduced_dose(live):
    (card,) = post(live, "order-sign-revumenib-full-dose-with-posaconazole")
    assert card["indicator"] == "critical" and "160 mg" in card["summary"]
    assert "posaconazole" in card["detail"]
    assert any("160 mg" in s["label"] for s in card.get("suggestions", []))


def test_revumenib_with_qtcf_over_450_is_not_started(live):
    (card,) = post(live, "order-select-revumenib-child-qtc-high")
    assert card["indicator"] == "critical" and "QTcF 458 ms" in card["summary"]
    assert "No potassium or magnesium in a readable unit on record" in card["detail"]  # the boxed warning once
    assert card["detail"].count("correct hypokalemia and hypomagnesemia") == 1


def test_gemtuzumab_for_a_small_child_uses_the_weight_based_dose(live):
    (card,) = post(live, "order-select-gemtuzumab-small-child")
    assert card["indicator"] == "critical" and "0.95 mg" in card["summary"]
