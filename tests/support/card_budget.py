"""What a clinician sees, measured: every vignette and order fixture through the real handlers, cards as rendered.

A card is read in ten seconds (GUIDE, issue 11): few cards per response, a short detail measured on the
rendered markdown (what the CDS Hooks Sandbox shows), and none of the artefacts a developer would recognise
(FHIR ids, backticks, UCUM codes, code identifiers, rule versions, source keys, tag legends).

    from tests.support.card_budget import responses, measure
    for r in responses(): print(r.name, r.hook, measure(r.cards))

`python -m tests.support.card_budget` (or `make cards-report`) prints the distribution.
"""

from __future__ import annotations

import json
import pkgutil
import re
import statistics
import sys
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import fhir.resources.R4B as fhir_r4b
from markdown_it import MarkdownIt

from cds_service import knowledge
from cds_service.hooks.call import HookCall
from cds_service.hooks.handlers import HANDLERS

ROOT = Path(__file__).resolve().parents[2]
VIGNETTES = ROOT / "tests" / "fixtures" / "vignettes"
EHR_CHARTS = ROOT / "tests" / "fixtures" / "ehr_charts"  # CDS Hooks requests as Epic/Cerner-like EHRs send them
ORDER_FIXTURES = (
    ROOT / "tests" / "fixtures" / "orders" / "epic-order-select-revumenib-child.json",
    ROOT / "tests" / "fixtures" / "orders" / "sandbox-order-sign-revumenib-adult.json",
    ROOT / "tests" / "fixtures" / "fhir" / "order_sign_revumenib.json",
    ROOT / "tests" / "fixtures" / "requests" / "patient-view-relapsed-child-aml.json",
)
DEMO = ROOT / "demo"
ORDER_DATE = date(2026, 11, 21)  # the order fixtures' date (tests/orders/test_requests.py)
DEMO_DATE = date(2026, 11, 29)  # the demo charts' date (tests/cli/test_cards_command.py)
SERVICES = {"patient-view": "kmt2a-patient-view", "order-select": "kmt2a-order-select", "order-sign": "kmt2a-order-sign"}


def budget() -> dict:
    """The word and card budget, from the indicator policy table (one place for the numbers)."""
    return knowledge.load("card_policy.json")["budget"]


# --- the responses -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    name: str  # the fixture
    hook: str
    cards: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name} [{self.hook}]"


def _answer(hook: str, context: dict, prefetch: dict, today: date) -> list[dict]:
    call = HookCall(SERVICES[hook], hook, "2d7f3f2c-6a80-4b49-9b0a-2f1c3a1e9d10", context, prefetch, today)
    return HANDLERS[SERVICES[hook]](call)


def _chart_responses(paths, today: date) -> list[Response]:
    """Each chart Bundle as a patient-view call (the whole record as its prefetch)."""
    out = []
    for path in paths:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        context = {"patientId": patient["id"], "userId": "Practitioner/example"}
        out.append(Response(path.stem, "patient-view", _answer("patient-view", context, {"record": bundle}, today)))
    return out


def vignette_responses() -> list[Response]:
    from tests.fixtures.vignettes.build import REFERENCE_DATE

    return _chart_responses(sorted(VIGNETTES.glob("*.json")), REFERENCE_DATE)


def demo_responses() -> list[Response]:
    """The demo patients (written the way an EHR holds a chart: reports, panels, local codes)."""
    return _chart_responses(sorted(DEMO.glob("kmt2a-demo-*.json")), DEMO_DATE)


