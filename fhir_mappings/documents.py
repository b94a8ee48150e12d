"""The words of a DiagnosticReport as labs send them: `conclusion`, `conclusionCode`, and the `presentedForm`
attachments -- text/plain, text/html (base64 `data`, or a `url` to a Binary in the same request) and application/pdf
with a text layer (pypdf). A PDF without text (a scan), an image, or a format we cannot read is named as unreadable,
never guessed at.

Reading a PDF costs milliseconds, so attachments are decoded only for reports that are worth reading (a haematology,
pathology or genetics report by its code, category or title), and a small attachment only once (a bounded cache).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from typing import Callable

from fhir_mappings import terminology as term
from fhir_mappings.access import concept_text, dicts, text_of

MAX_PDF_PAGES = 30
_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "pre", "hr", "dt",
               "dd", "ul", "ol"}
_CELL_TAGS = {"td", "th"}


@dataclass(frozen=True)
class ReportText:
    text: str  # everything readable, conclusion first
    unreadable: tuple[str, ...] = ()  # why an attachment could not be read, e.g. "a PDF without a text layer"


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._cells = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            self._cells = 0
        elif tag in _CELL_TAGS:
            self.parts.append(": " if self._cells else " ")  # a row "TP53 | not detected" reads "TP53: not detected"
            self._cells += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            self._cells = 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """Visible text of an HTML/XHTML fragment, one line per block element (so sentences stay apart)."""
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient, but a broken declaration can still raise
        pass
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _pdf_text(raw: bytes) -> tuple[str | None, str | None]:
    import pypdf  # imported on first use: most calls carry no PDF

    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            return None, "an encrypted PDF"
        text = "\n".join((page.extract_text() or "") for page in reader.pages[:MAX_PDF_PAGES])
    except Exception:  # pypdf raises many kinds on damaged files
        return None, "a PDF that could not be opened"
    if not text.strip():
        return None, "a PDF without a text layer (a scan?)"
    return text, None


CACHED_MAX_CHARS = 512 * 1024  # routing and mapping both read a report: small attachments are decoded once


def _decoded(content_type: str, data: str) -> tuple[str | None, str | None]:
    """The text of base64 `data`; remembered for small attachments only, so a worker never keeps large PDFs."""
    if len(data) <= CACHED_MAX_CHARS:
        return _decoded_cached(content_type, data)
    return _decode(content_type, data)


@lru_cache(maxsize=16)
def _decoded_cached(content_type: str, data: str) -> tuple[str | None, str | None]:
    return _decode(content_type, data)


def _decode(content_type: str, data: str) -> tuple[str | None, str | None]:
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None, f"a {content_type} attachment whose data is not base64"
    return _from_bytes(content_type, raw)


def _from_bytes(content_type: str, raw: bytes) -> tuple[str | None, str | None]:
    kind = content_type.split(";")[0].strip().lower()
    charset = re.search(r"charset=([\w-]+)", content_type, re.IGNORECASE)
    if kind == "application/pdf" or raw[:5] == b"%PDF-":
        return _pdf_text(raw)
    if kind.startswith("text/") or kind in ("application/xhtml+xml", "application/xml", ""):
        try:
            text = raw.decode(charset.group(1) if charset else "utf-8", errors="replace")
        except LookupError:
            text = raw.decode("utf-8", errors="replace")
        if kind in ("text/html", "application/xhtml+xml") or re.match(r"\s*<(!doctype|html|div|p|body)", text, re.I):
            return html_text(text), None
        if kind == "text/rtf":
            return None, "an RTF attachment"
        return text, None
    return None, f"a {kind} attachment" + (" (an image of the report?)" if kind.startswith("image/") else "")


Resolve = Callable[[str], "dict | None"]


def attachment_text(attachment: dict, resolve: Resolve | None = None) -> tuple[str | None, str | None]:
    """(text, None) or (None, why it is unreadable) for one Attachment; (None, None) when it carries nothing.
    An attachment by `url` is read when the url names a Binary sent in the same request (`resolve`)."""
    content_type = text_of(attachment.get("contentType"))
    data = attachment.get("data")
    if not isinstance(data, str) and isinstance(attachment.get("url"), str) and resolve:
        binary = resolve(attachment["url"])
        if isinstance(binary, dict) and binary.get("resourceType") == "Binary":
            data = binary.get("data")
            content_type = content_type or text_of(binary.get("contentType"))
    if not isinstance(data, str) or not data.strip():
        return (None, "an attachment that is only a link") if attachment.get("url") else (None, None)
    return _decoded(content_type, data)


def worth_reading(report: dict) -> bool:
    """Whether a report's code, category or attachment titles make its attachments worth decoding."""
    words = " ".join([concept_text(report.get("code")), *(concept_text(c) for c in dicts(report.get("category"))),
                      *(text_of(a.get("title")) for a in dicts(report.get("presentedForm")))])
    return bool(term.pattern("report_worth_reading").search(words))


def report_text(report: dict, resolve: Resolve | None = None, *, attachments: bool = True) -> ReportText:
    """Conclusion, coded conclusions and (when `attachments`) every readable attachment, in that order."""
    parts = [text_of(report.get("conclusion")), concept_text(report.get("conclusionCode"))]
    unreadable: list[str] = []
    if attachments:
        for attachment in dicts(report.get("presentedForm")):
            text, why = attachment_text(attachment, resolve)
            if text:
                parts.append(text)
            elif why:
                title = text_of(attachment.get("title"))
                unreadable.append(f"{why}{f' ({title})' if title else ''}")
    return ReportText("\n".join(p for p in parts if p and p.strip()), tuple(unreadable))
