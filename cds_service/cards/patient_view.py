"""kmt2a-patient-view: the chart's KMT2A assessment as a few cards.

One assessment card (info, carrying the `org.kmt2a-cds.assessment` extension), then at most three focused cards:
treatment considerations (info), safety cautions (warning) and missing data (warning when it blocks a risk group
or a safety decision, with draft orders for the tests). A chart without leukemia and without a KMT2A result gets
no cards: an oncologist opening an unrelated chart expects silence.
"""

from __future__ import annotations

from typing import Iterable

from cds_service.cards import toolkit as cardkit
from cds_service.cards.order_cards import monitoring_cards
from cds_service.stratification.assessment import Assessment, Caution, Consideration, MissingItem, RiskGroup
from cds_service.hooks.call import HookCall, case_of
from cds_service.smart import case_summary_link
from cds_service.stratification import assess, blocks_stratification, kb, text

EXTENSION_KEY = "org.kmt2a-cds.assessment"
TAG_LEGEND = ("Tags: [V] verified in the source, [P] partly verified, [U] unverified (verify before use), "
              "[SRC] from the seed guideline overview only.")
SUMMARY_LIMIT = 139  # the spec's "< 140 characters"
OVERRIDES = (
    cardkit.override_reason("already-addressed", "Already addressed"),
    cardkit.override_reason("not-applicable", "Not applicable to this patient"),
    cardkit.override_reason("disagree-with-evidence", "Disagree with the evidence or the rule"),
)
MISSING_OVERRIDES = (
    cardkit.override_reason("already-ordered", "Already ordered or pending"),
    cardkit.override_reason("result-elsewhere", "Result available outside this chart"),
    cardkit.override_reason("not-applicable", "Not applicable to this patient"),
)


def patient_view(call: HookCall) -> list[dict]:
    case = case_of(call)
    cards = cards_for(assess(case), unavailable=call.unavailable)
    # (issue 9) a patient already on revumenib: the on-treatment monitoring card (QTcF, ECG, electrolytes) right
    # after the assessment card
    return cards[:1] + monitoring_cards(case) + cards[1:]


def cards_for(assessment: Assessment, unavailable: Iterable[str] = ()) -> list[dict]:
    if not assessment.disease.has_leukemia:
        return []
    cards = [assessment_card(assessment, tuple(unavailable))]
    if assessment.considerations:
        cards.append(considerations_card(assessment, tuple(unavailable)))
    safety = [c for c in assessment.cautions if c.safety]
    if safety:
        cards.append(cautions_card(safety))
    if assessment.missing:
        cards.append(missing_data_card(assessment))
    return cards


# --- wording helpers -------------------------------------------------------------------------------


def _fit(summary: str) -> str:
    return summary if len(summary) <= SUMMARY_LIMIT else summary[: SUMMARY_LIMIT - 1].rstrip(" ,;:") + "…"


def _listing(lead: str, items: list[str], sep: str) -> str:
    """`lead` + items, dropping whole items (counted as "+N more") rather than cutting one in half."""
    for shown in range(len(items), 0, -1):
        rest = len(items) - shown
        text = lead + sep.join(items[:shown]) + (f" (+{rest} more)" if rest else "")
        if len(text) <= SUMMARY_LIMIT:
            return text
    return _fit(lead + items[0]) if items else _fit(lead.rstrip(" :"))


def _scheme(group: RiskGroup) -> str:
    entry = kb.section("schemes")[group.scheme]
    return f"{entry['label']} {entry['groups'].get(group.group, group.group)}"


