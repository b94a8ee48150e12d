"""A transplant on record: first-remission transplant advice that has been acted on is taken back."""

from __future__ import annotations

from cds_service.stratification import kb, text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rule


@rule("transplant-on-record")
def transplant_on_record(f: Facts, out: Findings) -> None:
    transplants = f.case.transplants
    advice = [code for code in kb.considerations_flagged("after_transplant", "withdraw") if out.has_consideration(code)]
    if not transplants or not advice:
        return
    diagnosed = f.case.diagnosis_date
    if diagnosed and any(t.date and t.date >= diagnosed for t in transplants):
        for code in advice:  # transplanted for this leukemia: "discuss a transplant" no longer applies
            out.withdraw(code)
        return
    if diagnosed and all(t.date for t in transplants):
        return  # every transplant predates this leukemia (an earlier disease): the advice stands as it is
    # Undated, or no diagnosis date to compare: it may or may not have been for this leukemia, so ask. With a
    # diagnosis date the question is an undated transplant (the dated ones all predate it): never quote their dates.
    dated = [t.date for t in transplants if t.date] if not diagnosed else []
    when = text.day(max(dated)) if dated else "date not recorded"
    note = kb.rule_meta("transplant-on-record")["note_timing_unknown"].format(when=when)
    for code in advice:
        out.consider(code, note=note)
