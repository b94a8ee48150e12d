"""Menin-inhibitor eligibility and the expected revumenib dose (numbers read from the knowledge table)."""

from __future__ import annotations

import pytest

from cds_service import knowledge
from cds_service.stratification import menin_inhibitors as revumenib
from fhir_mappings.case import DiseaseStatus, Kmt2aStatus, Lineage
from tests.orders.builders import case

ROWS = knowledge.load("menin_inhibitors.json")["revumenib"]["dosing"]["rows"]
THRESHOLD = knowledge.load("menin_inhibitors.json")["revumenib"]["dosing"]["weight_threshold_kg"]


def test_dosing_table_is_one_table_with_source_and_tag():
    assert {(r["band"], r["strong_cyp3a4_inhibitor"]) for r in ROWS} == {
        ("weight-40kg-or-more", False), ("weight-40kg-or-more", True),
        ("weight-under-40kg", False), ("weight-under-40kg", True)}
    assert all(r["source"] == "S12" and r["tag"] == "U" and r["frequency"] == "q12h" for r in ROWS)


def test_local_numbers_are_tagged_unverified_and_not_attributed_to_the_label():
    table = knowledge.load("menin_inhibitors.json")["revumenib"]
    local = [table["dosing"]["tolerance"], table["dosing"]["weight_max_age_days"],
             table["pre_start"]["potassium_min_mmol_l"], table["pre_start"]["magnesium_min_mmol_l"]]
    for entry in local:
        assert entry["tag"] == "U" and "source" not in entry
    assert all("lab's own range prevails" in e["text"] for e in local[2:])


def _weights(band: str) -> list[float]:
    return [THRESHOLD, THRESHOLD + 30] if band == "weight-40kg-or-more" else [THRESHOLD - 0.1, 12]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['band']}-inhibitor-{r['strong_cyp3a4_inhibitor']}")
@pytest.mark.parametrize("bsa", [0.52, 1.1, 1.93])
def test_expected_dose_follows_the_table(row, bsa):
    meds = ("posaconazole",) if row["strong_cyp3a4_inhibitor"] else ()
    for weight in _weights(row["band"]):
        got = revumenib.expected_dose(case(weight=weight, bsa=bsa, meds=meds))
        want = row["value"] * bsa if row["unit"] == "mg/m2" else row["value"]
        assert got.value == pytest.approx(want, abs=0.05)
        assert got.unit == "mg" and got.frequency == row["frequency"]
        assert row["band"] in got.reasons
        assert ("strong-cyp3a4-inhibitor:posaconazole" in got.reasons) == row["strong_cyp3a4_inhibitor"]
        if row["unit"] == "mg/m2":
            assert got.basis == f"{row['value']:g} mg/m2 x {bsa:g} m2"
            assert got.per_m2 == row["value"]


def test_inhibitor_among_draft_orders_counts():
    got = revumenib.expected_dose(case(weight=70), extra_inhibitors=["itraconazole"])
    row = next(r for r in ROWS if r["band"] == "weight-40kg-or-more" and r["strong_cyp3a4_inhibitor"])
    assert got.value == row["value"]
    assert got.reasons == ("weight-40kg-or-more", "strong-cyp3a4-inhibitor:itraconazole")


def test_moderate_inhibitor_does_not_reduce_the_dose():
    got = revumenib.expected_dose(case(weight=70, meds=("fluconazole",)))
    row = next(r for r in ROWS if r["band"] == "weight-40kg-or-more" and not r["strong_cyp3a4_inhibitor"])
    assert got.value == row["value"]


def test_missing_weight_or_bsa_is_named_not_guessed():
    assert revumenib.expected_dose(case(weight=None)).missing_data == ("weight",)
    assert revumenib.expected_dose(case(weight=None)).value is None
    child = revumenib.expected_dose(case(weight=20, bsa=None))
    assert child.value is None and child.missing_data == ("height",) and child.per_m2 is not None
    # an adult's flat dose needs no BSA
    assert revumenib.expected_dose(case(weight=70, bsa=None)).value is not None


@pytest.mark.parametrize("mg", [10, 37.5, 82.6, 104.5, 150, 270, 333])
def test_dispensable_dose_is_whole_tablets_nearest(mg):
    strengths = knowledge.load("menin_inhibitors.json")["revumenib"]["dosing"]["tablet_strengths_mg"]["values"]
    got = revumenib.dispensable_dose(mg)
    # whole tablets: some non-negative combination of the strengths sums to it
    reachable = {0}
    for _ in range(6):
        reachable |= {r + s for r in reachable for s in strengths}
    assert got in reachable
    assert all(abs(other - mg) >= abs(got - mg) for other in reachable if other)