def _subject(a: Assessment) -> str:
    """'Infant KMT2A::AFF1 B-ALL', 'Adult KMT2A-amplified B-ALL', 'AML, KMT2A status unknown'."""
    ages = {"infant": "Infant", "child": "Child", "adult": "Adult"}
    lineage = a.disease.lineage if a.disease.lineage != "unknown" else "acute leukemia"
    k = a.kmt2a
    marker = {
        "rearranged": k.fusion or (f"KMT2A::{k.partner}" if k.partner else "KMT2A-r"),
        "amplified": "KMT2A-amplified",
        "ptd": "KMT2A-PTD",
        "not-detected": "KMT2A-germline",
    }.get(k.status)
    words = [ages.get(a.patient.age_group, ""), marker or "", lineage]
    subject = " ".join(w for w in words if w)
    if a.disease.setting == "relapsed-refractory":
        # "Relapsed/refractory infant ..." but never "kMT2A::AFF1": only the age word is lower-cased.
        age_word = ages.get(a.patient.age_group)
        subject = f"Relapsed/refractory {age_word.lower() + subject[len(age_word):] if age_word else subject}"
    if marker is None:
        subject += ", KMT2A status unknown"
    return subject


def _cite(keys: Iterable[str]) -> str:
    return kb.cite(keys)


def _rule_tag(label: str) -> str:
    """The verification tag of the rule as a whole ("[U]" when its thresholds are unverified)."""
    return f"[{kb.rule_meta(label.rsplit(' v', 1)[0])['tag']}]"


# --- the assessment card ---------------------------------------------------------------------------


def assessment_card(a: Assessment, unavailable: tuple[str, ...] = ()) -> dict:
    needs = _risk_group_needs(a)
    if a.risk_groups:
        summary = f"{_subject(a)}: " + "; ".join(_scheme(g) for g in a.risk_groups)
    elif needs:
        summary = _listing(f"{_subject(a)}: risk group needs ", [_short(m) for m in needs], ", ")
    else:
        summary = f"{_subject(a)}: no KMT2A risk scheme applies"
    keys = [k for g in a.risk_groups for k in g.sources] or ["SRC"]
    return cardkit.card(
        _fit(summary),
        "info",
        cardkit.source_for(keys[0], "risk-stratification"),
        detail=_assessment_detail(a, unavailable),
        links=[*cardkit.links_for(keys), *filter(None, [case_summary_link()])],
        extension={EXTENSION_KEY: a.to_json()},
    )


def _assessment_detail(a: Assessment, unavailable: tuple[str, ...]) -> str:
    lines = ["### Risk stratification"]
    for g in a.risk_groups:
        lines.append(f"**{_scheme(g)}** (`{g.scheme}` = `{g.group}`), decided from:")
        lines += [f"- {b}" for b in g.basis]
        lines.append(f"- Rule `{g.rule}` {_rule_tag(g.rule)}; sources: {_cite(g.sources)}")
        if g.would_change:
            lines.append(f"- What would change it: {g.would_change}")
        lines.append("")
    if not a.risk_groups:
        lines.append("No risk group was assigned.")
        needs = _risk_group_needs(a)
        if needs:
            lines.append("It needs: " + ", ".join(m.label for m in needs) + " (see the missing-data card).")
        lines.append("")
    lines.append("### KMT2A")
    lines.append(_kmt2a_line(a))
    if a.kmt2a.evidence:
        lines += [f"- {s}" for s in dict.fromkeys(a.kmt2a.evidence)]
    lines.append("")
    lines.append("### Patient")
    lines.append(_patient_line(a))
    if a.disagreements:
        lines += ["", "### Where sources disagree"]
        lines += [f"- {d}" for d in a.disagreements]
    if unavailable:
        lines += ["", f"Some chart data could not be retrieved ({', '.join(unavailable)}): this assessment may be incomplete."]
    lines += ["", f"Rules applied: {', '.join(a.rules_applied) or 'none'}. Knowledge version {a.knowledge_version}.", TAG_LEGEND]
    return "\n".join(lines).strip()


def _kmt2a_line(a: Assessment) -> str:
    k = a.kmt2a
    if k.status == "rearranged":
        partner = f", partner {k.partner}" if k.partner else ", partner not identified"
        return f"Rearranged{partner}{f' ({k.fusion})' if k.fusion else ''}. Based on:"
    if k.status == "amplified":
        copies = ""
        if k.copy_number:
            upper = f"-{k.copy_number_high:g}" if k.copy_number_high and k.copy_number_high != k.copy_number else ""
            copies = f" ({k.copy_number:g}{upper} copies)"
        return f"Amplified{copies}: not a rearrangement. Based on:"
    if k.status == "ptd":
        return "Partial tandem duplication: not a rearrangement. Based on:"
    if k.status == "not-detected":
        return "No KMT2A alteration detected (germline). Based on:"
    return "Status unknown: not tested, not readable, or results conflict." + (" Results seen:" if k.evidence else "")


