"""A lineage switch read from the chart reaches the pitfall rule (stratification/pitfalls.py reads the new Case
fields); a report nobody could read, or a hedged result, is named on the missing-KMT2A item."""

from cds_service.stratification import assess
from tests.mappings.chart import AML, BALL, case_of, condition, report
from tests.mappings.reports import attachment, pdf



def test_switch_fires_the_lineage_switch_caution_with_both_lineages():
    case = case_of(condition(BALL, onset="2024-12-01", clinical="remission"),
                   condition(AML, text="AML, lineage switch after blinatumomab", onset="2025-07-15"))
    assert case.lineage_switch and case.lineage.value == "AML" and case.original_lineage.value == "B-ALL"
    a = assess(case)
    note = {c.code: c for c in a.cautions}["lineage-switch"].note  # it happened: no longer a watch
    assert "B-ALL (1 Dec 2024)" in note and "AML (15 Jul 2025)" in note
    assert "lineage-switch-monitoring" not in {c.code for c in a.considerations}


def test_a_second_therapy_related_leukemia_is_no_switch():
    case = case_of(condition(BALL, onset="2019-12-01", clinical="remission"),
                   condition(AML, text="Therapy-related AML", onset="2025-07-15"))
    assert not case.lineage_switch
    a = assess(case)
    assert "lineage-switch-monitoring" not in {c.code for c in a.considerations}
    assert "lineage-switch" not in {c.code for c in a.cautions}


def test_an_unreadable_report_is_named_where_kmt2a_is_missing():
    case = case_of(condition(BALL, onset="2025-01-10"),
                   report("Outside cytogenetics", when="2025-01-12",
                          presentedForm=[attachment("application/pdf", pdf([], scanned=True))]))
    missing = {m.code: m for m in assess(case).missing}
    note = missing["kmt2a-status"].note
    assert "Outside cytogenetics of 12 Jan 2025" in note and "without a text layer" in note


def test_a_hedged_result_is_quoted_where_kmt2a_is_missing():
    case = case_of(condition(BALL, onset="2025-01-10"),
                   report("Karyotype", when="2025-01-12", conclusion="KMT2A rearrangement cannot be excluded."))
    note = {m.code: m for m in assess(case).missing}["kmt2a-status"].note
    assert "Reported as uncertain" in note and "cannot be excluded" in note and "(12 Jan 2025)" in note
