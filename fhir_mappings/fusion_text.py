"""Free text as labs print it -> KMT2A events and other gene findings.

`KMT2A::AFF1`, `KMT2A-AFF1`, `KMT2A/AFF1`, `MLL-AF4`, `t(9;11) MLL/MLLT3`, "KMT2A break-apart: rearranged",
"MLL FISH negative", "KMT2A amplification (6~18 copies)", "KMT2A-PTD". Gene names go through the HGNC alias table
(exact tokens only: MLL2/MLL3/MLL4 are other genes, never KMT2A).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from fhir_mappings import context, cytogenetics
from fhir_mappings import terminology as term
from fhir_mappings.case import Kmt2aStatus
from fhir_mappings.cytogenetics import Kmt2aEvent

_SEPARATOR = r"\s*(::|–|—|-|/)\s*"
_COPIES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:~|-|–|to)\s*(\d+(?:\.\d+)?)\s*(?:copies|signals)|x\s*(\d+)\s*(?:[~\-–]\s*(\d+))?"
                     r"|(\d+)\s*(?:copies|signals)", re.IGNORECASE)
_P_HGVS = re.compile(r"p\.\(?([A-Z][a-z]{2}|[A-Z])(\d+)([A-Z][a-z]{2}|[A-Z*]|\*|fs\S*|Ter)\)?")
_KIND_WORDS = ("ptd", "amplification", "structural_words", "deletion_words", "variant_words")

Other = tuple  # (gene, kind, present, detail, qualifiers)


@lru_cache(maxsize=None)
def _pair_pattern() -> re.Pattern[str]:
    gene = term.gene_alias_pattern().pattern
    return re.compile(rf"({gene}){_SEPARATOR}({gene})", re.IGNORECASE)


def names_a_fusion(text: str) -> bool:
    """Whether the text names two known genes as a fusion ("MLL-AF4", "KMT2A::AFF1")."""
    return any(term.known_gene(m.group(1)) != term.known_gene(m.group(3)) for m in _pair_pattern().finditer(text))


def _names_a_finding(text: str) -> bool:
    """Names a gene or a change; a piece that does not ("not detected", "in 85% of nuclei") is a detail."""
    return bool(term.gene_alias_pattern().search(text)) or any(term.pattern(n).search(text) for n in _KIND_WORDS)


_LIST_WORDS = re.compile(r"^(?:\s|,|and|or|nor|&|/)*$", re.IGNORECASE)


def _continues_list(previous: str, piece: str) -> bool:
    """"... in NPM1" followed by "FLT3 or TP53": single genes and list words only, after a gene."""
    genes = term.gene_alias_pattern()
    last = list(genes.finditer(previous))
    if not last or previous[last[-1].end():].strip(" .:") or names_a_fusion(piece):
        return False
    return bool(genes.search(piece)) and bool(_LIST_WORDS.match(genes.sub(" ", piece).strip(" .")))


def read(text: str | None, method: str = "text") -> tuple[list[Kmt2aEvent], list[Other]]:
    """(KMT2A events, other findings as (gene, kind, present, detail, qualifiers)). Never raises."""
    if not isinstance(text, str) or not text.strip():
        return [], []
    try:
        return _read(text, method)
    except Exception:
        return [], []


def _read(text: str, method: str) -> tuple[list[Kmt2aEvent], list[Other]]:
    events: list[Kmt2aEvent] = []
    others: list[Other] = []
    spans = cytogenetics.fish_spans(text)
    for start, end in spans:
        events.extend(iscn_as_worded(cytogenetics.parse(text[start:end]).kmt2a_events, text))
    if spans:  # read above: its ";" and "+" are no sentence end and no "positive" word
        kept = [0, *(i for span in spans for i in span), len(text)]
        text = "nuc ish".join(text[kept[i]:kept[i + 1]] for i in range(0, len(kept), 2))
    for sentence in context.sentence_statements(text, _names_a_finding, _continues_list):
        for clause in sentence:
            if cytogenetics.FISH_START.search(clause):
                continue  # read by the ISCN parser above
            k, o = _read_clause(clause, method, ", ".join(sentence))
            events.extend(k)
            others.extend(o)
    return events, others


_SENTENCE_END = re.compile(r"\.\s|\n")  # ISCN itself has no ". " ("q23.3", "[20].ish"), unlike ";" in "t(4;11)"


def iscn_as_worded(events: list[Kmt2aEvent], text: str) -> list[Kmt2aEvent]:
    """ISCN results as the sentence around them words them: "nuc ish(...)[12/200], below the laboratory cut-off" or
    "Equivocal: nuc ish(...)" is hedged, so never a positive (UNKNOWN, uncertain); qualifiers ("subclone") are kept."""
    out = []
    for event in events:
        # a karyotype's abnormality is looked for in the karyotype, not in words that name it earlier
        at = text.find(event.text, cytogenetics.karyotype_at(text) if event.method == "karyotype" else 0) \
            if event.text else -1
        if at < 0:
            out.append(event)
            continue
        start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, at)), default=0)
        end = next((m.start() for m in _SENTENCE_END.finditer(text, at + len(event.text))), len(text))
        # the ISCN itself is masked: its letters ("amp", "con") are no trigger words
        sentence = text[start:at] + "x" * len(event.text) + text[at + len(event.text):end]
        said = context.assertion(sentence, at - start, at - start + len(event.text))
        status = Kmt2aStatus.UNKNOWN if said.uncertain else event.status
        qualifiers = tuple(dict.fromkeys(event.qualifiers + said.qualifiers))
        out.append(replace(event, status=status, uncertain=event.uncertain or said.uncertain, qualifiers=qualifiers))
    return out


@dataclass(frozen=True)
class _Target:
    start: int
    end: int
    genes: tuple[str, ...]  # one gene, or the two of a fusion (as written, 5' first)
    text: str
    separator: str | None = None
    mentions: tuple[tuple[int, int], ...] = ()  # every place the gene is named ("MLL FISH: KMT2A not detected")


def _targets(clause: str) -> list[_Target]:
    """Fusions ("MLL-AF4", "KMT2A::AFF1") and single gene mentions; one target per gene (its mentions kept)."""
    found: list[_Target] = []
    taken: list[tuple[int, int]] = []
    for m in _pair_pattern().finditer(clause):
        a, b = term.known_gene(m.group(1)), term.known_gene(m.group(3))
        if a and b and a != b:
            found.append(_Target(m.start(), m.end(), (a, b), m.group(0), m.group(2), ((m.start(), m.end()),)))
            taken.append((m.start(), m.end()))
    singles: dict[str, list[tuple[int, int]]] = {}
    for m in term.gene_alias_pattern().finditer(clause):
        gene = term.known_gene(m.group(0))
        if not gene or any(s <= m.start() < e for s, e in taken):
            continue
        if any(gene in t.genes for t in found):
            continue  # "KMT2A rearrangement: KMT2A::AFF1 detected" -- the fusion says it
        singles.setdefault(gene, []).append((m.start(), m.end()))
    for gene, spans in singles.items():
        found.append(_Target(spans[0][0], spans[0][1], (gene,), clause[spans[0][0]:spans[0][1]], None, tuple(spans)))
    return sorted(found, key=lambda t: t.start)


def _assertion(clause: str, target: _Target, targets: list[_Target]) -> context.Assertion:
    """What the statement says of a target: over all its mentions (a hedge anywhere makes it uncertain, a negation
    anywhere absent), and a "heading: result" layout ("TP53: no mutation detected") read as the result's."""
    said = [context.assertion(clause, s, e) for s, e in target.mentions or ((target.start, target.end),)]
    colon = clause.find(":", target.end)
    if colon >= 0 and not any(t.start > colon for t in targets):
        result = clause[colon + 1:]
        said.append(context.Assertion(negated=context.negated(result), uncertain=context.uncertain(result)))
    uncertain = any(a.uncertain for a in said)
    return context.Assertion(
        negated=not uncertain and any(a.negated for a in said), uncertain=uncertain,
        qualifiers=tuple(q for q in context.QUALIFIERS if any(q in a.qualifiers for a in said)))