# The contract has no "in remission" setting; say which way it was read, since a second remission is not first-line.
IN_REMISSION_NOTE = (" (the chart says in remission: read as first-line therapy; if this is a remission after relapse, "
                     "the first-line considerations do not apply)")

UNKNOWN_STATUS_NOTE = (" (no disease status in the chart: the first-line considerations assume newly diagnosed disease; "
                       "a relapse would change them)")


def _patient_line(a: Assessment) -> str:
    p, d = a.patient, a.disease
    parts = [f"age group {p.age_group}"]
    parts.append(f"diagnosed {d.diagnosis_date.isoformat()}" if d.diagnosis_date else "diagnosis date unknown")
    if p.age_at_diagnosis_days is not None:
        parts.append(f"age at diagnosis {text.age(p.age_at_diagnosis_days)}")
    if p.age_days is not None:
        parts.append(f"current age {text.age(p.age_days)}")
    parts.append(f"lineage {d.lineage}")
    notes = {"in-remission": IN_REMISSION_NOTE, "unknown": UNKNOWN_STATUS_NOTE}
    parts.append(f"setting {d.setting}" + notes.get(d.chart_status, ""))
    if d.therapy_related:
        parts.append("therapy-related")
    if p.weight_kg is not None:
        parts.append(f"weight {p.weight_kg:g} kg")
    if p.bsa_m2 is not None:
        parts.append(f"BSA {p.bsa_m2:g} m2")
    return "; ".join(parts) + "."


# --- focused cards ---------------------------------------------------------------------------------


OFF_LABEL_CODES = {"menin-inhibitor"}


def _off_label(a: Assessment) -> bool:
    return any(c.code == "menin-inhibitor-off-label-age" for c in a.cautions)


def _short(m: MissingItem) -> str:
    return kb.missing_data(m.code).get("short", m.label)


def _consideration_line(c: Consideration) -> str:
    entry = kb.consideration(c.code)
    strength = {"consider": "consider", "avoid": "avoid", "info": "for information"}[c.strength]
    note = f" {c.note}" if c.note else ""
    return f"- **{entry['label']}** ({strength}, `{c.code}`): {c.text}{note} Sources: {_cite(c.citations)}."


def _unchecked_medications(a: Assessment, unavailable: tuple[str, ...]) -> list[str]:
    """A menin-inhibitor dose computed without the medication lists may miss a strong CYP3A4 inhibitor."""
    lists = [key for key in unavailable if key.lower().startswith("medication")]
    if not lists or a.consideration("menin-inhibitor") is None:
        return []
    return [f"**Medication lists could not be retrieved ({', '.join(lists)}):** the revumenib dose below assumes no "
            "strong CYP3A4 inhibitor. Check the current medications before ordering.", ""]


def considerations_card(a: Assessment, unavailable: tuple[str, ...] = ()) -> dict:
    labels = [kb.consideration(c.code)["label"] + (" (off-label)" if c.code in OFF_LABEL_CODES and _off_label(a) else "")
              for c in a.considerations]
    summary = _listing("Consider: ", labels, "; ")
    detail = ["### Treatment considerations", *_unchecked_medications(a, unavailable),
              *map(_consideration_line, a.considerations), "", TAG_LEGEND]
    if a.disagreements:
        detail += ["", "Where sources disagree, the wording is 'consider': see the assessment card."]
    keys = [k for c in a.considerations for k in c.citations]
    return cardkit.card(
        _fit(summary),
        "info",
        cardkit.source_for(a.considerations[0].citations[0], "treatment-considerations"),
        detail="\n".join(detail),
        links=cardkit.links_for(keys),
        override_reasons=OVERRIDES,
    )


