"""The assessment in cards a clinician reads in ten seconds (what kmt2a-patient-view answers).

Usually one card: the assessment (info), which leads with the conclusion ("Interfant-06 high risk: KMT2A::AFF1
B-ALL, 4 months at diagnosis"), then the one to three actions that follow, what it rests on (results by content
and date), and one line each for a pitfall, what is still needed, a source disagreement that changes the action, or
chart data that could not be read. Beside it, at most: one warning card for the cautions that need an action now,
and one warning card for missing data that blocks a risk group or a safety decision, with draft orders.
Which finding gets which indicator and where it is shown is data: the "patient_view" table of card_policy.json.

Full reasoning, every source and disagreement live in the `org.kmt2a-cds.assessment` extension and on the case
summary page, not on the card. A chart with no leukemia, or a KMT2A-negative leukemia with nothing KMT2A-relevant to
act on, gets no card.
"""

from __future__ import annotations

from typing import Iterable

from cds_service import knowledge
from cds_service.cards import toolkit as cardkit
from cds_service.smart import case_summary_link
from cds_service.stratification import kb
from cds_service.stratification.assessment import Assessment, Caution, Consideration, MissingItem, RiskGroup
from cds_service.stratification.engine import NON_BLOCKING
from cds_service.stratification.text import age

EXTENSION_KEY = "org.kmt2a-cds.assessment"
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


def policy() -> dict:
    """The patient-view section of the indicator policy table."""
    return knowledge.load("card_policy.json")["patient_view"]


def cards_for(assessment: Assessment, unavailable: Iterable[str] = ()) -> list[dict]:
    unavailable = tuple(unavailable)
    if not assessment.disease.has_leukemia:
        # Silence is right for an unrelated chart, wrong when we could not read whether it is one.
        unread = [k for k in unavailable if k in policy()["unavailable"]["leukemia_evidence_keys"]]
        return [unreadable_chart_card(assessment, unread)] if unread else []
    if not _kmt2a_relevant(assessment):
        return []
    unread = _unread_items(assessment, unavailable)  # may be in the chart: named once, never ordered
    cards = [assessment_card(assessment, unavailable, unread)]
    urgent = [c for c in assessment.cautions if _caution_policy(c.code)["shown"] == "card"]
    if urgent:
        cards.append(cautions_card(assessment, urgent, unread))
    # a test that resolves an urgent caution is ordered from the caution's card, once
    resolving = {code for c in urgent for code in _caution_policy(c.code).get("orders", ())}
    blocking = [m for m in _asked(assessment) if _blocking(m) and m.code not in resolving and m not in unread]
    if blocking:
        cards.append(missing_data_card(assessment, blocking))
    return cards


def _asked(a: Assessment) -> list[MissingItem]:
    """The missing data to ask for: not an item whose test is already part of another one's order."""
    subsumed = policy()["missing_data"]["subsumed_by"]
    return [m for m in a.missing if subsumed.get(m.code) not in a.missing_data]


def _unread_items(a: Assessment, unavailable: tuple[str, ...]) -> list[MissingItem]:
    """Missing data that an unread prefetch key may hold (WBC when the labs could not be read)."""
    holds = policy()["unavailable"]["may_hold"]
    codes = {code for key in unavailable for code in holds.get(key, ())}
    return [m for m in a.missing if m.code in codes]


def _kmt2a_relevant(a: Assessment) -> bool:
    """A KMT2A-negative leukemia, or one whose unknown KMT2A status decides nothing now (long in remission), with
    nothing to act on (no consideration, caution or missing item) is silent."""
    return a.kmt2a.status not in ("not-detected", "unknown") or bool(a.considerations or a.cautions or a.missing)


# --- wording helpers -------------------------------------------------------------------------------


def _fit(parts: list[str], sep: str = ", ") -> str:
    """Join `parts`, dropping whole trailing parts (never cutting a word) to stay under the summary limit."""
    for shown in range(len(parts), 0, -1):
        text = sep.join(parts[:shown])
        if len(text) <= SUMMARY_LIMIT:
            return text
    return parts[0][:SUMMARY_LIMIT].rsplit(" ", 1)[0]


def _listing(lead: str, items: list[str], sep: str = ", ") -> str:
    """`lead` + items, dropping whole items (counted as "+N more") rather than cutting one in half."""
    for shown in range(len(items), 0, -1):
        rest = len(items) - shown
        text = lead + sep.join(items[:shown]) + (f" (+{rest} more)" if rest else "")
        if len(text) <= SUMMARY_LIMIT:
            return text
    return _fit([lead.rstrip(" :")])


