from datetime import date

import pytest

from fhir_mappings import case_from_resources
from cds_service.stratification.facts import mrd_positive
from fhir_mappings.case import MrdMethod, MrdTimepoint
from tests.mappings.helpers import condition, observation, patient, qty

REF = date(2025, 6, 1)
DX = condition("dx", [{"system": "http://snomed.info/sct", "code": "277571004"}], onset="2025-03-01")


def build(*obs, dx=DX):
    return case_from_resources([patient(), dx, *obs] if dx else [patient(), *obs], reference_date=REF)


def test_wbc_at_diagnosis_is_first_within_seven_days():
    case = build(
        observation("w0", "6690-2", when="2025-02-10", valueQuantity=qty(8.0, "10*3/uL")),  # too early
        observation("w1", "26464-8", when="2025-02-27", valueQuantity=qty(312000, "/uL")),
        observation("w2", "6690-2", when="2025-03-02", valueQuantity=qty(280, "10*9/L")),
        observation("w3", "6690-2", when="2025-05-02", valueQuantity=qty(3.1, "10*3/uL")),
    )
    assert case.wbc_at_diagnosis.value == pytest.approx(312) and case.wbc_at_diagnosis.source.reference == "Observation/w1"
    assert case.wbc_latest.source.reference == "Observation/w3"


def test_no_diagnosis_date_no_wbc_at_diagnosis():
    case = build(observation("w", "6690-2", valueQuantity=qty(300, "10*9/L")), dx=None)
    assert case.wbc_at_diagnosis is None and case.wbc_latest.value == 300


def test_blasts_blood_and_marrow():
    case = build(
        observation("b1", "26446-5", when="2025-03-01", valueQuantity=qty(64, "%")),
        observation("b2", None, text="Blasts/100 cells in Bone marrow", when="2025-03-02", valueQuantity=qty(91, "%")),
    )
    assert case.blood_blasts.value == pytest.approx(0.64) and case.marrow_blasts.value == pytest.approx(0.91)


def test_day8_blasts_absolute_by_date_or_words_or_derived():
    absolute = observation("d8", "30376-8", when="2025-03-08", valueQuantity=qty(1500, "/uL"))
    assert build(absolute).day8_blood_blasts.value == pytest.approx(1.5)
    worded = observation("d8w", "30376-8", when="2025-03-12", text="Blasts abs, day 8 prednisone response",
                         valueQuantity=qty(0.4, "10*9/L"))
    assert build(worded).day8_blood_blasts.source.reference == "Observation/d8w"
    derived = build(observation("p", "26446-5", when="2025-03-08", valueQuantity=qty(10, "%")),
                    observation("w", "6690-2", when="2025-03-08", valueQuantity=qty(12, "10*3/uL")))
    assert derived.day8_blood_blasts.value == pytest.approx(1.2) and derived.day8_blood_blasts.method == "derived"
    assert len(derived.day8_blood_blasts.derived_from) == 2


def test_qtc_prefers_fridericia_on_the_latest_ecg():
    case = build(
        observation("qb", "76635-2", when="2025-05-01", valueQuantity=qty(470, "ms")),
        observation("qf", "76634-5", when="2025-05-01", valueQuantity=qty(455, "ms")),
        observation("old", "76634-5", when="2025-01-01", valueQuantity=qty(430, "ms")),
    )
    assert (case.qtc.value, case.qtc.method) == (455, "QTcF")
    bazett_only = build(observation("q", "8636-3", text="QTc (Bazett)", valueQuantity=qty(0.48, "s")))
    assert (bazett_only.qtc.value, bazett_only.qtc.method) == (480, "QTcB")