def _caution_line(c: Caution) -> str:
    entry = kb.caution(c.code)
    return f"- **{entry['label']}** (`{c.code}`): {c.text} Sources: {_cite(entry['sources'])}."


def cautions_card(cautions: list[Caution]) -> dict:
    first = kb.caution(cautions[0].code)["label"]
    more = f" (+{len(cautions) - 1} more)" if len(cautions) > 1 else ""
    keys = [k for c in cautions for k in kb.caution(c.code)["sources"]]
    return cardkit.card(
        _fit(f"Caution: {first}{more}"),
        "warning",
        cardkit.source_for(keys[0], "safety-caution"),
        detail="\n".join(["### Safety cautions", *map(_caution_line, cautions)]),
        links=cardkit.links_for(keys),
        override_reasons=OVERRIDES,
    )


BLOCK_LABELS = {
    "kmt2a-schemes": "the KMT2A risk schemes",
    "age": "the age-based risk schemes",
    "lineage": "the lineage-based risk schemes",
    "menin-inhibitor": "menin-inhibitor eligibility",
    "menin-inhibitor-dose": "the revumenib dose",
    "menin-inhibitor-start": "the revumenib pre-start check",
    "post-induction-therapy": "the step after induction",
}


STRATIFICATION_BLOCKS = {"kmt2a-schemes", "age", "lineage"}


def _block_label(block: str) -> str:
    schemes = kb.section("schemes")
    return schemes[block]["label"] if block in schemes else BLOCK_LABELS.get(block, block)


def _missing_line(m: MissingItem) -> str:
    blocks = list(dict.fromkeys(_block_label(b) for b in m.blocks))
    why = f" Needed for: {', '.join(blocks)}." if blocks else ""
    order = f" To order: {m.order['text']}." if m.order else " Record it in the chart."
    note = f" {m.note}" if m.note else ""
    return f"- **{m.label}** (`{m.code}`).{note}{why}{order}"


def _service_request(m: MissingItem, patient: str | None) -> dict:
    code = {"text": m.order["text"]}
    if m.order.get("coding"):
        code["coding"] = m.order["coding"]
    resource = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "code": code,
        "reasonCode": [{"text": f"KMT2A leukemia risk stratification: {m.label.lower()} missing"}],
    }
    if patient:
        resource["subject"] = {"reference": patient}
    return resource


def _missing_source(items: Iterable[MissingItem]) -> str:
    keys = [k for m in items for k in kb.missing_data(m.code).get("sources", ())]
    return keys[0] if keys else "SRC"


def _blocks_a_risk_group(m: MissingItem) -> bool:
    schemes = kb.section("schemes")
    return any(b in schemes or b in STRATIFICATION_BLOCKS for b in m.blocks)


def _risk_group_needs(a: Assessment) -> list[MissingItem]:
    """What keeps a risk group from being assigned (not what a drug dose or start needs)."""
    return [m for m in a.missing if _blocks_a_risk_group(m)]


def missing_data_card(a: Assessment) -> dict:
    blocking = blocks_stratification(a)
    stratifying = bool(_risk_group_needs(a))
    lead = "Missing for risk stratification: " if stratifying else "Missing for a treatment decision: "
    summary = _listing(lead if blocking else "Still needed: ", [_short(m) for m in a.missing], ", ")
    suggestions = [
        cardkit.suggestion(
            f"Order {m.order['text']}"[:80],
            [cardkit.action("create", f"Draft order: {m.order['text']}", _service_request(m, a.patient_reference))],
            is_recommended=bool(set(m.blocks)) or None,
        )
        for m in a.missing
        if m.order
    ]
    detail = ["### Missing data", *map(_missing_line, a.missing)]
    if blocking:
        detail += ["", "No risk group or safety decision is given where these are missing; nothing is guessed."]
    return cardkit.card(
        _fit(summary),
        "warning" if blocking else "info",
        cardkit.source_for(_missing_source(a.missing), "missing-data"),
        detail="\n".join(detail),
        suggestions=suggestions,
        selection_behavior="any",
        override_reasons=MISSING_OVERRIDES,
    )