def _scheme(group: RiskGroup) -> str:
    entry = kb.section("schemes")[group.scheme]
    return f"{entry['label']} {entry['groups'].get(group.group, group.group)}"


LINEAGE_WORDS = {"unknown": "acute leukemia"}
MARKERS = {"amplified": "KMT2A-amplified (not rearranged)", "ptd": "KMT2A-PTD (not a rearrangement)",
           "not-detected": "KMT2A-negative"}


def _disease(a: Assessment) -> str:
    """'KMT2A::AFF1 B-ALL', 'KMT2A-amplified (not rearranged) B-ALL', 'AML, KMT2A status unknown'."""
    k = a.kmt2a
    lineage = LINEAGE_WORDS.get(a.disease.lineage, a.disease.lineage)
    if k.status == "rearranged":
        marker = k.fusion or (f"KMT2A::{k.partner}" if k.partner else "KMT2A-r (partner unknown)")
    else:
        marker = MARKERS.get(k.status)
    conflict = any(c.code == "kmt2a-evidence-conflict" for c in a.cautions)  # not unknown: tested, disagreeing
    disease = f"{marker} {lineage}" if marker else f"{lineage}, KMT2A {'results conflict' if conflict else 'status unknown'}"
    if a.disease.setting == "relapsed-refractory":
        disease = f"relapsed/refractory {disease}"
    if a.disease.therapy_related:
        disease = f"therapy-related {disease}"
    return disease


def _age(a: Assessment) -> str | None:
    p = a.patient
    if p.age_at_diagnosis_days is not None:
        return f"{age(p.age_at_diagnosis_days)} at diagnosis"
    if p.age_days is not None:
        return f"age {age(p.age_days)}"
    return {"infant": "infant", "child": "child", "adult": "adult"}.get(p.age_group)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _evidence(keys: Iterable[str], tag: str | None = None, level: str | None = None, link: bool = True,
              level_word: bool = True) -> str:
    """One short phrase with a link: '[FDA label](https://...)'; 'expert overview' when no primary source is cited.
    A source without a short name shows the claim's evidence level ("guideline"). An unverified claim says so."""
    key = _primary(keys)
    if key is None:
        return ""
    names = policy()["evidence_names"]
    entry = knowledge.source(key)
    kind = policy()["evidence_levels"].get(level or "")
    name = names.get(key) or kind or entry["label"].split(",")[0][:40]
    phrase = f"[{name}]({entry['url']})" if entry.get("url") and link else name
    # (issue 10) the claim's own tag in words when it is not verified, and its evidence level in a word
    tag_word = kb.section("tags").get(tag or "", "") if tag and tag not in ("V", kb.SERVICE_RULE) else ""
    if key == "SRC" and tag == "SRC":
        return tag_word
    same = kind and (kind.lower() in name.lower() or name.lower() in kind.lower())  # "case series" ~ "case reports"
    kind = f" ({kind})" if kind and level_word and not same and kind.split()[0] not in name.lower() else ""
    return phrase + kind + (f", {tag_word}" if tag_word else "")


def _primary(keys: Iterable[str]) -> str | None:
    """The first cited source a reader can open (the seed overview only when nothing else is cited)."""
    keys = list(dict.fromkeys(keys))
    return next((k for k in keys if k != "SRC" and knowledge.source(k).get("url")), keys[0] if keys else None)


def _claim_tag(entry: dict, claim: object) -> str | None:
    """The claim's own tag (issue 10 puts it on the assessment; until then, the knowledge entry's)."""
    return getattr(claim, "tag", None) or entry.get("tag")


# --- the assessment card ---------------------------------------------------------------------------


