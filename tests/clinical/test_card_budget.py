"""The ten-second budget over every vignette and order fixture, through the real handlers: cards per response, words
per card and per response on the rendered markdown, and no developer artefacts. `make cards-report` prints the
distribution; the budget itself is data (card_policy.json, "budget")."""

from __future__ import annotations

import pytest

from tests.support.card_budget import artefacts, budget, measure_card, over_budget, rendered, responses

RESPONSES = responses()

def _param(response):
    return pytest.param(response, id=response.label)


@pytest.mark.parametrize("response", [_param(r) for r in RESPONSES])
def test_response_is_within_the_budget(response):
    assert over_budget(response) == []


def test_every_fixture_is_measured():
    hooks = {r.hook for r in RESPONSES}
    assert hooks == {"patient-view", "order-select", "order-sign"}
    assert sum(r.hook == "patient-view" for r in RESPONSES) >= 40
    assert any(r.cards for r in RESPONSES if r.hook != "patient-view")


def test_most_charts_get_one_card():
    shown = [r for r in RESPONSES if r.hook == "patient-view" and r.cards]
    assert sum(len(r.cards) == 1 for r in shown) > len(shown) / 2


def test_warnings_are_rare():
    """Warnings only for an action due now: no response has more than two, and most have none."""
    counts = [sum(c["indicator"] == "warning" for c in r.cards) for r in RESPONSES if r.hook == "patient-view"]
    assert max(counts) <= 2 and counts.count(0) > len(counts) / 2


# --- the measuring itself can fail -------------------------------------------------------------------------


def test_words_are_counted_on_the_rendered_markdown():
    text, as_code = rendered("**Consider**\n- HSCT in CR1 ([TROPHY](https://example.org/a-very-long-url))\n\n`code`")
    assert text == "Consider HSCT in CR1 (TROPHY) code" and as_code
    assert measure_card({"summary": "s", "indicator": "info", "detail": "- one two\n- three"}).words == 3


@pytest.mark.parametrize("text, found", [
    ("WBC 450 x10^9/L (Observation/inf-hr-wbc of 2026-09-01)", "FHIR reference"),
    ("Rule `interfant-06 v1`", "backtick"),
    ("Take 2 {pill} twice daily", "UCUM code"),
    ("WBC 450 10*9/L", "UCUM code"),
    ("Rule interfant-06 v1 applied", "rule version"),
    ("Sources: S12, SRC", "source key"),
    ("verified [V]", "verification tag"),
    ("weight 28 kg on 2026-11-19 < 40 kg", "ISO date"),
    ("Tags: V verified", "tag legend"),
    ("strength consider, menin-inhibitor-off-label-age", "code menin-inhibitor-off-label-age"),
])
def test_artefacts_are_found(text, found):
    assert found in artefacts(text)


def test_clinical_text_is_not_an_artefact():
    clean = ("Interfant-06 high risk: KMT2A::AFF1 B-ALL, 3 months at diagnosis. Relapsed/refractory therapy-related AML; "
             "karyotype 46,XY,t(9;11)(p21.3;q23.3)[20] on 8 Mar 2025; revumenib 160 mg/m2 twice daily.")
    assert artefacts(clean) == []


def test_an_over_long_card_is_over_budget():
    from tests.support.card_budget import Response

    long_card = {"summary": "x", "indicator": "info", "detail": "word " * (budget()["words_per_card"] + 1)}
    assert over_budget(Response("synthetic", "patient-view", [long_card]))
    many = [{"summary": "x", "indicator": "info", "detail": "ok"}] * (budget()["cards_per_response"] + 1)
    assert over_budget(Response("synthetic", "patient-view", many))
