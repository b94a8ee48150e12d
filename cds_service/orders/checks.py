"""Which draft orders are judged, and by which check: Case -> OrderChecks (pure, no HTTP, no cards).

- revumenib: indication, dose, co-medications, pre-start safety   (orders.revumenib_check)
- ziftomenib: indication (NPM1-mutated AML only; never KMT2A-r) and the once-daily dose
- gemtuzumab ozogamicin: indication (CD33), regimen and dose, VOD/SOS, hyperleukocytosis   (orders.gemtuzumab_check)
- any other order that interacts with revumenib the patient takes or is being ordered
Orders without an ingredient (the sandbox's empty draft) and unrelated orders are not judged.
"""

from __future__ import annotations

import re

from cds_service import knowledge
from cds_service.stratification import menin_inhibitors as revumenib
from cds_service.orders import doses
from cds_service.orders.model import OrderCheck
from cds_service.orders.gemtuzumab_check import check_gemtuzumab
from cds_service.orders.revumenib_check import check_revumenib, qt_level
from cds_service.orders.wording import (frequency_words, interaction_says, reason_text, short_reason, ziftomenib_lines,
                                     ziftomenib_summary)
from fhir_mappings.case import Case, DraftMedicationOrder, Kmt2aStatus
from cds_service.stratification.text import number


def rules() -> dict:
    return knowledge.load("order_checks.json")


def slug(ingredient: str) -> str:
    """The contract's medication name: "gemtuzumab ozogamicin" -> "gemtuzumab-ozogamicin"."""
    return re.sub(r"[^a-z0-9]+", "-", ingredient.lower()).strip("-")


def evaluate(case: Case, unread: frozenset[str] = frozenset()) -> tuple[OrderCheck, ...]:
    """One check per judged draft order (all draft orders: the handler filters by selection).
    `unread`: missing-data codes the EHR's record may hold but we could not read (per_call.unread_data):
    "medications" (so "no inhibitor" is not known), "prescriptions" (so "not on revumenib" is not known),
    "transplant-history" (so "no transplant" is not known)."""
    checks = (_check(case, order, unread) for order in case.draft_orders if order.ingredient)
    return tuple(check for check in checks if check is not None)


def _check(case: Case, order: DraftMedicationOrder, unread: frozenset[str]) -> OrderCheck | None:
    if order.ingredient == "revumenib":
        return check_revumenib(case, order, "medications" in unread)
    if order.ingredient == "ziftomenib":
        return check_ziftomenib(case, order)
    if order.ingredient == "gemtuzumab ozogamicin":
        return check_gemtuzumab(case, order, unread)
    return check_interacting_order(case, order, "prescriptions" in unread)


# --- ziftomenib ------------------------------------------------------------------------------------