def _local(clause: str, targets: list[_Target], i: int, sentence: str = "") -> str:
    """The words that say what kind of finding target i is: between its neighbours, else after it, else the whole
    statement, else its sentence ("variants detected in TP53, none in NPM1")."""
    prev_end = targets[i - 1].end if i > 0 else 0
    next_start = targets[i + 1].start if i + 1 < len(targets) else len(clause)
    for window in (clause[prev_end:next_start], clause[targets[i].start:], clause, sentence):
        if any(term.pattern(n).search(window) for n in _KIND_WORDS) or protein_change(window):
            return window
    return clause[prev_end:next_start]


def _read_clause(clause: str, method: str, sentence: str = "") -> tuple[list[Kmt2aEvent], list[Other]]:
    events, others = [], []
    targets = _targets(clause)
    for i, target in enumerate(targets):
        said = _assertion(clause, target, targets)
        local = _local(clause, targets, i, sentence)
        if len(target.genes) == 2:
            events.extend(_fusion(target, said, method))
            if "KMT2A" not in target.genes and not said.uncertain:
                others.extend((g, "rearrangement", not said.negated, target.text, said.qualifiers) for g in target.genes)
        elif target.genes == ("KMT2A",):
            event = _kmt2a_without_partner(local, said, method, clause)
            if event:
                events.append(event)
        elif not said.uncertain:  # a hedged TP53 or NPM1 result is neither present nor absent: left out
            others.extend(_other_gene(target.genes[0], local, said))
    return events, others


