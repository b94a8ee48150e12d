"""Cards as a clinician would see them, in a terminal: indicator, summary, detail, source, suggestions and links.

`render(response, color=..., width=...)` returns text. The card detail is GitHub-flavoured markdown (as EHRs render
it): bold becomes bold (or stays as plain words without color), bullets stay bullets, paragraphs are wrapped.
"""

from __future__ import annotations

import re
import textwrap

INDICATOR_STYLE = {"critical": ("CRITICAL", "1;97;41"), "warning": ("WARNING", "1;30;43"), "info": ("INFO", "1;97;44")}
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_BULLET = re.compile(r"^(\s*)([-*+]|\d+\.)\s+")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_CODE = re.compile(r"`([^`]*)`")


def render(response: dict, *, color: bool = False, width: int = 100) -> str:
    cards = response.get("cards") or []
    if not cards:
        return "No cards: nothing to act on for this patient.\n"
    blocks = [_card(card, color, max(width, 40)) for card in cards]
    return "\n".join(blocks)


def _style(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def _card(card: dict, color: bool, width: int) -> str:
    label, code = INDICATOR_STYLE.get(card.get("indicator", "info"), (card.get("indicator", "?").upper(), "1"))
    lines = [f"{_style(f' {label} ', code, color)} {_style(card.get('summary', ''), '1', color)}"]
    for paragraph in _markdown_lines(card.get("detail", ""), color):
        lines += _wrap(paragraph, width)
    source = card.get("source") or {}
    if source.get("label"):
        lines += _wrap(f"Source: {source['label']}" + (f" <{source['url']}>" if source.get("url") else ""), width,
                       dim=color)
    for suggestion in card.get("suggestions") or []:
        mark = "*" if suggestion.get("isRecommended") else "-"
        lines += _wrap(f"[suggestion {mark}] {suggestion.get('label', '')}", width)
    for link in card.get("links") or []:
        lines += _wrap(f"[link] {link.get('label', '')} <{link.get('url', '')}>", width, dim=color)
    return "\n".join(lines) + "\n"


def _markdown_lines(detail: str, color: bool) -> list[str]:
    out = []
    for raw in detail.splitlines():
        line = _CODE.sub(r"\1", _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", raw.rstrip()))
        if heading := _HEADING.match(line):
            line = _style(heading.group(1), "1;4", color) if color else heading.group(1).upper()
        line = _BOLD.sub(lambda m: _style(m.group(1) or m.group(2), "1", color), line)
        out.append(_BULLET.sub(lambda m: f"{m.group(1)}• " if m.group(2) in "-*+" else m.group(0), line))
    while out and not out[-1]:
        out.pop()
    return out


def _wrap(text: str, width: int, dim: bool = False) -> list[str]:
    if not text.strip():
        return [""]
    bullet = _BULLET.match(text) or re.match(r"^(\s*)• ", text)
    hanging = " " * (len(bullet.group(0)) if bullet else 0)
    lines = textwrap.wrap(text, width - 2, initial_indent="  ", subsequent_indent="  " + hanging,
                          break_on_hyphens=False, break_long_words=False) or ["  "]
    return [f"\033[2m{line}\033[0m" if dim else line for line in lines]
