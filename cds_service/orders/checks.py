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
from cds_service.orders.text import reason_text, short_reason
from fhir_mappings.case import Case, DraftMedicationOrder, Kmt2aStatus


def rules() -> dict:
    return knowledge.load("order_checks.json")


def slug(ingredient: str) -> str:
    """The contract's medication name: "gemtuzumab ozogamicin" -> "gemtuzumab-ozogamicin"."""
    return re.sub(r"[^a-z0-9]+", "-", ingredient.lower()).strip("-")


def evaluate(case: Case, medications_unknown: bool = False) -> tuple[OrderCheck, ...]:
    """One check per judged draft order (all draft orders: the handler filters by selection).
    `medications_unknown`: the medication list could not be had, so "no inhibitor" is not known."""
    checks = (_check(case, order, medications_unknown) for order in case.draft_orders if order.ingredient)
    return tuple(check for check in checks if check is not None)


def _check(case: Case, order: DraftMedicationOrder, medications_unknown: bool) -> OrderCheck | None:
    if order.ingredient == "revumenib":
        return check_revumenib(case, order, medications_unknown)
    if order.ingredient == "ziftomenib":
        return check_ziftomenib(case, order)
    if order.ingredient == "gemtuzumab ozogamicin":
        return check_gemtuzumab(case, order)
    return check_interacting_order(case, order)


# --- ziftomenib ------------------------------------------------------------------------------------


def check_ziftomenib(case: Case, order: DraftMedicationOrder) -> OrderCheck:
    entry = revumenib.table("ziftomenib")
    found = revumenib.eligibility(case, "ziftomenib")
    reasons, lines, findings = list(found.reasons), [], []
    verdict = {"eligible": "ok", "off-label-age": "not-indicated"}.get(found.verdict, found.verdict)
    if case.kmt2a.status is Kmt2aStatus.REARRANGED and found.indication is None:
        verdict = "not-indicated"
        reasons.insert(0, "kmt2a-rearranged")
        lines.append(f"{entry['kmt2a_rearranged']['text']} [{entry['kmt2a_rearranged']['tag']}]")
        summary = "Ziftomenib is not indicated in KMT2A-rearranged leukemia (NPM1-mutated AML only)"
    elif verdict == "ok":
        summary = "Ziftomenib: the NPM1-mutated AML indication fits"
    elif verdict == "not-indicated":
        summary = "Ziftomenib not indicated: " + short_reason(reasons[0])
    else:
        summary = "Ziftomenib: indication cannot be checked, data missing"
    findings.append({"ok": None, "not-indicated": "not-indicated"}.get(verdict, "indication-cannot-check"))
    lines.append(f"Indication: {entry['indications'][0]['text']} [{entry['indications'][0]['tag']}].")
    lines += [f"- {reason_text(r)}" for r in reasons if r != "kmt2a-rearranged"]
    dose_verdict, dose_findings, dose_lines, ordered = _ziftomenib_dose(case, order, entry)
    findings += dose_findings
    if verdict == "not-indicated":
        dose_lines = [line for line in dose_lines if "matches" not in line]  # a fitting dose is beside the point
    lines = dose_lines + lines if dose_verdict not in ("ok", "cannot-check") else lines + dose_lines
    if verdict == "ok" and "dose-not-dispensable" in findings and dose_verdict == "ok":
        verdict, summary = "dose-not-dispensable", "Ziftomenib: the dose cannot be made from whole capsules"
    if verdict != "not-indicated" and dose_verdict in ("dose-too-high", "dose-too-low"):
        verdict, summary = dose_verdict, dose_lines[0].split(":")[0]
    elif verdict == "ok" and dose_verdict == "cannot-check":
        verdict, summary = "cannot-check", "Ziftomenib: indication fits; the dose cannot be checked"
    lines.append(f"{entry['boxed']['text']} [{entry['boxed']['tag']}]")
    lead = "indication" if "not-indicated" in findings else "dose-high" if "dose-too-high" in findings else \
        "dose-low" if "dose-too-low" in findings else "missing-data"
    return OrderCheck(
        order=order.reference, medication="ziftomenib", verdict=verdict, kind="menin-inhibitor",
        summary=summary, lines=tuple(lines), reasons=tuple(reasons), missing_data=found.missing_data,
        ordered_dose=ordered.as_contract() if ordered else None,
        expected_dose={"value": entry["dosing"]["value"], "unit": "mg", "frequency": entry["dosing"]["frequency"]},
        sources=tuple(dict.fromkeys((entry["source"], entry["boxed"]["source"]))),
        unsafe=verdict in ("not-indicated", "dose-too-high"), problem=verdict != "ok",
        override_group=lead, findings=tuple(f for f in findings if f),
    )


