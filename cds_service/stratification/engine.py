"""Run the rules over a Case, in order, and assemble the Assessment."""

from __future__ import annotations

from cds_service import knowledge
from cds_service.stratification.assessment import Assessment, DiseaseFacts, Kmt2aFacts, PatientFacts
from cds_service.stratification import adult_all, adult_aml, amplification, childhood_all, infant_all
from cds_service.stratification import pediatric_aml, pitfalls, relapsed, text, therapy_related, transplant
from cds_service.stratification.facts import Facts, facts_from_case
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import Rule
from fhir_mappings.case import Case, Kmt2aStatus

# Order matters only where a rule reads another's result (infant-hsct reads the Interfant-06 group).
RULES: tuple[Rule, ...] = (
    pitfalls.age_and_lineage,
    pitfalls.kmt2a_testing,
    pitfalls.ambiguous_karyotype,
    infant_all.interfant_06,
    infant_all.infant_mrd,
    infant_all.infant_hsct,
    infant_all.interfant_21,
    childhood_all.pediatric_all,
    pediatric_aml.pediatric_aml,
    adult_aml.eln_2022,
    adult_all.adult_all,
    amplification.kmt2a_amplified,
    therapy_related.therapy_related_rule,
    relapsed.relapsed_refractory,
    pitfalls.lineage_switch,
    transplant.transplant_on_record,  # last: it takes back transplant advice the rules above gave
)

# Missing data that does not block a risk group or a safety decision (the card is then info, not warning).
NON_BLOCKING = frozenset({"post-induction-therapy", "menin-inhibitor-dose", "menin-inhibitor-start"})


def assess(case: Case) -> Assessment:
    facts = facts_from_case(case)
    out = Findings(window_passed=facts.window_passed, relapsed=facts.past_first_line)
    for rule in RULES:
        rule(facts, out)
    return _assemble(facts, out)


def _assemble(f: Facts, out: Findings) -> Assessment:
    case = f.case
    status = f.kmt2a_status
    summary = case.kmt2a
    rearranged = status is Kmt2aStatus.REARRANGED
    return Assessment(
        knowledge_version=knowledge.version(),
        patient=PatientFacts(
            age_days=case.age_days,
            age_at_diagnosis_days=case.age_at_diagnosis_days,
            age_group=f.age_group,
            weight_kg=case.weight.value if case.weight else None,
            bsa_m2=case.bsa.value if case.bsa else None,
        ),
        disease=DiseaseFacts(
            lineage=case.lineage.value,
            setting=f.setting,
            therapy_related=therapy_related.therapy_related(f),
            has_leukemia=f.has_leukemia,
            diagnosis_date=case.diagnosis_date,
            chart_status=case.disease_status.value,
        ),
        kmt2a=Kmt2aFacts(
            status=status.value,
            partner=f.partner,
            fusion=summary.fusion if rearranged else None,
            copy_number=summary.copy_number if status is Kmt2aStatus.AMPLIFIED else None,
            copy_number_high=summary.copy_number_high if status is Kmt2aStatus.AMPLIFIED else None,
            evidence=summary.evidence,
            results=tuple(text.kmt2a_results(summary.findings).split("; ")) if summary.findings else (),
        ),
        risk_groups=tuple(out.risk_groups),
        considerations=out.considerations,
        cautions=out.cautions,
        missing=out.missing_items,
        disagreements=tuple(out.disagreements),
        rules_applied=tuple(out.rules_applied),
        patient_reference=f"Patient/{case.patient_id}" if case.patient_id else None,
    )


def blocks_stratification(assessment: Assessment) -> bool:
    """Does missing data that can still be obtained keep a risk group or a safety decision from being made?
    (An input whose time window has passed cannot be ordered: it is reported, not asked for.)"""
    return any(set(m.blocks) - NON_BLOCKING for m in assessment.missing if not m.window_passed)
