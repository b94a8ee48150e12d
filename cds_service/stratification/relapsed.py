"""Relapsed/refractory KMT2A-rearranged leukemia: the menin inhibitor revumenib (eligibility and dose from
`cds_service.stratification.menin_inhibitors`, the single implementation shared with the order checks)."""

from __future__ import annotations

from cds_service.stratification import menin_inhibitors as revumenib
from fhir_mappings.case import Kmt2aStatus
from cds_service.stratification import text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rule

KMT2A_INDICATION = "kmt2a-translocation"
MENIN = "menin-inhibitor"
OFF_LABEL_AGE = "off-label-age"  # the rules.json population of a patient younger than the label's minimum age


def dose_summary(f: Facts, off_label: bool = False) -> str:
    """The label dose in words; `off_label`: the patient is outside the label's population, so the label's table is
    named for what it is (the dose the label gives from 1 year), never as this patient's label dose."""
    dose = revumenib.expected_dose(f.case)
    if dose.value is None:
        lacking = ", ".join(dose.missing_data) or "data"
        per = f" ({text.number(dose.per_m2)} mg/m2 {dose.frequency})" if dose.per_m2 else ""
        return f"Dose cannot be computed: {lacking} missing{per}. {revumenib.VERIFY_TEXT}"
    tablets = f", {text.number(dose.tablets_mg)} mg in whole tablets" if dose.tablets_mg and dose.tablets_mg != dose.value else ""
    inhibitors = [r.split(":", 1)[1] for r in dose.reasons if r.startswith("strong-cyp3a4-inhibitor:")]
    inhibitor_note = f" (reduced for strong CYP3A4 inhibitor {', '.join(inhibitors)})" if inhibitors else ""
    lead = "No label dose at this age; the label's table would give" if off_label else "Label dose"
    return (f"{lead} {text.number(dose.value)} mg {dose.frequency}{tablets}: {dose.basis}{inhibitor_note}; "
            f"28-day cycles [{dose.tag}]. {revumenib.VERIFY_TEXT}")


@rule("relapsed-refractory")
def relapsed_refractory(f: Facts, out: Findings) -> None:
    if not f.relapsed_or_refractory:
        return
    if f.kmt2a_status is Kmt2aStatus.UNKNOWN:
        out.missing("kmt2a-status", blocks=(MENIN,))
    elif f.rearranged:
        _menin_inhibitor(f, out)
    # amplification, PTD, germline: no label indication (their cautions say why)
    out.consider("clinical-trial", population="relapsed")


def _menin_inhibitor(f: Facts, out: Findings) -> None:
    verdict = revumenib.eligibility(f.case)
    # Outside the label's age the label is cited for its limit only; the trial is the evidence (rules.json).
    label_population = OFF_LABEL_AGE if verdict.verdict == "off-label-age" else None
    if any(revumenib.on_treatment(f.case, drug) for drug in ("revumenib", "ziftomenib")):
        # (issue 9) already on a menin inhibitor: never "consider starting" it; the considerations become
        # on-treatment monitoring (the patient-view monitoring card gives what is due: QTcF, ECG, electrolytes)
        out.consider("qtc-monitoring", note=f"Latest {text.measurement('QTc', f.case.qtc, 'ms')}." if f.case.qtc else None)
        out.consider("differentiation-syndrome-monitoring")
        out.consider("menin-inhibitor-bridge-to-hsct", population=label_population)
        return
    if verdict.indication != KMT2A_INDICATION:
        return
    for code in verdict.missing_data:
        out.missing(code, blocks=(MENIN,))
    if verdict.verdict == "off-label-age":
        out.consider(MENIN, strength="info", population=OFF_LABEL_AGE,
                     note=(f"Current age {text.age(f.case.age_days)}. " if f.case.age_days is not None else "")
                     + dose_summary(f, off_label=True))
        out.caution("menin-inhibitor-off-label-age")
        out.disagree("menin-inhibitor-label-age")
    elif verdict.verdict in ("eligible", "cannot-check"):
        out.consider(MENIN, note=dose_summary(f), population="kmt2a-rearranged")
    else:
        return
    dose = revumenib.expected_dose(f.case)
    for code in dose.missing_data:
        out.missing(code, blocks=("menin-inhibitor-dose",))
    if f.case.qtc is None:
        out.missing("qtc", blocks=("menin-inhibitor-start",))
    qtc = f"Latest {text.measurement('QTc', f.case.qtc, 'ms')}." if f.case.qtc else None
    out.consider("qtc-monitoring", note=qtc)
    out.consider("differentiation-syndrome-monitoring")
    out.consider("menin-inhibitor-bridge-to-hsct", population=label_population)
