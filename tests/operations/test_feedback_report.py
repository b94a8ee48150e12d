"""The governance report on a store filled by real hook and feedback calls over HTTP (SQLite, and PostgreSQL when
.ci/run provides one): what the store records per issued card, and the csv, json and html forms."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import select

from cds_service import cli, knowledge
from cds_service.web.store import IssuedCard, Store
from tests.orders.test_requests import TODAY, add_active, adult
from tests.orders.test_http import complete
from tests.support.databases import DIALECTS, empty_database

PV_FIXTURE = "tests/fixtures/requests/patient-view-relapsed-child-aml.json"
COMMENT = "Jane Testperson's mother asked to wait"  # free text may name a patient: never printed
FORMULA = "=HYPERLINK(\"https://evil.example\")"  # an EHR-sent reason a spreadsheet must not run


def call(base: str, service: str, body: dict) -> list[dict]:
    response = requests.post(f"{base}/cds-services/{service}", json=body, timeout=20)
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def feedback(base: str, service: str, item: dict) -> None:
    item = {"outcomeTimestamp": "2026-11-21T09:00:00Z", **item}
    response = requests.post(f"{base}/cds-services/{service}/feedback", json={"feedback": [item]}, timeout=10)
    assert response.status_code == 200, response.text


@pytest.fixture(params=DIALECTS)
def filled(request, live_service, tmp_path):
    """A service whose store got 3 patient-view calls, 2 order-sign calls and feedback on 4 cards (one of them
    never issued). "accepted" names a suggestion (CDS Hooks), so only the order card can be accepted."""
    def topic(cards: list[dict], code: str) -> dict:
        return next(c for c in cards if c["source"]["topic"]["code"] == code)

    with empty_database(request.param, tmp_path) as url:
        base = live_service(database_url=url, reference_date=TODAY)
        pv = json.loads(open(PV_FIXTURE).read())
        views = [call(base, "kmt2a-patient-view", pv) for _ in range(3)]
        order = complete(add_active(adult(), "posaconazole 100 MG Delayed Release Oral Tablet", "282446"))
        signs = [call(base, "kmt2a-order-sign", order) for _ in range(2)]
        risk, other_risk = topic(views[0], "risk-stratification"), topic(views[1], "risk-stratification")
        taken, overridden = signs[0][0], signs[1][0]
        reason = overridden["overrideReasons"][0]
        feedback(base, "kmt2a-patient-view", {"card": other_risk["uuid"], "outcome": "overridden",
                                              "overrideReason": {"userComment": COMMENT}})
        feedback(base, "kmt2a-order-sign", {"card": taken["uuid"], "outcome": "accepted",
                                            "acceptedSuggestions": [{"id": taken["suggestions"][0]["uuid"]}]})
        feedback(base, "kmt2a-order-sign", {"card": overridden["uuid"], "outcome": "overridden",
                                            "overrideReason": {"reason": reason, "userComment": COMMENT}})
        feedback(base, "kmt2a-order-sign", {"card": "never-issued-here", "outcome": "overridden",
                                            "overrideReason": {"reason": {**reason, "display": FORMULA}}})
        yield {"url": url, "risk": risk, "taken": taken, "reason": reason,
               "issued": sum(len(cards) for cards in views + signs)}


def report(url: str, *options: str, capsys) -> str:
    capsys.readouterr()
    assert cli.main(["report", "feedback", "--database-url", url, *options]) == 0
    return capsys.readouterr().out


def test_each_issued_card_is_recorded_with_its_kind_rules_indicator_and_suggestions(filled):
    with Store(filled["url"]).sessions() as session:
        cards = {c.uuid: c for c in session.scalars(select(IssuedCard))}
    assert len(cards) == filled["issued"]
    risk = cards[filled["risk"]["uuid"]]
    scheme = filled["risk"]["extension"]["org.kmt2a-cds.assessment"]["riskGroups"][0]
    assert (risk.kind, risk.indicator) == ("risk-stratification", "info")
    assert risk.rule_ids == [f"{scheme['scheme']}:{scheme['group']}"] and risk.knowledge_version == knowledge.version()
    order = cards[filled["taken"]["uuid"]]
    assert order.kind == "order-check:menin-inhibitor" and order.indicator == filled["taken"]["indicator"]
    assert "strong-cyp3a4-inhibitor:posaconazole" in order.rule_ids
    assert order.suggestions == [{"uuid": s["uuid"], "label": s["label"]} for s in filled["taken"]["suggestions"]]


def test_json_report_counts_shown_accepted_overridden_reasons_and_suggestions(filled, capsys):
    out = json.loads(report(filled["url"], "--format", "json", capsys=capsys))
    rows = {(r["kind"], r["knowledgeVersion"]): r for r in out["rows"]}
    version = knowledge.version()
    risk = rows[("risk-stratification", version)]
    assert (risk["shown"], risk["accepted"], risk["overridden"], risk["noFeedback"]) == (3, 0, 1, 2)
    assert risk["overrideComments"] == 1 and risk["overrideReasons"] == [{"reason": "(no coded reason)", "count": 1}]
    orders = rows[("order-check:menin-inhibitor", version)]
    assert (orders["shown"], orders["accepted"], orders["overridden"]) == (2, 1, 1)
    assert orders["acceptedRate"] == 0.5
    assert orders["overrideReasons"] == [{"reason": filled["reason"]["display"], "count": 1}]
    assert orders["suggestionsTaken"] == [{"suggestion": filled["taken"]["suggestions"][0]["label"], "count": 1}]
    unknown = [r for r in out["rows"] if r["kind"].startswith("(card not issued")]
    assert len(unknown) == 1 and unknown[0]["overridden"] == 1 and unknown[0]["shown"] == 0
    assert COMMENT not in json.dumps(out)


def test_csv_and_html_forms(filled, capsys):
    table = list(csv.DictReader(io.StringIO(report(filled["url"], capsys=capsys))))
    orders = next(r for r in table if r["kind"] == "order-check:menin-inhibitor")
    assert (orders["shown"], orders["accepted"], orders["overridden"]) == ("2", "1", "1")
    assert orders["override_reasons"] == f"{filled['reason']['display']} (1)"
    unknown = next(r for r in table if r["kind"].startswith("(card not issued"))
    assert unknown["override_reasons"] == f"'{FORMULA} (1)"  # quoted: shown as text, never run
    page = report(filled["url"], "--format", "html", capsys=capsys)
    assert page.startswith("<!doctype html>") and "<svg" in page and "order-check:menin-inhibitor" in page
    for fetched in ("<script", "<link", "src=", "href=", "@import"):  # one static page: nothing loaded from elsewhere
        assert fetched not in page
    assert COMMENT not in page and COMMENT.replace("'", "&#x27;") not in page


def test_since_leaves_out_what_came_before(filled, capsys):
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    out = json.loads(report(filled["url"], "--format", "json", "--since", tomorrow, capsys=capsys))
    assert out["rows"] == [] and out["since"] == tomorrow
    with pytest.raises(SystemExit) as refused:
        cli.main(["report", "feedback", "--database-url", filled["url"], "--since", "last week"])
    assert refused.value.code == 2 and "not a date" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium (.ci/run installs Debian's)")
def test_html_report_renders_in_a_browser(filled, capsys, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(report(filled["url"], "--format", "html", capsys=capsys))
    done = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    dom = done.stdout
    assert "<svg" in dom and "<title>accepted: 1</title>" in dom and "<title>overridden: 1</title>" in dom
    kinds = json.loads(report(filled["url"], "--format", "json", capsys=capsys))["rows"]
    assert dom.count("<tr>") == 1 + len(kinds) >= 4  # the header, risk, order check, feedback on an unknown card
