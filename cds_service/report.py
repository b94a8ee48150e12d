"""The feedback report a CDS governance committee reviews: per card kind and knowledge version, how often the
card was shown, accepted, overridden (and why), and which suggestions were taken.

    kmt2a-cds report feedback [--since YYYY-MM-DD] [--format csv|json|html]

"Shown" counts the issued cards the store still holds (CDS_RETENTION_CARDS_DAYS); feedback rows are kept for
good and carry their card's kind and knowledge version. Free-text override comments are counted, never
printed: they may name a patient. The HTML form is one static page (inline CSS and SVG, nothing fetched).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import func, select

from cds_service.web.store import Feedback, IssuedCard, Store

NO_KIND = "(card not issued by this service)"
UNKNOWN_VERSION = "(unknown)"


@dataclass
class Row:
    kind: str
    knowledge_version: str
    shown: int = 0
    accepted: int = 0
    overridden: int = 0
    override_reasons: Counter = field(default_factory=Counter)
    override_comments: int = 0
    suggestions_taken: Counter = field(default_factory=Counter)

    @property
    def feedback(self) -> int:
        return self.accepted + self.overridden

    def rate(self, count: int) -> float | None:
        return round(count / self.shown, 3) if self.shown else None

    def to_json(self) -> dict:
        return {
            "kind": self.kind, "knowledgeVersion": self.knowledge_version, "shown": self.shown,
            "accepted": self.accepted, "overridden": self.overridden, "noFeedback": max(0, self.shown - self.feedback),
            "acceptedRate": self.rate(self.accepted), "overriddenRate": self.rate(self.overridden),
            "overrideReasons": [{"reason": r, "count": n} for r, n in self.override_reasons.most_common()],
            "overrideComments": self.override_comments,
            "suggestionsTaken": [{"suggestion": s, "count": n} for s, n in self.suggestions_taken.most_common()],
        }


def feedback_report(store: Store, since: datetime | None = None) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}

    def row(kind: str | None, version: str | None) -> Row:
        key = (kind or NO_KIND, version or UNKNOWN_VERSION)
        return rows.setdefault(key, Row(*key))

    with store.sessions() as session:
        shown = select(IssuedCard.kind, IssuedCard.knowledge_version, func.count()).group_by(
            IssuedCard.kind, IssuedCard.knowledge_version)
        if since:
            shown = shown.where(IssuedCard.issued_at >= since)
        for kind, version, count in session.execute(shown):
            row(kind, version).shown += count
        items = select(Feedback).order_by(Feedback.id)
        if since:
            items = items.where(Feedback.received_at >= since)
        labels = _suggestion_labels(session, since)
        for item in session.scalars(items).yield_per(1000):
            target = row(item.card_kind, item.knowledge_version)
            if item.outcome == "accepted":
                target.accepted += 1
                for suggestion in item.accepted_suggestions or []:
                    target.suggestions_taken[labels.get(suggestion, "(suggestion not on record)")] += 1
            else:
                target.overridden += 1
                reason = (item.override_reason or {}).get("reason") or {}
                target.override_reasons[reason.get("display") or reason.get("code") or "(no coded reason)"] += 1
                target.override_comments += bool((item.override_reason or {}).get("userComment"))
    return sorted(rows.values(), key=lambda r: (r.kind == NO_KIND, r.kind, r.knowledge_version))


def _suggestion_labels(session, since: datetime | None) -> dict[str, str]:
    """suggestion uuid -> its label, for the cards that got an accepted suggestion."""
    accepted = select(Feedback.card_uuid).where(Feedback.outcome == "accepted")
    if since:
        accepted = accepted.where(Feedback.received_at >= since)
    cards = select(IssuedCard.suggestions).where(IssuedCard.uuid.in_(accepted), IssuedCard.suggestions.is_not(None))
    return {s["uuid"]: s.get("label") or s["uuid"] for offered in session.scalars(cards) for s in offered or []
            if isinstance(s, dict) and s.get("uuid")}


# --- formats ----------------------------------------------------------------------------------------------


def as_json(rows: list[Row], since: datetime | None) -> str:
    return json.dumps({"report": "feedback", "generatedAt": _now(), "since": since.date().isoformat() if since else None,
                       "rows": [r.to_json() for r in rows]}, indent=2, ensure_ascii=False) + "\n"


def as_csv(rows: list[Row], since: datetime | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "knowledge_version", "shown", "accepted", "overridden", "no_feedback", "accepted_rate",
                     "overridden_rate", "override_reasons", "override_comments", "suggestions_taken"])
    for r in rows:
        j = r.to_json()
        writer.writerow([_cell(r.kind), _cell(r.knowledge_version), r.shown, r.accepted, r.overridden, j["noFeedback"],
                         _blank(j["acceptedRate"]), _blank(j["overriddenRate"]), _cell(_counts(r.override_reasons)),
                         r.override_comments, _cell(_counts(r.suggestions_taken))])
    return out.getvalue()


def as_html(rows: list[Row], since: datetime | None) -> str:
    period = f"since {since.date().isoformat()}" if since else "all recorded"
    body = [f"<h1>How the cards are received</h1><p>kmt2a-cds feedback report, {html.escape(period)}; generated "
            f"{html.escape(_now())}. Shown = cards issued and still on record; accepted and overridden come from the "
            "EHR's feedback calls.</p>", _chart(rows), "<table><thead><tr><th>Card kind</th><th>Knowledge version</th>"
            "<th>Shown</th><th>Accepted</th><th>Overridden</th><th>No feedback</th><th>Override reasons</th>"
            "<th>Suggestions taken</th></tr></thead><tbody>"]
    for r in rows:
        j = r.to_json()
        reasons = _counts(r.override_reasons) + (f"; {r.override_comments} with a comment" if r.override_comments else "")
        body.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            r.kind, r.knowledge_version, r.shown, _with_rate(r.accepted, j["acceptedRate"]),
            _with_rate(r.overridden, j["overriddenRate"]), j["noFeedback"], reasons or "–",
            _counts(r.suggestions_taken) or "–")) + "</tr>")
    if not rows:
        body.append('<tr><td colspan="8">No cards or feedback on record for this period.</td></tr>')
    body.append("</tbody></table>")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>kmt2a-cds feedback report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


FORMATS = {"json": as_json, "csv": as_csv, "html": as_html}
STYLE = ("body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-top:1em}"
         "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}"
         ".legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}")
COLOURS = {"accepted": "#2e7d32", "overridden": "#c62828", "no feedback": "#bdbdbd"}


def _chart(rows: list[Row]) -> str:
    """One horizontal stacked bar per row: accepted, overridden, no feedback, scaled to the most shown."""
    if not rows:
        return ""
    width, bar, label_w = 420, 18, 330
    top = max(max(r.shown, r.feedback) for r in rows) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width + 60}" height="{len(rows) * (bar + 8) + 8}" '
             'role="img" aria-label="Feedback per card kind">']
    for i, r in enumerate(rows):
        y, x = 4 + i * (bar + 8), label_w
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{html.escape(f"{r.kind} ({r.knowledge_version})"[:52])}</text>')
        for name, count in (("accepted", r.accepted), ("overridden", r.overridden),
                            ("no feedback", max(0, r.shown - r.feedback))):
            w = round(width * count / top, 1)
            if w:
                parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{bar}" fill="{COLOURS[name]}">'
                             f"<title>{name}: {count}</title></rect>")
            x += w
        parts.append(f'<text x="{x + 4}" y="{y + 13}" font-size="12">{max(r.shown, r.feedback)}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span style="background:{c}"></span>{n}' for n, c in COLOURS.items())
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _counts(counter: Counter) -> str:
    return "; ".join(f"{k} ({n})" for k, n in counter.most_common())


def _with_rate(count: int, rate: float | None) -> str:
    return f"{count} ({rate:.0%})" if rate is not None else str(count)


def _cell(text: str) -> str:
    """Override reasons come from the EHR: a text a spreadsheet would run as a formula is quoted."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _blank(value) -> str:
    return "" if value is None else str(value)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