def assessment_card(a: Assessment, unavailable: tuple[str, ...] = (), unread: list[MissingItem] = ()) -> dict:
    disease = _disease(a)
    facts = [p for p in (_age(a),) if p]
    needs = _risk_group_needs(a)
    if a.risk_groups and (a.disease.setting == "relapsed-refractory" or all(g.history for g in a.risk_groups)):
        # at relapse (or back in remission after one) the disease leads; the group assigned at diagnosis is history
        dx_age = f" ({age(a.patient.age_at_diagnosis_days)})" if a.patient.age_at_diagnosis_days is not None else ""
        summary = _fit([f"{_capital(disease)}: {'; '.join(map(_scheme, a.risk_groups))} at diagnosis{dx_age}"])
    elif a.risk_groups:
        summary = _fit(["; ".join(map(_scheme, a.risk_groups)) + ": " + disease, *facts])
    elif [m for m in needs if not m.window_passed]:
        summary = _listing(f"{_capital(disease)}: risk group needs ", [_short(m) for m in needs if not m.window_passed])
    elif needs:  # (issue 10) only inputs whose time point has passed: say so, ask for nothing
        summary = _listing(f"{_capital(disease)}: no risk group, not recorded: ", [_short(m) for m in needs])
    else:
        summary = _fit([f"{_capital(disease)}: no KMT2A risk scheme applies", *facts])
    pending = [m for m in _asked(a) if not _blocking(m) and m not in unread]
    keys = [k for g in a.risk_groups for k in g.sources] or ["POLICY"]  # no group: the service speaks
    return cardkit.card(
        summary,
        policy()["assessment"]["indicator"],
        _source(keys, "risk-stratification"),
        detail=_assessment_detail(a, unavailable, pending, list(unread)),
        suggestions=_orders(a, pending),
        selection_behavior="any",
        override_reasons=OVERRIDES,
        links=[link for link in [case_summary_link()] if link],  # the full reasoning: the case summary app
        extension={EXTENSION_KEY: a.to_json()},
    )


def _source(keys: list[str], topic: str) -> dict:
    """The card's source: the service and the short name of its main source, linked."""
    key = _primary(keys) or "SRC"
    label = f"{cardkit.SERVICE_LABEL} · {policy()['evidence_names'].get(key, knowledge.source(key)['label'])}"
    return cardkit.source_for(key, topic) | {"label": label[:200]}


def _assessment_detail(a: Assessment, unavailable: tuple[str, ...], pending: list[MissingItem],
                       unread: list[MissingItem]) -> str:
    """The blocks in reading order; over the word budget, the least needed go first (all of them stay in the
    extension and on the case summary page): the other considerations, what is still needed (its orders stay
    as suggestions), the disagreement, the notes, then the third and second action. The first action, the basis,
    the disease-status reading and unread data always stay."""
    blocks = {"actions": _actions(a), "also": _also(a), "basis": _basis(a), "status": _disease_status(a),
              "notes": _notes(a), "still-needed": _still_needed(a, pending), "unread": _unread(a, unavailable, unread),
              "disagreement": _disagreement(a), "not-recorded": _not_recorded(pending)}
    count = None
    for droppable in (None, "also", "still-needed", "disagreement", "notes", "not-recorded", "levels", "action 3",
                      "action 2"):
        blocks.pop(droppable, None)
        if droppable == "levels":  # (issue 10) the evidence-level words go before a whole action does
            blocks["actions"] = _actions(a, count, levels=False)
        if droppable and droppable.startswith("action"):  # last resort: fewer actions, the first always stays
            count = int(droppable[-1]) - 1
            blocks["actions"] = _actions(a, count, levels=False)
        detail = "\n\n".join(b for b in blocks.values() if b)
        if cardkit.words(detail) <= cardkit.budget()["words_per_card"]:
            return detail
    # Still over: the basis alone is long. Its first parts stay, the rest is counted (all of it is in the
    # extension and on the case summary page).
    for shown in range(len(_basis_parts(a)) - 1, 0, -1):
        blocks["basis"] = _basis(a, shown)
        detail = "\n\n".join(b for b in blocks.values() if b)
        if cardkit.words(detail) <= cardkit.budget()["words_per_card"]:
            break
    return detail


def _ranked(a: Assessment) -> list[Consideration]:
    order = policy()["considerations"]["order"]
    lead = policy()["considerations"]["on_treatment_first"]
    first = [] if a.consideration(lead["unless"]) else lead["codes"]  # on the drug: its monitoring leads
    return sorted(a.considerations, key=lambda c: (first.index(c.code), 0) if c.code in first else
                  (len(first), order.index(c.code) if c.code in order else len(order)))


def _consideration_label(a: Assessment, c: Consideration) -> str:
    """The consideration's label, or the caution that qualifies it ("Revumenib off-label under 1 year")."""
    qualifiers = [kb.caution(q.code)["label"] for q in a.cautions
                  if _caution_policy(q.code)["shown"] == "label" and _qualifies(q, c)]
    label = qualifiers[0] if qualifiers else kb.consideration(c.code)["label"]
    return {"avoid": f"Avoid: {label}", "info": f"{label} (for information)"}.get(c.strength, label)