def test_qtc_in_ecg_panel_component():
    ecg = observation("ecg", None, text="12-lead ECG", component=[
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8634-8"}]}, "valueQuantity": qty(400, "ms")},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "76634-5"}]}, "valueQuantity": qty(441, "ms")}])
    ecg["code"]["coding"] = [{"system": "http://loinc.org", "code": "76634-5"}]
    assert build(ecg).qtc.value == 441


def test_weight_height_bsa():
    w = observation("w", "29463-7", when="2025-05-01", valueQuantity=qty(6100, "g"))
    h = observation("h", "8302-2", when="2025-05-01", valueQuantity=qty(62, "cm"))
    case = build(w, h)
    assert case.weight.value == pytest.approx(6.1) and case.bsa.method == "mosteller"
    assert case.bsa.value == pytest.approx((6.1 * 62 / 3600) ** 0.5, abs=1e-3)
    measured = observation("b", "8277-6", when="2025-05-02", valueQuantity=qty(0.33, "m2"))
    assert build(w, h, measured).bsa.method == "measured"
    stale = observation("b", "8277-6", when="2025-01-02", valueQuantity=qty(0.28, "m2"))
    assert build(w, h, stale).bsa.method == "mosteller"


@pytest.mark.parametrize("value, unit", [(1e308, "kg"), (6100, "kg"), (-3, "kg")])
def test_implausible_weight_is_reported_and_skipped_not_dosed_from(value, unit):
    # 6100 "kg" is an infant's 6100 g sent with the wrong unit: dosing from it would be a disaster.
    good = observation("w-ok", "29463-7", when="2025-04-01", valueQuantity=qty(6.0, "kg"))
    bad = observation("w-bad", "29463-7", when="2025-05-01", valueQuantity=qty(value, unit))
    case = build(good, bad)
    assert case.weight.source.reference == "Observation/w-ok"
    assert any(p.reference == "Observation/w-bad" and "plausible" in p.message for p in case.problems)


def test_potassium_magnesium():
    case = build(observation("k", "2823-3", valueQuantity=qty(3.2, "mmol/L")),
                 observation("mg", "19123-9", valueQuantity=qty(1.6, "mg/dL")))
    assert case.potassium.value == 3.2 and case.magnesium.value == pytest.approx(0.658, abs=1e-3)


def test_unit_missing_is_a_problem_not_a_guess():
    case = build(observation("w", "6690-2", valueQuantity={"value": 23.0}))
    assert case.wbc_latest is None and any("unit" in p.message for p in case.problems)


@pytest.mark.parametrize("value,expected,comparator,positive", [
    ({"valueQuantity": qty(0.02, "%")}, 2e-4, None, True),
    ({"valueQuantity": qty(0.01, "%", "<")}, 1e-4, "<", False),
    ({"valueQuantity": qty(3, "10*-4")}, 3e-4, None, True),
    ({"valueQuantity": qty(0.00005, "1")}, 5e-5, None, False),
    ({"valueString": "<0.01%"}, 1e-4, "<", False),
    ({"valueString": "2 x 10^-3"}, 2e-3, None, True),
    ({"valueString": "Day 29 marrow: 0.02 %"}, 2e-4, None, True),  # the day is not the result
    ({"valueQuantity": qty(0.05, "%", "<")}, 5e-4, "<", None),  # below 0.05 % may still be >= 0.01 %
    ({"valueQuantity": qty(0.5, "%", ">")}, 5e-3, ">", True),
    ({"valueString": "<0.01"}, None, None, None),  # 0.01 % or 0.01 (1 %)? neither value nor verdict
    ({"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260385009", "display": "Negative"}]}},
     None, None, False),
    ({"valueCodeableConcept": {"text": "Positive"}}, None, None, True),
])
def test_mrd_values(value, expected, comparator, positive):
    """The mapper reads value and comparator; positivity is judged once, by the rules' threshold (mrd_positive)."""
    o = observation("m", "67128-9", when="2025-03-30", **value)
    r = build(o).mrd_results[0]
    assert (r.comparator, mrd_positive(r)) == (comparator, positive)
    if r.value is not None:
        assert r.positive is None  # no coded interpretation in these resources: the mapper judges nothing
    assert (r.value is None) if expected is None else r.value == pytest.approx(expected)


def test_mrd_timepoint_by_words_and_by_date():
    worded = observation("m1", None, text="MRD (flow cytometry) - EOI", when="2025-05-20", valueQuantity=qty(0.1, "%"))
    dated = observation("m2", "72313-0", when="2025-03-30", valueQuantity=qty(0.001, "1"))
    later = observation("m3", "67128-9", when="2025-05-25", valueQuantity=qty(0.001, "%"),
                        note=[{"text": "End of consolidation. Assay sensitivity 0.001%"}])
    case = build(worded, dated, later)
    by_ref = {r.source.reference: r for r in case.mrd_results}
    assert by_ref["Observation/m1"].timepoint == MrdTimepoint.END_OF_INDUCTION
    assert by_ref["Observation/m1"].method == MrdMethod.FLOW
    assert by_ref["Observation/m2"].timepoint == MrdTimepoint.END_OF_INDUCTION and by_ref["Observation/m2"].method == MrdMethod.PCR
    assert by_ref["Observation/m3"].timepoint == MrdTimepoint.END_OF_CONSOLIDATION
    assert by_ref["Observation/m3"].sensitivity == pytest.approx(1e-5)
    assert case.mrd_end_of_induction.source.reference == "Observation/m1"  # the latest EOI result


@pytest.mark.parametrize("words,timepoint", [("MRD day 29 bone marrow", MrdTimepoint.END_OF_INDUCTION),
                                             ("MRD d33 (PCR IG/TCR)", MrdTimepoint.END_OF_INDUCTION),
                                             ("MRD pre-HSCT", MrdTimepoint.OTHER)])
def test_mrd_timepoint_words(words, timepoint):
    o = observation("m", None, text=words, when="2025-09-01", valueQuantity=qty(0.2, "%"))
    assert build(o).mrd_results[0].timepoint == timepoint


