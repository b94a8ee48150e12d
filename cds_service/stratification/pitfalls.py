"""Pitfalls: lineage switch in KMT2A-r ALL, karyotypes that cannot name the partner, missing or conflicting KMT2A."""

from __future__ import annotations

from fhir_mappings.case import Kmt2aStatus
from cds_service.stratification import kb, text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rule


@rule("age-and-lineage")
def age_and_lineage(f: Facts, out: Findings) -> None:
    if not f.has_leukemia:
        return
    if f.lineage.value == "unknown":
        out.missing("lineage", blocks=("lineage",))
    if f.dx_age.exact is None and (f.is_infant_at_dx() is None or f.is_adult_at_dx() is None):
        out.missing("age", blocks=("age",))  # the age band at diagnosis cannot be told
    if f.case.disease_status.value == "unknown" and f.rearranged:
        out.missing("disease-status", blocks=("menin-inhibitor",))


@rule("kmt2a-testing")
def kmt2a_testing(f: Facts, out: Findings) -> None:
    if f.kmt2a_status is Kmt2aStatus.PTD:
        out.caution("ptd-not-rearrangement")  # in every lineage and age, not only where ELN applies
    if not f.has_leukemia or f.kmt2a_status is not Kmt2aStatus.UNKNOWN:
        return
    if f.case.kmt2a.conflicts:
        out.caution("kmt2a-evidence-conflict", note="Conflicting: " + "; ".join(f.case.kmt2a.conflicts) + ".")
    elif not f.kmt2a_status_due:
        return  # in remission long after diagnosis: nothing it would decide is due now
    findings = f.case.kmt2a.findings
    karyotype_only = bool(findings) and all(x.method == "karyotype" for x in findings)
    note = ("Only a karyotype was found; it cannot exclude a cryptic KMT2A rearrangement or name every partner."
            if karyotype_only else None)
    notes = [n for n in (note, _hedged_results(f), _unreadable_reports(f)) if n]
    # conflicting results: the same test again cannot settle them; another method, after the labs' review, can
    out.missing("kmt2a-status", blocks=("kmt2a-schemes",), note=" ".join(notes) or None,
                order="conflict" if f.case.kmt2a.conflicts else None)


def _hedged_results(f: Facts) -> str | None:
    """A lab that hedged ("cannot be excluded", "equivocal") gave no status: say what it wrote."""
    hedged = [x for x in f.case.kmt2a.findings if x.uncertain and x.text]
    if not hedged:
        return None
    return "Reported as uncertain: " + "; ".join(
        f"'{x.text}'{f' ({text.day(x.source.date)})' if x.source.date else ''}" for x in hedged) + "."


def _unreadable_reports(f: Facts) -> str | None:
    """Reports the service could not read (a scanned PDF): a person must read them; never guessed at."""
    docs = f.case.unreadable_documents
    if not docs:
        return None
    named = "; ".join(f"{d.title}{f' of {text.day(d.source.date)}' if d.source.date else ''} ({d.reason})"
                      for d in docs)
    return f"Not readable by this service, please read directly: {named}."


APL_VARIANT = "t11-17-may-be-apl"  # t(11;17)(q23;q21): ZBTB16::RARA acute promyelocytic leukemia, or KMT2A?


@rule("ambiguous-karyotype")
def ambiguous_karyotype(f: Facts, out: Findings) -> None:
    codes = set(f.case.kmt2a.ambiguities) | {x.ambiguity for x in f.case.kmt2a.findings if x.ambiguity}
    # APL is a myeloid leukemia: in an ALL the t(11;17) is only an unconfirmed KMT2A partner.
    apl_possible = APL_VARIANT in codes and not f.kmt2a_confirmed and not f.lineage.is_lymphoblastic
    for code in sorted(codes):
        if code == APL_VARIANT and not apl_possible:
            continue  # confirmed KMT2A-r by FISH or molecular testing, or a lymphoblastic leukemia
        if code != APL_VARIANT and f.partner:
            continue  # the partner is already named by a better test
        out.caution(code)  # every ambiguity code the mapper can emit has a text (tests/clinical/test_rules.py)
    if apl_possible:
        _possible_apl(out)
        return
    if codes and (not f.kmt2a_confirmed or not f.partner):
        out.consider("confirm-fusion-partner")
        out.missing("fusion-partner")
    if f.kmt2a_unconfirmed:
        out.missing("kmt2a-status", blocks=("kmt2a-schemes",))


def _possible_apl(out: Findings) -> None:
    """A possible APL variant is an emergency: one urgent FISH request with KMT2A and RARA probes (it also names a
    KMT2A partner, so no second partner-FISH order) and the coagulation work-up now."""
    out.missing("kmt2a-status", blocks=("kmt2a-schemes",), order="apl")
    out.missing("coagulation-work-up", blocks=("apl-exclusion",))


def _switch_triggers(f: Facts) -> list[str]:
    table = kb.section("lineage_switch")
    markers = [f"{m.marker} positive{text.on(m.source)}" for m in f.case.markers
               if m.marker in table["myeloid_markers"] and m.positive]
    therapies = [f"{m.ingredient}{text.on(m.source)}" for m in f.case.medications
                 if m.ingredient in table["cd19_directed_ingredients"] or table["cd19_directed_class"] in m.classes]
    return markers + list(dict.fromkeys(therapies))


def _switch_note(f: Facts) -> str:
    """'B-ALL diagnosed 1 Mar 2025, now AML (20 Nov 2026), after blinatumomab on 1 Sep 2025.'"""
    before, after = (f.case.lineage_switch_evidence + (None, None))[:2]
    when = [f" ({text.day(s.date)})" if s and s.date else "" for s in (before, after)]
    table = kb.section("lineage_switch")
    therapies = list(dict.fromkeys(
        f"{m.ingredient}{text.on(m.source)}" for m in f.case.medications
        if m.ingredient in table["cd19_directed_ingredients"] or table["cd19_directed_class"] in m.classes))
    after_therapy = f", after {', '.join(therapies)}" if therapies else ""
    return (f"{f.case.original_lineage.value}{when[0]}, now {f.case.lineage.value}{when[1]}{after_therapy}.")


@rule("lineage-switch")
def lineage_switch(f: Facts, out: Findings) -> None:
    if f.case.lineage_switch:  # it has happened (fhir_mappings found both lineages in one history): no longer a
        # watch but a relapse to treat in the new lineage; once back in remission, history (a note, not a warning)
        out.caution("lineage-switch" if f.relapsed_or_refractory else "lineage-switch-history", note=_switch_note(f))
        return
    if not (f.lineage.is_lymphoblastic and f.rearranged):
        return
    triggers = _switch_triggers(f)
    if triggers:
        out.consider("lineage-switch-monitoring", note=f"Triggered by: {', '.join(triggers)}.")