def order_fixture_responses() -> list[Response]:
    """Each order fixture through all three services: the chart opened, the orders selected, then signed."""
    out = []
    for path in ORDER_FIXTURES:
        request = json.loads(path.read_text(encoding="utf-8"))
        context, prefetch = request["context"], request.get("prefetch") or {}
        base = {"patientId": context["patientId"], "userId": context["userId"]}
        drafts = context.get("draftOrders")
        out.append(Response(path.stem, "patient-view", _answer("patient-view", base, prefetch, ORDER_DATE)))
        if not drafts:
            continue
        orders = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in drafts.get("entry", [])
                  if e.get("resource", {}).get("resourceType") == "MedicationRequest"]
        selections = context.get("selections") or orders
        select = base | {"selections": selections, "draftOrders": drafts}
        out.append(Response(path.stem, "order-select", _answer("order-select", select, prefetch, ORDER_DATE)))
        out.append(Response(path.stem, "order-sign", _answer("order-sign", base | {"draftOrders": drafts}, prefetch,
                                                             ORDER_DATE)))
    return out


def ehr_chart_responses() -> list[Response]:
    """Each EHR-shaped request through the service its hook names, as sent (tests/clinical/test_ehr_charts.py)."""
    from tests.fixtures.ehr_charts.build import TODAY

    out = []
    for path in sorted(EHR_CHARTS.glob("*.json")):
        request = json.loads(path.read_text(encoding="utf-8"))
        out.append(Response(path.stem, request["hook"], _answer(request["hook"], request["context"],
                                                                 request.get("prefetch") or {},
                                                                 date.fromisoformat(TODAY))))
    return out


def responses() -> list[Response]:
    return vignette_responses() + demo_responses() + order_fixture_responses() + ehr_chart_responses()


# --- rendering and measuring -----------------------------------------------------------------------------

_MARKDOWN = MarkdownIt("commonmark")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.code = False

    BLOCKS = {"p", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "br", "hr", "blockquote", "pre", "div"}

    def handle_starttag(self, tag, attrs):
        self.code = self.code or tag == "code"
        if tag in self.BLOCKS:  # inline tags (a link, bold) join their text to the words around them
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        self.parts.append(data)


def rendered(markdown: str) -> tuple[str, bool]:
    """(the text a reader sees, whether any of it is set as code) for a card's markdown detail."""
    parser = _Text()
    parser.feed(_MARKDOWN.render(markdown or ""))
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip(), parser.code


def words(text: str) -> int:
    return len(text.split())


RESOURCE_TYPES = {m.name for m in pkgutil.iter_modules(fhir_r4b.__path__)}
_REFERENCE = re.compile(r"\b([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}")


def _codes() -> set[str]:
    """Identifiers of the knowledge a clinician never needs to read: hyphenated codes such as
    'menin-inhibitor-off-label-age' or 'high-risk-partner' (one-word codes like 'weight' are plain words)."""
    rules = knowledge.load("rules.json")
    ids = set()
    for section in ("considerations", "cautions", "missing_data", "schemes", "rules"):
        ids |= set(rules[section])
    for scheme in rules["schemes"].values():
        ids |= set(scheme.get("groups", {}))
    return {i for i in ids if "-" in i and not i.startswith("_")} - ENGLISH


# Codes that are also plain clinical English ("therapy-related AML", "fusion-partner testing").
ENGLISH = {"therapy-related", "fusion-partner", "menin-inhibitor", "lineage-switch", "age-and-lineage"}


ARTEFACTS = {
    "backtick": re.compile(r"`"),
    "UCUM code": re.compile(r"\{[A-Za-z0-9_.'\-]+\}|\b10\*\d|\b/d\b"),
    "rule version": re.compile(r"\b[a-z0-9\-]+ v\d+\b|\bknowledge version\b", re.I),
    "source key": re.compile(r"\b(S\d{1,2}|SRC)\b"),
    "tag legend": re.compile(r"\bTags:"),
    "verification tag": re.compile(r"\[(V|P|U|SRC|POLICY)\]"),  # a code without its legend: say "unverified" in words
    "None": re.compile(r"\bNone\b|\bnull\b"),
    "ISO date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),  # the cards' one date style is "19 Nov 2026" (text.day)
}