def _qualifies(caution: Caution, c: Consideration) -> bool:
    """A caution folded into a consideration's line (the off-label age qualifies the revumenib line)."""
    return _caution_policy(caution.code).get("qualifies") == c.code


def _actions(a: Assessment, count: int | None = None, levels: bool = True) -> str:
    """The first `count` considerations (the table's 'actions_shown' by default), each with its evidence."""
    if not a.considerations:
        return ""
    shown = _ranked(a)[: count or policy()["considerations"]["actions_shown"]]
    lines = ["**Consider**"] if all(c.strength == "consider" for c in shown) else []
    cited, linked = set(), set()
    for c in shown:
        entry = kb.consideration(c.code)
        key = _primary(c.citations)
        # a source is linked once; a later claim on it still says its own evidence level and tag (issue 10)
        evidence = _evidence(c.citations, _claim_tag(entry, c), getattr(c, "evidence", None), link=key not in linked,
                             level_word=levels)
        linked.add(key)
        repeat = evidence in cited  # the same phrase three times over is noise: say it at its first line
        cited.add(evidence)
        lines.append(f"- {_consideration_label(a, c)}{f' — {evidence}' if evidence and not repeat else ''}")
    return "\n".join(lines)


def _also(a: Assessment) -> str:
    """The considerations beyond the actions shown, by name."""
    rest = [kb.consideration(c.code)["label"] for c in _ranked(a)[policy()["considerations"]["actions_shown"]:]]
    return "Also: " + "; ".join(rest) + "." if rest else ""


def _basis_parts(a: Assessment) -> list[str]:
    dx_days = a.patient.age_at_diagnosis_days
    said = f"age at diagnosis {age(dx_days)}" if dx_days is not None else None
    # two groups often rest on the same results: each part once
    return [p for p in dict.fromkeys(p for g in a.risk_groups for b in g.basis for p in b.split("; ")) if p != said]


def _basis(a: Assessment, shown: int | None = None) -> str:
    """What the risk groups rest on, once: the basis lines of every group, without repeats (the age at diagnosis
    is already in the summary); `shown`: only the first parts, the rest counted."""
    lines = _basis_parts(a)
    if lines:
        rest = len(lines) - shown if shown is not None else 0
        return f"Based on: {'; '.join(lines[:shown])}{f' (+{rest} more)' if rest else ''}."
    if a.kmt2a.results:
        return f"KMT2A results: {'; '.join(a.kmt2a.results)}."
    return "No KMT2A result in the chart."


def _notes(a: Assessment) -> str:
    notes = [c for c in a.cautions if _caution_policy(c.code)["shown"] == "note"]
    if not notes:
        return ""
    parts = []
    for c in notes:
        entry = kb.caution(c.code)
        evidence = _evidence(entry["sources"], _claim_tag(entry, c))
        why = f": {c.note.rstrip('.')}" if c.note else ""  # the patient's own reason: which drug, since when
        parts.append(f"{entry['label']}{why}{f' — {evidence}' if evidence else ''}")
    return "**Note:** " + "; ".join(parts) + "."


def _disease_status(a: Assessment) -> str:
    """How the chart's disease status was read, when that decides which considerations apply."""
    read_as = policy()["chart_status_notes"].get(a.disease.chart_status) if a.considerations else None
    if not read_as or a.disease.setting == "relapsed-refractory":
        return ""
    return f"**Disease status:** {read_as}"


def _still_needed(a: Assessment, pending: list[MissingItem]) -> str:
    """One line for what is still needed, leaving out what an action already asks for ("Confirm the fusion
    partner"); its order stays a suggestion."""
    actions = " ".join(kb.consideration(c.code)["label"].lower() for c in a.considerations)
    pending = [m for m in pending if _short(m).lower() not in actions and not m.window_passed]
    if not pending:
        return ""
    items = [f"{_short(m)} (for {block_label(m.blocks[0])})" if m.blocks else _short(m) for m in pending]
    return "**Still needed:** " + "; ".join(items) + "."