def _fusion(target: _Target, said: context.Assertion, method: str) -> list[Kmt2aEvent]:
    a, b = target.genes
    if "KMT2A" not in (a, b):
        return []
    partner = b if a == "KMT2A" else a
    fusion = f"{a}::{b}" if target.separator == "::" else f"KMT2A::{partner}"
    if said.negated:  # rules out this fusion only, not other partners
        status = Kmt2aStatus.NOT_DETECTED
    elif said.uncertain:
        status = Kmt2aStatus.UNKNOWN
    else:
        status = Kmt2aStatus.REARRANGED
    return [Kmt2aEvent(status, method, target.text, partner=partner, fusion=fusion, uncertain=said.uncertain,
                       qualifiers=said.qualifiers)]


def _sequence_variant_only(clause: str) -> bool:
    """A KMT2A point mutation or small indel ("KMT2A c.4321del detected", "no KMT2A mutation"): a sequencing
    result that says nothing about rearrangement either way."""
    is_variant = term.pattern("variant_words").search(clause) or protein_change(clause)
    return bool(is_variant) and not term.pattern("structural_words").search(clause)


def _kmt2a_without_partner(local: str, said: context.Assertion, method: str, clause: str) -> Kmt2aEvent | None:
    if _sequence_variant_only(local):
        return None
    extra = {"uncertain": said.uncertain, "qualifiers": said.qualifiers}
    if said.uncertain:
        return Kmt2aEvent(Kmt2aStatus.UNKNOWN, method, clause, **extra)  # "possible KMT2A rearrangement"
    if term.pattern("ptd").search(local):
        return None if said.negated else Kmt2aEvent(Kmt2aStatus.PTD, method, clause, **extra)
    named_amplification = term.pattern("amplification").search(local)
    if named_amplification or term.pattern("copy_gain").search(local):
        if said.negated:
            return None
        low, high = _copies(clause)
        if not named_amplification and (high is None or high < term.param("amplification_min_copies")):
            return None  # a copy-number gain without a count at the cut-off: not called amplification (nor anything)
        return Kmt2aEvent(Kmt2aStatus.AMPLIFIED, method, clause, copy_number=low, copy_number_high=high, **extra)
    if (term.pattern("copy_number_words").search(local) or term.pattern("deletion_words").search(local)) \
            and not term.pattern("structural_words").search(local):
        return None  # "KMT2A gain detected", "no KMT2A deletion": about copy number, not rearrangement
    if said.negated:
        return Kmt2aEvent(Kmt2aStatus.NOT_DETECTED, method, clause, **extra)
    if term.pattern("positive").search(local) or term.pattern("kmt2a_r").search(local):
        return Kmt2aEvent(Kmt2aStatus.REARRANGED, method, clause, **extra)
    return None


def _copies(clause: str) -> tuple[float | None, float | None]:
    m = _COPIES.search(clause)
    if not m:
        return None, None
    low = m.group(1) or m.group(3) or m.group(5)
    high = m.group(2) or m.group(4) or low
    return float(low), float(high)


def _other_gene(gene: str, clause: str, said: context.Assertion) -> list[Other]:
    present, q = not said.negated, said.qualifiers
    if term.pattern("structural_words").search(clause):
        return [(gene, "rearrangement", present, clause.strip(" ,"), q)]
    if term.pattern("amplification").search(clause):
        return [(gene, "amplification", present, clause.strip(" ,"), q)]
    if term.pattern("deletion_words").search(clause):
        return [(gene, "deletion", present, clause.strip(" ,"), q)]
    hgvs = protein_change(clause)
    if hgvs or term.pattern("variant_words").search(clause):
        return [(gene, "variant", present, hgvs, q)]
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
