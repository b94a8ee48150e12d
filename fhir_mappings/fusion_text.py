"""Free text as labs print it -> KMT2A events and other gene findings.

`KMT2A::AFF1`, `KMT2A-AFF1`, `KMT2A/AFF1`, `MLL-AF4`, `t(9;11) MLL/MLLT3`, "KMT2A break-apart: rearranged",
"MLL FISH negative", "KMT2A amplification (6~18 copies)", "KMT2A-PTD". Gene names go through the HGNC alias table
(exact tokens only: MLL2/MLL3/MLL4 are other genes, never KMT2A).
"""

from __future__ import annotations

import re
from functools import lru_cache

from fhir_mappings import cytogenetics
from fhir_mappings import terminology as term
from fhir_mappings.case import Kmt2aStatus
from fhir_mappings.cytogenetics import Kmt2aEvent

_NUC_ISH = re.compile(r"\bnuc\s*ish\b.*?(?:\[[^\]]*\]|$)", re.IGNORECASE | re.MULTILINE)
_CLAUSES = re.compile(r"[;\n]|\.\s+(?=[A-Z(])")
_SEPARATOR = r"\s*(::|–|—|-|/)\s*"
_COPIES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:~|-|–|to)\s*(\d+(?:\.\d+)?)\s*(?:copies|signals)|x\s*(\d+)\s*(?:~\s*(\d+))?",
                     re.IGNORECASE)
_P_HGVS = re.compile(r"p\.\(?([A-Z][a-z]{2}|[A-Z])(\d+)([A-Z][a-z]{2}|[A-Z*]|\*|fs\S*|Ter)\)?")