def _not_recorded(pending: list[MissingItem]) -> str:
    """(issue 10) Time-bound inputs whose time point has passed: not ordered; one line on what that means."""
    passed = [m for m in pending if m.window_passed]
    if not passed:
        return ""
    means = dict.fromkeys(kb.missing_data(m.code)["window"]["means"] for m in passed)
    return (f"**Not recorded, time point passed:** {', '.join(_short(m) for m in passed)}: {'; '.join(means)} "
            "(ask the treating team what was assigned).")


def _unread(a: Assessment, unavailable: tuple[str, ...], unread: list[MissingItem]) -> str:
    """Data the EHR could not give, said once; the missing items it may hold are named, not ordered."""
    unavailable = tuple(k for k in unavailable if _unread_matters(a, k))
    if not unavailable:
        return ""
    names = policy()["unavailable"]["names"]
    what = ", ".join(dict.fromkeys(names.get(k, "some chart data") for k in unavailable))
    line = f"**Could not read {what} from the EHR:** this assessment may be incomplete"
    if unread:
        line += f"; {', '.join(_short(m) for m in unread)} may be recorded there"
    if a.consideration("menin-inhibitor") and any(k.lower().startswith("medication") for k in unavailable):
        line += "; " + policy()["unavailable"]["medications_unread"]  # the dose assumed no strong inhibitor
    return line + ". Reopen the chart to retry."


def _unread_matters(a: Assessment, key: str) -> bool:
    """Whether an unread key is worth a word on this card: one that holds only what some advice rests on (the
    Procedures: transplant history) is named only beside that advice, one listed 'named_only_when_missing' only
    when data it may hold is missing here; every other key always is."""
    table = policy()["unavailable"]
    advice = table["named_only_beside"].get(key)
    if advice is not None:
        return any(a.consideration(code) for code in advice)
    if key in table["named_only_when_missing"]["keys"]:
        return bool(set(table["may_hold"].get(key, ())) & set(a.missing_data))
    return True


def _disagreement(a: Assessment) -> str:
    """One line, once, and only for a disagreement that changes what the clinician does."""
    table = policy()["disagreements"]
    by_text = {entry["text"]: key for key, entry in kb.section("disagreements").items()}
    for text in a.disagreements:
        entry = table.get(by_text.get(text, ""), {})
        if "qualifies" in entry and not any(a.consideration(code) for code in entry["qualifies"]):
            continue  # the advice it is about was taken back (a transplant on record): nothing it changes now
        if entry.get("changes_action"):
            return f"**Sources differ:** {entry['line']}"
    return ""


# --- the unreadable chart --------------------------------------------------------------------------


def unreadable_chart_card(a: Assessment, unread: list[str]) -> dict:
    """Instead of silence: the chart may hold a leukemia we could not see. It carries the (partial) assessment,
    as every non-empty patient-view response does (contract)."""
    names = policy()["unavailable"]["names"]
    what = ", ".join(dict.fromkeys(names.get(k, "some chart data") for k in unread))
    return cardkit.card(
        _fit([f"KMT2A check not done: could not read {what} from the EHR"]),
        policy()["unavailable"]["indicator"],
        _source(["POLICY"], "data-unavailable"),
        detail="Reopen the chart to retry. If this persists, tell the CDS team: the EHR did not return these data.",
        extension={EXTENSION_KEY: a.to_json()},
    )


# --- cautions that need an action now ---------------------------------------------------------------


def _caution_policy(code: str) -> dict:
    """The table's entry for a caution; one the table does not list is a note, never a warning by default."""
    return policy()["cautions"].get(code, {"indicator": "info", "shown": "note"})


def cautions_card(a: Assessment, cautions: list[Caution], unread: list[MissingItem] = ()) -> dict:
    labels = [kb.caution(c.code)["label"] for c in cautions]
    paragraphs = []
    for c in cautions:
        entry = kb.caution(c.code)
        evidence = _evidence(c.citations or entry["sources"], _claim_tag(entry, c), getattr(c, "evidence", None))
        paragraphs.append(f"{entry['text']}{f' — {evidence}' if evidence else ''}")
        if c.note and _caution_policy(c.code).get("with_note"):
            paragraphs.append(f"This patient: {c.note}")
        if c.code == "kmt2a-evidence-conflict" and a.kmt2a.results:
            paragraphs.append("Results: " + "; ".join(a.kmt2a.results) + ".")
    keys = [k for c in cautions for k in (c.citations or kb.caution(c.code)["sources"])]
    level = "warning" if any(_caution_policy(c.code)["indicator"] == "warning" for c in cautions) else "info"
    resolving = {code for c in cautions for code in _caution_policy(c.code).get("orders", ())}
    tests = [m for m in a.missing if m.code in resolving and m not in unread]
    return cardkit.card(
        _listing("", labels, "; "),
        level,
        _source(keys, "safety-caution"),
        detail="\n\n".join(paragraphs),
        suggestions=_orders(a, tests),
        selection_behavior="any",
        override_reasons=OVERRIDES,
    )