def check_ziftomenib(case: Case, order: DraftMedicationOrder) -> OrderCheck:
    """Indication (NPM1-mutated AML only, never KMT2A-r) and the once-daily dose; words in orders.text."""
    entry = revumenib.table("ziftomenib")
    found = revumenib.eligibility(case, "ziftomenib")
    reasons, notes, findings = list(found.reasons), [], []
    verdict = {"eligible": "ok", "off-label-age": "not-indicated"}.get(found.verdict, found.verdict)
    lead = {"ok": "indication-fits", "not-indicated": "not-indicated"}.get(verdict, "indication-cannot-check")
    if case.kmt2a.status is Kmt2aStatus.REARRANGED and found.indication is None:
        verdict, lead = "not-indicated", "kmt2a-rearranged"
        reasons.insert(0, "kmt2a-rearranged")
        notes.append(("knowledge", {"text": entry["kmt2a_rearranged"]["text"], "tag": entry["kmt2a_rearranged"]["tag"]}))
    findings.append({"ok": None, "not-indicated": "not-indicated"}.get(verdict, "indication-cannot-check"))
    indication = entry["indications"][0]
    notes.append(("indication", {"text": indication["text"], "tag": indication["tag"]}))
    notes += [("reason", {"text": reason_text(r)}) for r in reasons if r != "kmt2a-rearranged"]
    dose_verdict, dose_findings, dose_notes, ordered = _ziftomenib_dose(case, order, entry)
    findings += dose_findings
    if verdict == "not-indicated":
        dose_notes = [n for n in dose_notes if n[0] != "dose-matches"]  # a fitting dose is beside the point
    notes = dose_notes + notes if dose_verdict not in ("ok", "cannot-check") else notes + dose_notes
    if verdict != "not-indicated" and dose_verdict in ("dose-too-high", "dose-too-low"):
        verdict, lead = dose_verdict, dose_verdict
    elif verdict == "ok" and dose_verdict == "cannot-check":
        verdict, lead = "cannot-check", "dose-cannot-check"
    elif verdict == "ok" and "dose-not-dispensable" in findings:
        verdict, lead = "dose-not-dispensable", "dose-not-dispensable"
    notes.append(("knowledge", {"text": entry["boxed"]["text"], "tag": entry["boxed"]["tag"]}))
    values = {"why": short_reason(reasons[0]) if reasons else "", "shown": _shown_once_daily(ordered),
              "plan": entry["dosing"]["text"]}
    group = "indication" if "not-indicated" in findings else "dose-high" if "dose-too-high" in findings else \
        "dose-low" if "dose-too-low" in findings else "missing-data"
    return OrderCheck(
        order=order.reference, medication="ziftomenib", verdict=verdict, kind="menin-inhibitor",
        summary=ziftomenib_summary(lead, values), lines=ziftomenib_lines(notes), reasons=tuple(reasons),
        missing_data=found.missing_data, ordered_dose=ordered.as_contract() if ordered else None,
        expected_dose={"value": entry["dosing"]["value"], "unit": "mg", "frequency": entry["dosing"]["frequency"]},
        sources=tuple(dict.fromkeys((entry["source"], entry["boxed"]["source"]))),
        unsafe=verdict in ("not-indicated", "dose-too-high"), problem=verdict != "ok",
        override_group=group, findings=tuple(f for f in findings if f),
    )


def _shown_once_daily(ordered) -> str:
    if ordered is None or ordered.mg is None:
        return ""
    per_day = ordered.doses_per_day or 1
    return f"{number(ordered.mg)} mg" + (f" x {per_day:g} a day" if per_day != 1 else " once daily")


def _ziftomenib_dose(case: Case, order: DraftMedicationOrder, entry: dict) -> tuple[str, list[str], list, object]:
    """(verdict, findings, notes, ordered dose) against the once-daily dose in the knowledge table (tag P: the
    card says to verify)."""
    plan = entry["dosing"]
    common = {"plan": plan["text"], "tag": plan["tag"], "verify": entry["dose_note"]["text"]}
    ordered = doses.ordered_dose(case, order)
    if ordered is None or ordered.mg is None:
        return "cannot-check", ["dose-cannot-check"], [("dose-unreadable", common)], ordered
    per_day = ordered.doses_per_day or plan["doses_per_day"]
    daily, expected = ordered.mg * per_day, plan["value"] * plan["doses_per_day"]
    tolerance = revumenib.dosing()["tolerance"]["fraction"] * expected
    shown = _shown_once_daily(ordered)
    verdict = "dose-too-high" if daily > expected + tolerance else "dose-too-low" if daily < expected - tolerance else "ok"
    if verdict != "ok":
        findings = [verdict]
        notes = [("dose-wrong", {**common, "shown": shown, "where": "above" if verdict == "dose-too-high" else "below"})]
    else:
        findings, notes = ["dose-not-verified"], [("dose-matches", {**common, "shown": shown})]
    capsule = entry["capsule_strengths_mg"]["values"][0]
    if ordered.mg % capsule:
        findings.append("dose-not-dispensable")
        notes.append(("not-whole-capsules", {"mg": number(ordered.mg), "capsule": number(capsule)}))
    if not ordered.doses_per_day:
        notes.append(("no-schedule", {}))
    return verdict, findings, notes, ordered


# --- an order that interacts with revumenib --------------------------------------------------------


