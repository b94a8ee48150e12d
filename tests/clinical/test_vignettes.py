"""Clinical vignettes: each FHIR Bundle through the real mapper and rules, asserting the contract fields."""

from __future__ import annotations

import json

import pytest

from cds_service.cards.patient_view import EXTENSION_KEY, cards_for
from cds_service.stratification import assess
from fhir_mappings.build import case_from_bundle
from tests.clinical.vignettes import NAMES, REFERENCE_DATE, check, load
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
    if name == "no-leukemia":
        assert cards == []
        return
    assert sum(EXTENSION_KEY in c.get("extension", {}) for c in cards) == 1
    assert all(len(c["summary"]) < 140 for c in cards)


def test_case_report_1_copy_number_and_tp53_named():
    a = assessment("case-report-patient-1")
    assert a.to_json()["kmt2a"]["copyNumber"] == 6
    assert "Arg175His" in (a.consideration("tp53-testing").note or "")


def test_posaconazole_lowers_the_menin_dose_on_the_card():
    cards = cards_for(assessment("relapsed-adult-all-posaconazole"))
    detail = next(c["detail"] for c in cards if "menin-inhibitor" in c.get("detail", ""))
    assert "160 mg q12h" in detail and "posaconazole" in detail
    assert "[U]" in detail and "verify against the current label" in detail


def test_bsa_dose_for_the_child_under_40_kg():
    cards = cards_for(assessment("relapsed-child-aml-menin"))
    detail = next(c["detail"] for c in cards if "menin-inhibitor" in c.get("detail", ""))
    assert "160 mg/m2" in detail


def test_missing_wbc_and_ppr_after_their_time_points_are_reported_not_ordered():
    """Day 10 after diagnosis: the diagnostic WBC and the day-8 prednisone response can no longer be obtained."""
    cards = cards_for(assessment("infant-missing-wbc-ppr"))
    missing = next(c for c in cards if "Not recorded" in c["summary"])
    assert missing["indicator"] == "info" and "suggestions" not in missing
    assert "day 8 of the prednisone prephase has passed" in missing["detail"]


def test_therapy_related_caution_names_each_exposure_once():
    caution = next(c for c in assessment("therapy-related-aml").cautions if c.code == "therapy-related")
    assert "etoposide (MedicationStatement/taml-etop" in caution.text
    assert caution.text.count("MedicationStatement/taml-etop") == 1
