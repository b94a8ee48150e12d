"""Clinical vignettes: each FHIR Bundle through the real mapper and rules, asserting the contract fields."""

from __future__ import annotations

import json

import pytest

from cds_service.cards.assessment_cards import EXTENSION_KEY, cards_for
from cds_service.stratification import assess
from fhir_mappings.build import case_from_bundle
from tests.clinical.vignettes import NAMES, REFERENCE_DATE, SILENT, check, load
from tests.fixtures.vignettes.build import bundle_for


def assessment(name: str):
    return assess(case_from_bundle(load(name), reference_date=REFERENCE_DATE))


def test_enough_vignettes():
    assert len(NAMES) >= 25
    assert {"case-report-patient-1", "case-report-patient-2"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_vignette_file_is_what_build_py_writes(name):
    """The tests read the JSON files; a vignette edited in build.py but not rewritten would test stale input."""
    assert json.loads(json.dumps(bundle_for(name))) == load(name), "run: python -m tests.fixtures.vignettes.build"


@pytest.mark.parametrize("name", NAMES)
def test_vignette_assessment(name):
    check(name, assessment(name).to_json())


@pytest.mark.parametrize("name", NAMES)
def test_vignette_cards(name):
    a = assessment(name)
    cards = cards_for(a)
    if name in SILENT:
        assert cards == []
        return
    assert sum(EXTENSION_KEY in c.get("extension", {}) for c in cards) == 1
    assert all(len(c["summary"]) < 140 for c in cards)


def test_case_report_1_copy_number_and_tp53_named():
    a = assessment("case-report-patient-1")
    assert a.to_json()["kmt2a"]["copyNumber"] == 6
    assert "Arg175His" in (a.consideration("tp53-germline-testing").note or "")
    assert a.consideration("tp53-testing") is None  # TP53 is already tested: never "order TP53"


def test_posaconazole_lowers_the_menin_dose():
    """The dose is judged on the order (order-select/sign); the assessment keeps the reasoning."""
    note = assessment("relapsed-adult-all-posaconazole").consideration("menin-inhibitor").note
    assert "160 mg q12h" in note and "posaconazole" in note


def test_bsa_dose_for_the_child_under_40_kg():
    assert "160 mg/m2" in assessment("relapsed-child-aml-menin").consideration("menin-inhibitor").note


def test_missing_wbc_and_ppr_after_their_time_points_are_reported_not_ordered():
    """Day 10 after diagnosis: the diagnostic WBC and the day-8 prednisone response can no longer be obtained."""
    cards = cards_for(assessment("infant-missing-wbc-ppr"))
    assert [c["indicator"] for c in cards] == ["info"] and "suggestions" not in cards[0]
    assert "not recorded: WBC at diagnosis, prednisone response" in cards[0]["summary"]
    assert "medium from high risk" in cards[0]["detail"]


def test_therapy_related_caution_names_each_exposure_once():
    caution = next(c for c in assessment("therapy-related-aml").cautions if c.code == "therapy-related")
    assert caution.note == "after etoposide from 8 Aug 2024"  # by content and date, not MedicationStatement/taml-etop
    assert caution.text.count("etoposide") == 1 and "MedicationStatement/" not in caution.text