@lru_cache(maxsize=None)
def _pair_pattern() -> re.Pattern[str]:
    gene = term.gene_alias_pattern().pattern
    return re.compile(rf"({gene}){_SEPARATOR}({gene})", re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """Sentences and lines, each cut into statements so that a negation reaches only its own statement:
    "KMT2A::AFF1 detected, no TP53 mutation" is two statements, "KMT2A rearrangement, not detected" one."""
    text = text.replace("–", "-").replace("—", "-")
    out: list[str] = []
    for sentence in _CLAUSES.split(text):
        out.extend(_statements(sentence))
    return out


_WITHOUT = re.compile(r"\s(?=without\b)", re.IGNORECASE)


def _statements(sentence: str) -> list[str]:
    out: list[str] = []
    for part in cytogenetics.split_top_level(sentence, ","):
        for i, piece in enumerate(p.strip() for p in _WITHOUT.split(part)):
            if not piece:
                continue
            if out and i == 0 and (_is_detail(piece) or _is_detail(out[-1])):
                out[-1] = f"{out[-1]}, {piece}"  # a result or heading belongs to the gene named beside it
            else:
                out.append(piece)
    return out


def _is_detail(text: str) -> bool:
    """Names neither a gene nor a change ("not detected", "in 85% of nuclei", "FISH result: negative")."""
    return not term.gene_alias_pattern().search(text) and not any(term.pattern(name).search(text) for name in
               ("amplification", "ptd", "structural_words", "deletion_words", "variant_words"))


def negated(clause: str) -> bool:
    return bool(term.pattern("negation").search(clause))


def read(text: str | None, method: str = "text") -> tuple[list[Kmt2aEvent], list[tuple[str, str, bool, str | None]]]:
    """(KMT2A events, other findings as (gene, kind, present, detail)). Never raises."""
    if not isinstance(text, str) or not text.strip():
        return [], []
    try:
        return _read(text, method)
    except Exception:
        return [], []


def _read(text: str, method: str) -> tuple[list[Kmt2aEvent], list[tuple[str, str, bool, str | None]]]:
    events: list[Kmt2aEvent] = []
    others: list[tuple[str, str, bool, str | None]] = []
    for m in _NUC_ISH.finditer(text):
        events.extend(cytogenetics.parse(m.group(0)).kmt2a_events)
    for clause in clauses(text):
        if re.search(r"\bnuc\s*ish\b", clause, re.IGNORECASE):
            continue  # read by the ISCN parser above
        k, o = _read_clause(clause, method)
        events.extend(k)
        others.extend(o)
    return events, others


def _read_clause(clause: str, method: str) -> tuple[list[Kmt2aEvent], list[tuple[str, str, bool, str | None]]]:
    no = negated(clause)
    events, others = [], []
    paired: set[str] = set()
    for m in _pair_pattern().finditer(clause):
        a, sep, b = term.known_gene(m.group(1)), m.group(2), term.known_gene(m.group(3))
        if not a or not b or a == b:
            continue
        paired.update({a, b})
        if "KMT2A" in (a, b):
            partner = b if a == "KMT2A" else a
            fusion = f"{a}::{b}" if sep == "::" else f"KMT2A::{partner}"
            if no:  # rules out this fusion only, not other partners
                events.append(Kmt2aEvent(Kmt2aStatus.NOT_DETECTED, method, m.group(0), partner=partner, fusion=fusion))
            else:
                events.append(Kmt2aEvent(Kmt2aStatus.REARRANGED, method, m.group(0), partner=partner, fusion=fusion))
        else:
            for gene in (a, b):
                others.append((gene, "rearrangement", not no, m.group(0)))
    mentioned = {term.known_gene(g.group(0)) for g in term.gene_alias_pattern().finditer(clause)}
    if "KMT2A" in mentioned and "KMT2A" not in paired:
        event = _kmt2a_without_partner(clause, no, method)
        if event:
            events.append(event)
    for gene in sorted(g for g in mentioned - paired - {"KMT2A", None}):
        others.extend(_other_gene(gene, clause, no))
    return events, others


def _sequence_variant_only(clause: str) -> bool:
    """A KMT2A point mutation or small indel ("KMT2A c.4321del detected", "no KMT2A mutation"): a sequencing
    result that says nothing about rearrangement either way."""
    is_variant = term.pattern("variant_words").search(clause) or protein_change(clause)
    return bool(is_variant) and not term.pattern("structural_words").search(clause)


def _kmt2a_without_partner(clause: str, no: bool, method: str) -> Kmt2aEvent | None:
    if _sequence_variant_only(clause):
        return None
    if term.pattern("ptd").search(clause):
        return None if no else Kmt2aEvent(Kmt2aStatus.PTD, method, clause)
    if term.pattern("amplification").search(clause):
        if no:
            return None
        low, high = _copies(clause)
        return Kmt2aEvent(Kmt2aStatus.AMPLIFIED, method, clause, copy_number=low, copy_number_high=high)
    if no:
        return Kmt2aEvent(Kmt2aStatus.NOT_DETECTED, method, clause)
    if term.pattern("positive").search(clause) or re.search(r"KMT2A-?r\b|MLL-?r\b", clause, re.IGNORECASE):
        return Kmt2aEvent(Kmt2aStatus.REARRANGED, method, clause)
    return None


def _copies(clause: str) -> tuple[float | None, float | None]:
    m = _COPIES.search(clause)
    if not m:
        return None, None
    low = m.group(1) or m.group(3)
    high = m.group(2) or m.group(4) or low
    return float(low), float(high)


def _other_gene(gene: str, clause: str, no: bool) -> list[tuple[str, str, bool, str | None]]:
    if term.pattern("structural_words").search(clause):
        return [(gene, "rearrangement", not no, clause)]
    if term.pattern("amplification").search(clause):
        return [(gene, "amplification", not no, clause)]
    if term.pattern("deletion_words").search(clause):
        return [(gene, "deletion", not no, clause)]
    hgvs = protein_change(clause)
    if hgvs or term.pattern("variant_words").search(clause):
        return [(gene, "variant", not no, hgvs)]
    return []


_ONE_TO_THREE = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu", "G": "Gly", "H": "His",
    "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe", "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp",
    "Y": "Tyr", "V": "Val", "*": "Ter", "X": "Ter",
}


def protein_change(text: str | None) -> str | None:
    """p.HGVS in 3-letter form: "p.(Arg175His)", "p.R175H", "NP_000537.3:p.Arg175His" -> "p.Arg175His"."""
    if not isinstance(text, str):
        return None
    m = _P_HGVS.search(text)
    if m:
        ref, pos, alt = m.groups()
    else:
        short = re.search(r"(?<![A-Za-z0-9])([ARNDCQEGHILKMFPSTWYV])(\d{1,4})([ARNDCQEGHILKMFPSTWYV*X])(?![A-Za-z0-9])", text)
        if not short:
            return None
        ref, pos, alt = short.groups()
    ref = _ONE_TO_THREE.get(ref, ref)
    if not alt.startswith("fs"):
        alt = _ONE_TO_THREE.get(alt, alt)
    return f"p.{ref}{pos}{alt}"