def _revumenib_use_unknown(order: DraftMedicationOrder, matched: list[dict]) -> OrderCheck:
    """An interacting order for a patient whose leukemia revumenib treats, when the medication list could not be
    read: whether they take revumenib is unknown, so the card asks, with what applies if they do."""
    name = order.ingredient
    rules_text = " ".join(interaction_says("knowledge", text=rule["text"], tag=rule["tag"]) for rule in matched)
    return OrderCheck(
        order=order.reference, medication=slug(name), verdict="cannot-check", kind="interaction",
        summary=interaction_says("s-list-unread", drug=name.capitalize()),
        lines=(interaction_says("list-unread", rules=rules_text),),
        reasons=tuple([f"{rule['code']}:{name}" for rule in matched] + ["revumenib-use-unknown"]),
        missing_data=("medications",), sources=tuple(dict.fromkeys(rule["source"] for rule in matched)),
        problem=True, override_group="missing-data", findings=("medications-unknown",),
    )


def _revumenib_context(case: Case, order: DraftMedicationOrder) -> tuple[str | None, str | None]:
    """(how the patient gets revumenib: "active" | "co-order" | None, the draft revumenib order if any)."""
    draft = next((o.reference for o in case.draft_orders if o.ingredient == "revumenib" and o is not order), None)
    if revumenib.on_treatment(case):
        return "active", draft
    return ("co-order", draft) if draft else (None, None)


def check_interacting_order(case: Case, order: DraftMedicationOrder, medications_unknown: bool = False) -> OrderCheck | None:
    how, draft = _revumenib_context(case, order)
    matched = [rule for rule in rules()["interactions"] if rule["class"] in order.classes]
    if not matched:
        return None
    if how is None:
        # no revumenib seen: silent, unless the list that would show it could not be read for a patient it treats
        # (CYP3A4 inhibitors and inducers: they change or rule out the revumenib dose; a QT-prolonging drug alone
        # asks only for ECGs, which the revumenib order's own check schedules)
        exposure = [rule for rule in matched if rule["effect"] in ("reduce-dose", "avoid")]
        may_take = medications_unknown and bool(exposure) and revumenib.eligibility(case).indication is not None
        return _revumenib_use_unknown(order, exposure) if may_take else None
    name = order.ingredient
    reasons = [f"{rule['code']}:{name}" for rule in matched] + ["revumenib-" + ("active" if how == "active" else "co-ordered")]
    lines = [interaction_says("knowledge", text=rule["text"], tag=rule["tag"]) for rule in matched]
    findings = []
    for rule in matched:
        if rule["code"] == "qt-prolonging":
            findings.append(qt_level(case, name))
        elif rule["effect"] == "avoid":
            findings.append("inducer")
    values = {"drug": name.capitalize(), "name": name, "verify": revumenib.VERIFY_TEXT}
    if any(rule["effect"] == "reduce-dose" for rule in matched):
        reduced = revumenib.expected_dose(case, extra_inhibitors=[name])
        already = [other for other in revumenib.strong_cyp3a4_inhibitors(case) if other != name]
        if reduced.value is not None:
            values.update(dose=f"{number(reduced.value)} mg {frequency_words(reduced.frequency)}", basis=reduced.basis,
                          already=", ".join(already))
        if reduced.value is not None and already:
            # e.g. an azole switch: the revumenib dose should already be the reduced one, not be reduced again
            findings.append("inhibitor-accounted-for")
            key = "already-reduced"
        elif reduced.value is not None:
            findings.append("revumenib-dose-to-reduce")
            key = "reduce"
        else:
            findings.append("revumenib-dose-to-reduce")
            key, values["lacking"] = "reduce-unknown", ", ".join(reason_text(m) for m in reduced.missing_data)
        lines.insert(0, interaction_says(key, **values))
        summary = interaction_says(f"s-{key}", **values)
    else:
        rule = min(matched, key=lambda r: r["effect"] != "avoid")  # "avoid" first
        calm = findings == ["qt-prolonging-info"]
        summary = interaction_says("s-with", short=rule["short_info"] if calm else rule["short"], **values)
        if calm:
            lines = [interaction_says("qt-calm", tag=rule["tag"], **values)]
    return OrderCheck(
        order=order.reference, medication=slug(name), verdict="interaction", kind="interaction",
        summary=summary, lines=tuple(lines), reasons=tuple(reasons),
        sources=tuple(dict.fromkeys(rule["source"] for rule in matched)), problem=True,
        override_group="interaction", covered_by=draft, findings=tuple(dict.fromkeys(findings)),
    )