# --- missing data ----------------------------------------------------------------------------------


BLOCK_LABELS = {
    "kmt2a-schemes": "the KMT2A risk schemes",
    "age": "the age-based risk schemes",
    "lineage": "the lineage-based risk schemes",
    "menin-inhibitor": "menin-inhibitor eligibility",
    "menin-inhibitor-dose": "the revumenib dose",
    "menin-inhibitor-start": "the revumenib pre-start check",
    "post-induction-therapy": "the step after induction",
    "apl-exclusion": "excluding acute promyelocytic leukemia",
}


STRATIFICATION_BLOCKS = {"kmt2a-schemes", "age", "lineage"}


def block_label(block: str) -> str:
    """What a missing item blocks, in words (the case summary page says it the same way)."""
    schemes = kb.section("schemes")
    return schemes[block]["label"] if block in schemes else BLOCK_LABELS.get(block, block.replace("-", " "))


def _short(m: MissingItem) -> str:
    return kb.missing_data(m.code).get("short", m.label)


def _blocking(m: MissingItem) -> bool:
    """Blocks a risk group or a safety decision due now (the engine's NON_BLOCKING are for later steps). An input
    whose time point has passed (issue 10: day-8 response, WBC at diagnosis) cannot be obtained: never blocking."""
    return bool(set(m.blocks) - NON_BLOCKING) and not m.window_passed


def _blocks_a_risk_group(m: MissingItem) -> bool:
    schemes = kb.section("schemes")
    return any(b in schemes or b in STRATIFICATION_BLOCKS for b in m.blocks)


def _risk_group_needs(a: Assessment) -> list[MissingItem]:
    """What keeps a risk group from being assigned (not what a drug dose or start needs)."""
    return [m for m in a.missing if _blocks_a_risk_group(m)]


def _order_label(m: MissingItem) -> str:
    """A whole sentence that fits a button: the table's label, else 'Order <the test>' when short enough."""
    labels = policy()["missing_data"]["order_labels"]
    if m.order.get("label"):  # (issue 10) a variant of the test carries its own label (KMT2A + RARA FISH)
        return m.order["label"]
    if m.code in labels:
        return labels[m.code]
    text = f"Order {m.order['text']}"
    return text if len(text) <= cardkit.budget()["suggestion_label_chars"] else f"Order the {_short(m)} test"


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
    if m.order.get("priority"):
        resource["priority"] = m.order["priority"]  # (issue 10) "stat": a possible APL cannot wait
    if patient:
        resource["subject"] = {"reference": patient}
    return resource


def _orders(a: Assessment, items: list[MissingItem]) -> list[dict]:
    return [
        cardkit.suggestion(
            _order_label(m),
            [cardkit.action("create", f"Draft order: {m.order['text']}", _service_request(m, a.patient_reference))],
            is_recommended=_blocking(m) or None,
        )
        for m in items
        if m.order
    ]


def _missing_line(m: MissingItem) -> str:
    blocks = list(dict.fromkeys(block_label(b) for b in m.blocks if b not in NON_BLOCKING))
    why = f": needed for {', '.join(blocks)}" if blocks else ""
    note = f" {m.note}" if m.note else ""
    return f"- **{_capital(_short(m))}**{why}.{note}"


def missing_data_card(a: Assessment, blocking: list[MissingItem]) -> dict:
    lead = "Missing for risk stratification: " if _risk_group_needs(a) else "Missing for a treatment decision: "
    keys = [k for m in blocking for k in m.citations] or ["POLICY"]
    detail = [*map(_missing_line, blocking), "", "No risk group or safety decision is given without these."]
    return cardkit.card(
        _listing(lead, [_short(m) for m in blocking]),
        policy()["missing_data"]["blocking"],
        _source(keys, "missing-data"),
        detail="\n".join(detail),
        suggestions=_orders(a, blocking),
        selection_behavior="any",
        override_reasons=MISSING_OVERRIDES,
    )