def artefacts(text: str) -> list[str]:
    """What in `text` a clinician should never see on a card."""
    found = [name for name, pattern in ARTEFACTS.items() if pattern.search(text)]
    if any(m.group(1).lower() in RESOURCE_TYPES for m in _REFERENCE.finditer(text)):
        found.append("FHIR reference")
    codes = [c for c in _codes() if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
    if codes:
        found.append("code " + ", ".join(sorted(codes)))
    return found


@dataclass(frozen=True)
class CardMeasure:
    summary: str
    indicator: str
    words: int  # of the rendered detail
    artefacts: tuple[str, ...]
    labels: tuple[str, ...]  # suggestion labels


def measure_card(card: dict) -> CardMeasure:
    detail, as_code = rendered(card.get("detail", ""))
    visible = [card["summary"], card.get("detail", ""), card.get("source", {}).get("label", ""),
               *(s.get("label", "") for s in card.get("suggestions", [])),
               *(link.get("label", "") for link in card.get("links", []))]
    found = sorted({a for text in visible for a in artefacts(text)} | ({"code span"} if as_code else set()))
    return CardMeasure(card["summary"], card["indicator"], words(detail), tuple(found),
                       tuple(s.get("label", "") for s in card.get("suggestions", [])))


def over_budget(response: Response, limits: dict | None = None) -> list[str]:
    """Every way one response exceeds the budget (empty: within it)."""
    limits = limits or budget()
    cards = [measure_card(c) for c in response.cards]
    problems = []
    if len(cards) > limits["cards_per_response"]:
        problems.append(f"{len(cards)} cards (budget {limits['cards_per_response']})")
    total = sum(c.words for c in cards)
    if total > limits["words_per_response"]:
        problems.append(f"{total} words in the response (budget {limits['words_per_response']})")
    for c in cards:
        if c.words > limits["words_per_card"]:
            problems.append(f"{c.words} words on '{c.summary}' (budget {limits['words_per_card']})")
        if c.artefacts:
            problems.append(f"artefacts on '{c.summary}': {', '.join(c.artefacts)}")
        for label in c.labels:
            if label.endswith(("…", "...")) or not label[:1].isupper() or len(label) > limits["suggestion_label_chars"]:
                problems.append(f"suggestion label not a whole short sentence: '{label}'")
    return problems


# --- the report --------------------------------------------------------------------------------------------


def _spread(values: list[int]) -> str:
    if not values:
        return "none"
    return (f"median {statistics.median(values):g}, mean {statistics.mean(values):.2f}, max {max(values)}, "
            f"min {min(values)}")


def report(all_responses: list[Response]) -> str:
    lines = []
    for hooks in (("patient-view",), ("order-select", "order-sign")):
        group = [r for r in all_responses if r.hook in hooks]
        cards = [measure_card(c) for r in group for c in r.cards]
        per_response = [sum(measure_card(c).words for c in r.cards) for r in group]
        lines += [
            f"== {' / '.join(hooks)}: {len(group)} responses, {len(cards)} cards",
            f"cards per response:    {_spread([len(r.cards) for r in group])}",
            f"warnings per response: {_spread([sum(c['indicator'] == 'warning' for c in r.cards) for r in group])}"
            f" (total {sum(c.indicator == 'warning' for c in cards)}, in {sum(any(c['indicator'] == 'warning' for c in r.cards) for r in group)}"
            f" responses; critical {sum(c.indicator == 'critical' for c in cards)})",
            f"words per card:        {_spread([c.words for c in cards])}",
            f"words per response:    {_spread(per_response)}",
            f"cards with artefacts:  {sum(bool(c.artefacts) for c in cards)} of {len(cards)}",
            "",
        ]
    lines.append("== per response: cards (indicators) words | over budget")
    for r in all_responses:
        measures = [measure_card(c) for c in r.cards]
        marks = "".join(c.indicator[0].upper() for c in measures)
        problems = over_budget(r)
        lines.append(f"{r.label:60} {len(measures)} ({marks or '-':3}) {sum(c.words for c in measures):4}"
                     f"{' | ' + '; '.join(problems) if problems else ''}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(report(responses()) + "\n")