def test_markers():
    cd65 = observation("c65", "103203-6", valueQuantity=qty(35, "%"),
                       interpretation=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "POS"}]}])
    cd19 = observation("c19", None, text="CD19 on blasts (flow)", valueCodeableConcept={"text": "Negative"})
    case = build(cd65, cd19)
    got = {(m.marker, m.positive, round(m.fraction, 2) if m.fraction else None) for m in case.markers}
    assert got == {("CD65", True, 0.35), ("CD19", False, None)}


def test_flow_mrd_in_percent_is_read_as_a_fraction_and_judged_at_the_all_threshold():
    o = observation("m", "67128-9", when="2025-04-01", valueQuantity=qty(0.05, "%"))
    assert mrd_positive(build(o).mrd_results[0]) is True  # 0.05 % >= 0.01 % in B-ALL
    low = observation("m", "67128-9", when="2025-04-01", valueQuantity=qty(0.005, "%"))
    assert mrd_positive(build(low).mrd_results[0]) is False


@pytest.mark.parametrize("when,picked", [
    ("2025-02-22", True),   # day -7: the presenting count, drawn before the diagnosis was recorded
    ("2025-02-21", False),  # day -8: too early to be the diagnostic count
    ("2025-03-08", True),   # day +7
    ("2025-03-09", False),  # day +8
])
def test_wbc_at_diagnosis_window_edges(when, picked):
    case = build(observation("w", "6690-2", when=when, valueQuantity=qty(45, "10*9/L")))
    assert (case.wbc_at_diagnosis is not None) is picked
    assert case.wbc_latest.value == 45  # the count was read either way


def test_wbc_at_diagnosis_prefers_the_count_before_treatment_over_a_later_one():
    case = build(observation("later", "6690-2", when="2025-03-04", valueQuantity=qty(90, "10*9/L")),
                 observation("presenting", "6690-2", when="2025-02-28", valueQuantity=qty(410, "10*9/L")))
    assert case.wbc_at_diagnosis.source.reference == "Observation/presenting"


def test_csf_and_urine_counts_named_only_in_words_are_not_blood_counts():
    csf_wbc = observation("csf", "26465-5", when="2025-03-01", text="Leukocytes [#/volume] in Cerebral spinal fluid",
                          valueQuantity=qty(3, "/uL"))
    csf_blasts = observation("csfb", None, when="2025-03-01", text="Blasts", valueQuantity=qty(40, "%"),
                             specimen={"display": "CSF"})
    urine = observation("ur", None, when="2025-03-05", text="WBC, urine", valueQuantity=qty(12, "/uL"))
    blood = observation("wbc", None, when="2025-03-02", text="WBC", valueQuantity=qty(52, "10*3/uL"))
    case = build(csf_wbc, csf_blasts, urine, blood)
    assert case.wbc_at_diagnosis.source.reference == case.wbc_latest.source.reference == "Observation/wbc"
    assert case.blood_blasts is None


def test_blasts_named_only_in_words_on_a_marrow_specimen_are_marrow_blasts():
    aspirate = observation("bm", None, when="2025-03-01", text="Blasts", valueQuantity=qty(85, "%"),
                           specimen={"reference": "Specimen/bm", "display": "Bone marrow aspirate"})
    case = build(aspirate)
    assert case.blood_blasts is None and case.marrow_blasts.value == pytest.approx(0.85)


@pytest.mark.parametrize("words,is_day8", [
    ("Blasts, peripheral blood - start of prednisone prophase", False),
    ("Blasts, peripheral blood - after prednisone prophase", True),
    ("Peripheral blasts day 8 (prednisone response)", True),
])
def test_day8_words_name_the_end_of_prophase_not_its_start(words, is_day8):
    # dated day 2, so only the words can make it a day-8 count
    blasts = observation("b", None, text=words, when="2025-03-02", valueQuantity=qty(12000, "/uL"))
    assert (build(blasts).day8_blood_blasts is not None) is is_day8


def test_partial_and_zoned_dates_are_never_stretched_into_a_day():
    month_only = condition("dx", [{"system": "http://snomed.info/sct", "code": "277571004"}], onset="2025-03")
    wbc_month = observation("wm", "6690-2", when="2025-03", valueQuantity=qty(300, "10*9/L"))
    case = build(wbc_month, dx=month_only)
    assert case.diagnosis_date is None and case.wbc_at_diagnosis is None  # no day: no window, no guess
    assert case.wbc_latest.source.date is None
    zoned = observation("wz", "6690-2", when="2025-03-01T23:30:00-05:00", valueQuantity=qty(41, "10*9/L"))
    case = build(zoned)
    assert case.wbc_at_diagnosis.source.date == date(2025, 3, 1)  # the day as the lab wrote it