def test_tolerance_is_the_wider_of_fraction_and_half_tablet():
    assert revumenib.within_tolerance(276, 270)  # trial dose
    assert revumenib.within_tolerance(163, 160)
    assert not revumenib.within_tolerance(300, 270)
    assert revumenib.within_tolerance(75, 85.5)  # 12.5 mg absolute beats 10 % at small doses
    assert not revumenib.within_tolerance(60, 85.5)


# --- eligibility -----------------------------------------------------------------------------------


def test_kmt2a_rearranged_relapsed_is_eligible():
    found = revumenib.eligibility(case())
    assert found.verdict == "eligible" and found.indication == "kmt2a-translocation"


@pytest.mark.parametrize("status, reason", [
    (Kmt2aStatus.AMPLIFIED, "kmt2a-amplified-not-rearrangement"),
    (Kmt2aStatus.PTD, "kmt2a-ptd-not-rearrangement"),
    (Kmt2aStatus.NOT_DETECTED, "kmt2a-not-detected"),
    (Kmt2aStatus.UNKNOWN, "kmt2a-status-unknown"),
])
def test_not_a_rearrangement_is_not_indicated(status, reason):
    found = revumenib.eligibility(case(kmt2a=status))
    assert found.verdict == "not-indicated"
    assert reason in found.reasons
    assert ("kmt2a-status" in found.missing_data) == (status is Kmt2aStatus.UNKNOWN)


def test_npm1_mutated_relapsed_aml_is_eligible_without_kmt2a():
    found = revumenib.eligibility(case(kmt2a=Kmt2aStatus.PTD, npm1=True))
    assert found.verdict == "eligible" and found.indication == "npm1-mutated-aml"


def test_npm1_mutated_all_is_not_indicated_and_unknown_lineage_is_asked():
    assert revumenib.eligibility(case(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True, lineage=Lineage.B_ALL)).verdict == "not-indicated"
    unknown = revumenib.eligibility(case(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True, lineage=Lineage.UNKNOWN))
    assert unknown.verdict == "cannot-check" and "lineage" in unknown.missing_data


@pytest.mark.parametrize("status", [DiseaseStatus.NEWLY_DIAGNOSED, DiseaseStatus.IN_REMISSION])
def test_first_line_or_remission_is_outside_the_label(status):
    found = revumenib.eligibility(case(status=status))
    assert found.verdict == "not-indicated"
    assert f"not-relapsed-refractory:{status.value}" in found.reasons


def test_continuation_in_remission_is_not_flagged():
    found = revumenib.eligibility(case(status=DiseaseStatus.IN_REMISSION, meds=("revumenib",)))
    assert found.verdict == "eligible" and "continuation-of-current-therapy" in found.reasons


def test_unknown_disease_status_or_age_cannot_be_checked():
    found = revumenib.eligibility(case(status=DiseaseStatus.UNKNOWN))
    assert found.verdict == "cannot-check" and found.missing_data == ("disease-status",)
    found = revumenib.eligibility(case(age_years=None))
    assert found.verdict == "cannot-check" and found.missing_data == ("age",)


@pytest.mark.parametrize("age_days, verdict", [(200, "off-label-age"), (364, "off-label-age"), (366, "eligible")])
def test_under_one_year_is_off_label(age_days, verdict):
    found = revumenib.eligibility(case(age_days=age_days, lineage=Lineage.B_ALL, weight=8, bsa=0.4))
    assert found.verdict == verdict
    assert ("age-under-1-year" in found.reasons) == (verdict == "off-label-age")


def test_ziftomenib_is_npm1_only():
    assert revumenib.eligibility(case(), "ziftomenib").verdict == "not-indicated"
    assert revumenib.eligibility(case(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True), "ziftomenib").verdict == "eligible"
    child = revumenib.eligibility(case(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True, age_years=12), "ziftomenib")
    assert child.verdict == "off-label-age" and "age-under-18-years" in child.reasons


def test_tablets_for_names_the_fewest_whole_tablets():
    assert revumenib.tablets_for(270) == "1 x 160 mg + 1 x 110 mg"
    assert revumenib.tablets_for(160) == "1 x 160 mg"
    assert revumenib.tablets_for(75) == "3 x 25 mg"
    assert revumenib.tablets_for(101) is None