def _ziftomenib_dose(case: Case, order: DraftMedicationOrder, entry: dict) -> tuple[str, list[str], list[str], object]:
    """(verdict, findings, lines, ordered dose) against the once-daily dose in the knowledge table (tag P: the
    card says to verify)."""
    plan = entry["dosing"]
    verify = f"[{plan['tag']}] {entry['dose_note']['text']}"
    ordered = doses.ordered_dose(case, order)
    if ordered is None or ordered.mg is None:
        return "cannot-check", ["dose-cannot-check"], [f"Dose not checked: the order states no dose in mg. Expected {plan['text']} {verify}"], ordered
    per_day = ordered.doses_per_day or plan["doses_per_day"]
    daily, expected = ordered.mg * per_day, plan["value"] * plan["doses_per_day"]
    tolerance = revumenib.dosing()["tolerance"]["fraction"] * expected
    shown = f"{revumenib.fmt(ordered.mg)} mg" + (f" x {per_day:g} a day" if per_day != 1 else " once daily")
    findings, lines, verdict = [], [], "ok"
    if daily > expected + tolerance:
        verdict = "dose-too-high"
    elif daily < expected - tolerance:
        verdict = "dose-too-low"
    if verdict != "ok":
        where = "above" if verdict == "dose-too-high" else "below"
        findings.append(verdict)
        lines.append(f"Ziftomenib {shown} is {where} {plan['text']}: correct the order. {verify}")
    else:
        findings.append("dose-not-verified")
        lines.append(f"Dose {shown} matches {plan['text']}. {verify}")
    capsule = entry["capsule_strengths_mg"]["values"][0]
    if ordered.mg % capsule:
        findings.append("dose-not-dispensable")
        lines.append(f"{revumenib.fmt(ordered.mg)} mg cannot be made from whole {capsule:g} mg capsules.")
    if not ordered.doses_per_day:
        lines.append("The order states no schedule; read as once daily.")
    return verdict, findings, lines, ordered


# --- an order that interacts with revumenib --------------------------------------------------------


def _revumenib_context(case: Case, order: DraftMedicationOrder) -> tuple[str | None, str | None]:
    """(how the patient gets revumenib: "active" | "co-order" | None, the draft revumenib order if any)."""
    draft = next((o.reference for o in case.draft_orders if o.ingredient == "revumenib" and o is not order), None)
    if revumenib.on_treatment(case):
        return "active", draft
    return ("co-order", draft) if draft else (None, None)


def check_interacting_order(case: Case, order: DraftMedicationOrder) -> OrderCheck | None:
    how, draft = _revumenib_context(case, order)
    if how is None:
        return None
    matched = [rule for rule in rules()["interactions"] if rule["class"] in order.classes]
    if not matched:
        return None
    name = order.ingredient
    reasons = [f"{rule['code']}:{name}" for rule in matched] + ["revumenib-" + ("active" if how == "active" else "co-ordered")]
    lines = [f"{rule['text']} [{rule['tag']}]" for rule in matched]
    summary = f"{name.capitalize()} interacts with revumenib"
    findings = []
    for rule in matched:
        if rule["code"] == "qt-prolonging":
            findings.append(qt_level(case, name))
        elif rule["effect"] == "avoid":
            findings.append("inducer")
    if any(rule["effect"] == "reduce-dose" for rule in matched):
        reduced = revumenib.expected_dose(case, extra_inhibitors=[name])
        already = [other for other in revumenib.strong_cyp3a4_inhibitors(case) if other != name]
        if reduced.value is not None and already:
            findings.append("inhibitor-accounted-for")
            # e.g. an azole switch: the revumenib dose should already be the reduced one, not be reduced again
            lines.insert(0, f"With {name}, the revumenib dose is {reduced.value:g} mg {reduced.frequency} ({reduced.basis}). "
                            f"The patient already takes {', '.join(already)}, also a strong CYP3A4 inhibitor: the current "
                            f"revumenib dose should already be this one; check it. {revumenib.VERIFY_TEXT}")
            summary = (f"{name.capitalize()} with revumenib: check revumenib is {reduced.value:g} mg {reduced.frequency} "
                       f"(already on {', '.join(already)})")
        elif reduced.value is not None:
            findings.append("revumenib-dose-to-reduce")
            dose = f"{reduced.value:g} mg {reduced.frequency} ({reduced.basis})"
            lines.insert(0, f"With {name}, the revumenib dose is {dose}: reduce the revumenib order while both are given. "
                            f"{revumenib.VERIFY_TEXT}")
            summary = f"{name.capitalize()} with revumenib: reduce revumenib to {reduced.value:g} mg {reduced.frequency}"
        else:
            findings.append("revumenib-dose-to-reduce")
            lines.insert(0, "Reduce the revumenib dose while both are given; the reduced dose cannot be computed: "
                            + ", ".join(reason_text(m) for m in reduced.missing_data) + ".")
            summary = f"{name.capitalize()} with revumenib: revumenib dose must be reduced"
    else:
        rule = min(matched, key=lambda r: r["effect"] != "avoid")  # "avoid" first
        calm = findings == ["qt-prolonging-info"]
        summary = f"{name.capitalize()} with revumenib: {rule['short_info'] if calm else rule['short']}"
        if calm:
            lines = [f"{name.capitalize()} also prolongs the QTc; the latest QTcF is normal and recent: ECG, potassium "
                     f"and magnesium as scheduled [{rule['tag']}]."]
    return OrderCheck(
        order=order.reference, medication=slug(name), verdict="interaction", kind="interaction",
        summary=summary, lines=tuple(lines), reasons=tuple(reasons),
        sources=tuple(dict.fromkeys(rule["source"] for rule in matched)), problem=True,
        override_group="interaction", covered_by=draft, findings=tuple(dict.fromkeys(findings)),
    )
