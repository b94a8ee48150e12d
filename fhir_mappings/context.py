"""ConText-style assertions: is a gene finding in a statement negated, uncertain, historical, subclonal, mosaic?

The rules are data (terminology/context_rules.json: trigger, category, direction, terminators), applied the way
ConText does (Harkema et al. 2009): a trigger modifies the findings within its scope, in its direction, and a scope
stops at a terminator, or at a result word that closes a statement about another gene ("no FLT3 variant detected and
KMT2A::AFF1 detected"). What is ours is how far a scope reaches across commas: only while the
statement before the comma is an incomplete list item ("no NPM1, FLT3 or IDH1 variant detected" negates all three;
"no TP53 mutation, KMT2A::AFF1 detected" negates TP53 only). `sentence_statements()` does that cut, `assertion()` the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Pattern

from fhir_mappings import cytogenetics
from fhir_mappings import terminology as term

QUALIFIERS = ("historical", "subclone", "mosaic")
_SENTENCES = re.compile(r"\n|\.\s+(?=[A-Z(])")  # and ";" outside brackets: "t(9;11)" is no sentence end


@dataclass(frozen=True)
class Trigger:
    start: int
    end: int
    category: str  # negated, possible, deferred, historical, subclone, mosaic, result
    direction: str  # forward, backward, bidirectional


@dataclass(frozen=True)
class Assertion:
    negated: bool = False
    uncertain: bool = False
    qualifiers: tuple[str, ...] = ()
    deferred: bool = False  # "pending", "see comment", "not performed": no result here (unless one is stated)


def _bounded(pattern: str) -> Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9])(?:{pattern})(?![A-Za-z0-9])", re.IGNORECASE)


@lru_cache(maxsize=None)
def _rules() -> tuple[tuple[Pattern[str], str, str], ...]:
    return tuple((_bounded(r["pattern"]), r["category"], r["direction"])
                 for r in term.document("context_rules.json")["triggers"])


@lru_cache(maxsize=None)
def _terminator() -> Pattern[str]:
    return re.compile(term.document("context_rules.json")["terminators"]["pattern"], re.IGNORECASE)


@lru_cache(maxsize=None)
def _complete() -> Pattern[str]:
    return re.compile(term.document("context_rules.json")["complete_statement"]["pattern"], re.IGNORECASE)


@lru_cache(maxsize=4096)
def triggers(text: str) -> tuple[Trigger, ...]:
    """The triggers in `text`, longest first where they overlap; pseudo-triggers swallow what they cover."""
    found = [Trigger(m.start(), m.end(), category, direction)
             for regex, category, direction in _rules() for m in regex.finditer(text) if m.end() > m.start()]
    found.sort(key=lambda t: (t.start - t.end, t.start))
    kept: list[Trigger] = []
    for t in found:
        if all(t.end <= k.start or t.start >= k.end for k in kept):
            kept.append(t)
    return tuple(sorted((t for t in kept if t.category != "pseudo"), key=lambda t: t.start))


def _blocked(text: str, start: int, end: int, trigs: tuple[Trigger, ...], qualifier: bool, forward: bool) -> bool:
    """A terminator between a trigger and a finding ends the trigger's scope. A result word ("detected") ends a
    negation or a hedge (never a qualifier: "KMT2A::AFF1 detected in a subclone") when it closes a statement about
    another gene: "no FLT3 variant detected and KMT2A::AFF1 detected", but not "no variants detected in NPM1"."""
    if start >= end:
        return False
    if _terminator().search(text, start, end):
        return True
    if qualifier:
        return False
    genes = term.gene_alias_pattern()
    return any(t.category == "result" and start <= t.start and t.end <= end
               and (genes.search(text, start, t.start) if forward else genes.search(text, t.end, end))
               for t in trigs)


def _reaches(t: Trigger, text: str, start: int, end: int, trigs: tuple[Trigger, ...]) -> bool:
    q = t.category in QUALIFIERS
    if t.direction in ("forward", "bidirectional") and t.end <= start and not _blocked(
            text, t.end, start, trigs, q, forward=True):
        return True
    return t.direction in ("backward", "bidirectional") and t.start >= end and not _blocked(
        text, end, t.start, trigs, q, forward=False)


def assertion(statement: str, start: int, end: int) -> Assertion:
    """What the triggers of one statement say about the finding written at statement[start:end]."""
    trigs = triggers(statement)
    reaching = {t.category for t in trigs if t.category != "result" and _reaches(t, statement, start, end, trigs)}
    return Assertion(
        negated="negated" in reaching and "possible" not in reaching,
        uncertain="possible" in reaching,  # a hedge over a negation ("not excluded") is still a hedge
        qualifiers=tuple(q for q in QUALIFIERS if q in reaching),
        deferred="deferred" in reaching,
    )


def negated(text: str) -> bool:
    """Whether a short result text ("Not detected", "negative", "wild type") says absent."""
    return any(t.category == "negated" for t in triggers(text)) and not any(
        t.category == "possible" for t in triggers(text))


def uncertain(text: str) -> bool:
    return any(t.category == "possible" for t in triggers(text))


def says_anything(text: str) -> bool:
    """Whether a text states, negates, hedges or defers a result at all ("Result: Positive", "pending") -- a gene
    list or a test's name does not."""
    return any(t.category in ("negated", "possible", "result", "deferred") for t in triggers(text))


def deferred(text: str) -> bool:
    """Whether a short result text says there is no result here ("pending", "see comment", "not performed")."""
    return any(t.category == "deferred" for t in triggers(text))


# --- statements ------------------------------------------------------------------------------------

def _is_complete(segment: str) -> bool:
    """A segment names a change or carries a result of its own ("detected", "negative"): the comma after it ends
    the statement. A trigger that opens a list ("no", "negative for") does not complete it."""
    return bool(_complete().search(segment)) or any(
        t.category not in QUALIFIERS and t.direction != "forward" for t in triggers(segment))


def sentence_statements(text: str, names_a_finding, continues_list=None) -> list[list[str]]:
    """Sentences cut into statements at top-level commas and before "without", so that a trigger reaches only its
    own statement. A segment that names no finding ("not detected", "FISH result: negative", "in 85% of nuclei")
    belongs to the finding beside it; an incomplete list item joins the segment after it, and a bare list of genes
    continues the statement whose gene list it extends ("no variants detected in NPM1, FLT3 or TP53")."""
    text = text.replace("–", "-").replace("—", "-")
    out: list[list[str]] = []
    for sentence in (part for block in _SENTENCES.split(text)
                     for part in (cytogenetics.split_top_level(block, ";") if ";" in block else (block,))):
        found: list[str] = []
        pieces = [p.strip() for part in cytogenetics.split_top_level(sentence, ",")
                  for p in re.split(r"\s(?=without\b)", part, flags=re.IGNORECASE) if p.strip()]
        current: list[str] = []
        # whether the statement so far names a finding and is complete, kept as pieces are added: asked of the
        # whole joined statement at every comma, a long list ("KMT2A, KMT2A, ...") cost n squared
        names = complete = False
        for piece in pieces:
            piece_names = names_a_finding(piece)
            if current and (not piece_names or not names or not complete
                            or (continues_list and continues_list(current[-1], piece))):
                current.append(piece)
                names, complete = names or piece_names, complete or _is_complete(piece)
                continue
            if current:
                found.append(", ".join(current))
            current, names, complete = [piece], piece_names, _is_complete(piece)
        if current:
            found.append(", ".join(current))
        if found:
            out.append(found)
    return out
