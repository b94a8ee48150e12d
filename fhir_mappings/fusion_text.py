"""Free text as labs print it -> KMT2A events and other gene findings.

`KMT2A::AFF1`, `KMT2A-AFF1`, `KMT2A/AFF1`, `MLL-AF4`, `t(9;11) MLL/MLLT3`, "KMT2A break-apart: rearranged",
"MLL FISH negative", "KMT2A amplification (6~18 copies)", "KMT2A-PTD". Gene names go through the HGNC alias table
(exact tokens only: MLL2/MLL3/MLL4 are other genes, never KMT2A).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from fhir_mappings import context, cytogenetics, documents
from fhir_mappings import terminology as term
from fhir_mappings.case import Kmt2aStatus
from fhir_mappings.cytogenetics import Kmt2aEvent

_SEPARATOR = r"\s*(::|--|–|—|-|/|_)\s*"  # "--": STAR-Fusion's "KMT2A--AFF1"
_COPIES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:~|-|–|to)\s*(\d+(?:\.\d+)?)\s*(?:copies|signals)|x\s*(\d+)\s*(?:[~\-–]\s*(\d+))?"
                     r"|(\d+)\s*(?:copies|signals)", re.IGNORECASE)
_P_SHORT = re.compile(r"(?<![A-Za-z0-9])([ARNDCQEGHILKMFPSTWYV])(\d{1,4})([ARNDCQEGHILKMFPSTWYV*X])(?![A-Za-z0-9])")
_P_HGVS = re.compile(r"p\.\(?([A-Z][a-z]{2}|[A-Z])(\d+)([A-Z][a-z]{2}|[A-Z*]|\*|fs\S*|Ter)\)?")
_KIND_WORDS = ("ptd", "amplification", "structural_words", "deletion_words", "variant_words")

Other = tuple  # (gene, kind, present, detail, qualifiers)


# What RNA fusion panels print between the 5' gene and the separator: its transcript and exon
# ("KMT2A(NM_001197104.2) exon 9 :: MLLT3", "KMT2A exon 11 - AFF1 exon 4", "KMT2A e9-AFF1 e4").
_EXON = r"(?:exon|ex|intron|e)\s*\d{1,2}[ab]?"
_BREAKPOINT = rf"(?:\s*\(\s*(?:(?:NM_|NR_|ENST|XM_)[^()]{{0,30}}|{_EXON})\s*\))?(?:\s*,?\s*{_EXON})?"


@lru_cache(maxsize=None)
def _pair_pattern() -> re.Pattern[str]:
    gene = term.gene_alias_pattern().pattern
    return re.compile(rf"({gene}){_BREAKPOINT}{_SEPARATOR}({gene})", re.IGNORECASE)


@lru_cache(maxsize=None)
def _prose_pair_pattern() -> re.Pattern[str]:
    """A fusion said in words: "a fusion between KMT2A (exon 9) and AFF1", "KMT2A is fused in frame to MLLT10"."""
    gene = term.gene_alias_pattern().pattern
    fusion = r"(?:fusion|rearrangement|translocation)s?\s+"
    between = rf"{fusion}between\s+({gene}){_BREAKPOINT}\s+(and)\s+({gene})"
    of_with = rf"{fusion}of\s+({gene}){_BREAKPOINT}\s+(with|to)\s+({gene})"  # not "of KMT2A and NUP98": two genes
    fused = rf"({gene}){_BREAKPOINT}\s+(?:is\s+|was\s+)?(fused|joined)\s+(?:in[- ]frame\s+)?(?:to|with)\s+({gene})"
    return re.compile(rf"{between}|{of_with}|{fused}", re.IGNORECASE)


_PROSE_HINT = re.compile(r"between|fused|joined|(?:fusion|rearrangement|translocation)s? of", re.IGNORECASE)


def _pairs(clause: str):
    """(start, end, 5' gene as written, separator, 3' gene as written) for every fusion named, symbol or prose."""
    for m in _pair_pattern().finditer(clause):
        yield m.start(), m.end(), m.group(1), m.group(2), m.group(3)
    if not _PROSE_HINT.search(clause):
        return  # the prose pattern is the costly one; most statements have no prose fusion
    for m in _prose_pair_pattern().finditer(clause):
        groups = m.groups()
        first, link, second = next(groups[i:i + 3] for i in range(0, len(groups), 3) if groups[i])
        yield m.start(), m.end(), first, link, second


def names_a_fusion(text: str) -> bool:
    """Whether the text names two known genes as a fusion ("MLL-AF4", "KMT2A::AFF1")."""
    return any(term.known_gene(a) != term.known_gene(b) for _, _, a, _, b in _pairs(text))


def _names_a_finding(text: str) -> bool:
    """Names a gene or a change; a piece that does not ("not detected", "in 85% of nuclei") is a detail."""
    return bool(term.gene_alias_pattern().search(text)) or any(term.pattern(n).search(text) for n in _KIND_WORDS)


_LIST_WORDS = re.compile(r"^(?:\s|,|and|or|nor|&|/)*$", re.IGNORECASE)


def _continues_list(previous: str, piece: str) -> bool:
    """"... in NPM1" followed by "FLT3 or TP53": single genes and list words only, after a gene; fusion names
    only after a fusion name ("not detected: KMT2A::AFF1, KMT2A::MLLT3 or BCR::ABL1")."""
    genes = term.gene_alias_pattern()
    last = list(genes.finditer(previous))
    if not last or previous[last[-1].end():].strip(" .:"):
        return False
    if names_a_fusion(piece) and not any(end == last[-1].end() for _, end, *_ in _pairs(previous)):
        return False
    bare = genes.sub(" ", _pair_pattern().sub(" ", piece))
    return bool(genes.search(piece)) and bool(_LIST_WORDS.match(bare.strip(" .")))


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
    text = _with_their_results(_results_only(_normalised(text)))
    spans = cytogenetics.fish_spans(text)
    for start, end in spans:
        events.extend(iscn_as_worded(cytogenetics.parse(text[start:end]).kmt2a_events, text))
    if spans:  # read above: its ";" and "+" are no sentence end and no "positive" word
        kept = [0, *(i for span in spans for i in span), len(text)]
        text = "nuc ish".join(text[kept[i]:kept[i + 1]] for i in range(0, len(kept), 2))
    if "(" in text and cytogenetics.PROSE_ABERRATION.search(text):
        text = _aberrations_named(text)
    text = text.replace("?", " ? ")  # "?KMT2A-r", "rearranged?": a question mark stands apart, as a hedge
    if "artner" in text:
        text = _partner_line().sub(", ", text)  # "KMT2A rearranged; partner: MLLT3" is one statement
    for sentence in context.sentence_statements(text, _names_a_finding, _continues_list):
        if _lists_the_test(sentence):
            continue
        found: list[Kmt2aEvent] = []
        for clause in sentence:
            if cytogenetics.FISH_START.search(clause):
                continue  # read by the ISCN parser above
            k, o = _read_clause(clause, method, ", ".join(sentence))
            found.extend(k)
            others.extend(o)
        events.extend(_with_named_partner(found, others, ", ".join(sentence)))
    return events, others


def _aberrations_named(text: str) -> str:
    """A translocation written in prose ("t(4;11)(q21;q23) detected by FISH", "negative for t(9;11)(p21.3;q23.3)")
    is read as the fusion its bands name, so the statement's own words (detected, negative, possible) decide: its
    ";" would otherwise end the sentence. On a line that holds a karyotype it is left to the karyotype reader; one whose
    partner the bands cannot settle (t(11;19)(q23;p13), t(11;17)) stays as written, read as nothing."""

    karyotype_lines: dict[int, bool] = {}  # by line start: one look per line, not per translocation on it

    def named(m: re.Match) -> str:
        line_start = text.rfind("\n", 0, m.start()) + 1
        if line_start not in karyotype_lines:
            line_end = text.find("\n", m.start())
            line = text[line_start:line_end] if line_end >= 0 else text[line_start:]
            karyotype_lines[line_start] = cytogenetics.looks_like_karyotype(line)
        if karyotype_lines[line_start]:
            return m.group(0)
        event = cytogenetics.aberration_in_prose(m.group(0))
        if event is None or event.status != Kmt2aStatus.REARRANGED or event.uncertain:
            return m.group(0)
        return f"KMT2A::{event.partner}" if event.partner else "KMT2A rearrangement"

    return cytogenetics.PROSE_ABERRATION.sub(named, text)


_NAMED_PARTNER = r"\bpartner(?:\s+gene)?(?:\s+(?:is|was|identified as|=))?\s*:?\s*({gene})"


@lru_cache(maxsize=None)
def _partner_line() -> re.Pattern[str]:
    """A line or a statement that only names the partner ("Fusion partner: MLLT10"), to be joined to the one before."""
    named = _NAMED_PARTNER.format(gene=term.gene_alias_pattern().pattern)
    return re.compile(rf"\s*[;\n]\s*(?=(?:the\s+)?(?:fusion\s+)?{named})", re.IGNORECASE)


@lru_cache(maxsize=None)
def _partner_pattern() -> re.Pattern[str]:
    gene = term.gene_alias_pattern().pattern
    return re.compile(rf"{_NAMED_PARTNER.format(gene=gene)}"
                      rf"|\bwith\s+({gene})\s+as\s+(?:the\s+|its\s+)?(?:fusion\s+)?partner", re.IGNORECASE)


def _with_named_partner(found: list[Kmt2aEvent], others: list[Other], sentence: str) -> list[Kmt2aEvent]:
    """"KMT2A rearranged, partner MLLT3", "KMT2A rearrangement with AFF1 as the partner": the one rearrangement
    of the statement takes the partner it names (and the partner is no finding of its own)."""
    bare = [e for e in found if e.status == Kmt2aStatus.REARRANGED and not e.partner]
    if len(bare) != 1 or any(e.partner for e in found) or "artner" not in sentence:
        return found
    m = _partner_pattern().search(sentence)
    partner = term.known_gene(m.group(1) or m.group(2)) if m else None
    if not partner or partner == "KMT2A":
        return found
    others[:] = [o for o in others if not (o[0] == partner and o[1] == "rearrangement")]
    named = replace(bare[0], partner=partner, fusion=f"KMT2A::{partner}")
    return [named if e is bare[0] else e for e in found]


# --- what is a result at all -------------------------------------------------------------------------

_HYPHENATED = re.compile(r"([a-z])-[ \t]*\r?\n[ \t]*(?=[a-z])")  # "rearrange-\nment", "de-\ntected"
_SPLIT_NAME = re.compile(r"(?<=[A-Za-z0-9])(::|-|/)[ \t]*\r?\n[ \t]*(?=[A-Za-z0-9])")  # "KMT2A::\nAFF1"
_WRAPPED = re.compile(r"(?<=[A-Za-z0-9,)])[ \t]*\r?\n[ \t]*(?=[a-z])")  # "KMT2A (MLL) gene\nrearrangement"


# Characters word processors and PDF writers put in place of plain ones: Unicode hyphens and minus signs, the
# proportion sign for "::", no-break and thin spaces; a soft hyphen is invisible.
_PLAIN = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-", "\ufe63": "-", "\uff0d": "-",
                        "\u2237": "::", "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ", "\u00ad": None})


_MARKUP = re.compile(r"</?(?:br|p|div|td|th|tr|li|b|i|strong|em|span|table|font|u)\b[^>]*>", re.IGNORECASE)


def _normalised(text: str) -> str:
    """Plain characters, and lines broken by a PDF or a lab system's line width joined again: a word hyphenated at
    the line end, a fusion name split after its separator, and a line that continues in lower case. A line that
    starts with a capital stays a line of its own (a table row, the next result)."""
    if "<" in text and _MARKUP.search(text):
        text = documents.html_text(text)  # a valueString or note sent as HTML: its blocks are lines
    if not text.isascii():
        text = text.translate(_PLAIN)
    if "\n" in text:
        text = _WRAPPED.sub(" ", _SPLIT_NAME.sub(r"\1", _HYPHENATED.sub(r"\1", text)))
    return text


def _results_only(text: str) -> str:
    """The text without its methods and limitations: a section under such a heading ("METHODS" on its own line,
    up to the next result heading: "Result", "Interpretation", "Conclusion"), a line that opens with one
    ("Limitations: ..."), and the list under a gene-list heading ("GENES TESTED" / "ABL1 ... KMT2A ...") unless
    that line states a result."""
    methods, lists = term.section_pattern("methods_heading"), term.section_pattern("list_heading")
    if not methods.search(text) and not lists.search(text):
        return text
    results = term.section_pattern("results_heading")
    kept, skipping, listing = [], False, False
    for line in text.split("\n"):
        heading = methods.match(line)
        if heading and line[heading.end():].strip():
            continue  # "Limitations: ..." on one line: that line only
        if heading:
            skipping = True
        elif skipping and results.match(line):
            skipping = False
        if listing and not context.says_anything(line):
            listing = False
            continue
        listing = bool(lists.match(line))
        if not skipping and not listing:
            kept.append(line)
    return "\n".join(kept)


def _with_their_results(text: str) -> str:
    """A test named on one line and its result on the next ("KMT2A (MLL) break-apart FISH" / "Result: positive",
    "KMT2A (MLL) GENE" / "REARRANGEMENT DETECTED"): the result line is read with the test. Only when the first line
    names one gene or fusion and says nothing of it, is not a list of what the test covers, and the next line names
    no gene: a result under two tests belongs to neither."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        previous = out[-1]
        if len(line) <= 80 and _is_a_bare_result(line) and _names_one_test(previous):
            out[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


_LABEL = re.compile(r"\s*[^:\n]{1,40}:")


def _is_a_bare_result(line: str) -> bool:
    """"Positive", "REARRANGEMENT DETECTED", "Result: not detected" -- but not a line with a label of its own
    ("Positive control: normal") nor one that names a gene."""
    if _LABEL.match(line) and not term.section_pattern("results_heading").match(line):
        return False
    return context.says_anything(line) and not term.gene_alias_pattern().search(line)


def _names_one_test(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 80 or stripped.endswith((".", ";")):
        return False
    if not term.gene_alias_pattern().search(stripped) or context.says_anything(stripped):
        return False  # most lines of a long report name no gene: the cheap test first
    if term.pattern("positive").search(stripped) or term.pattern("kmt2a_r").search(stripped):
        return False
    if term.section_pattern("list_lead").search(stripped) or term.section_pattern("methods_heading").match(stripped):
        return False
    return len(_targets(stripped)) == 1


def _lists_the_test(sentence: list[str]) -> bool:
    """"Genes tested: ... KMT2A ...", "This assay detects KMT2A::AFF1, ...": what the test covers, not a result --
    unless the same sentence states one ("Genes tested: KMT2A, NUP98 -- none detected")."""
    whole = ", ".join(sentence)
    return bool(term.section_pattern("list_lead").search(whole)) and not context.says_anything(whole)


_SENTENCE_END = re.compile(r"\.\s|\n")  # ISCN itself has no ". " ("q23.3", "[20].ish"), unlike ";" in "t(4;11)"


def iscn_as_worded(events: list[Kmt2aEvent], text: str) -> list[Kmt2aEvent]:
    """ISCN results as the sentence around them words them: "nuc ish(...)[12/200], below the laboratory cut-off" or
    "Equivocal: nuc ish(...)" is hedged, so never a positive (UNKNOWN, uncertain); an abnormal pattern the lab itself
    calls normal ("nuc ish(...sep...)[9/200] - within normal limits") is no positive either, and no negative: the
    two disagree. Qualifiers ("subclone") are kept."""
    ends = [(m.start(), m.end()) for m in _SENTENCE_END.finditer(text)] if events else []
    end_starts = [s for s, _ in ends]
    karyotype_at = cytogenetics.karyotype_at(text) if any(e.method == "karyotype" for e in events) else 0
    placed: list[tuple[Kmt2aEvent, int, int, int]] = []  # event, where it is written, its sentence's start and end
    for event in events:
        # a karyotype's abnormality is looked for in the karyotype, not in words that name it earlier
        at = text.find(event.text, karyotype_at if event.method == "karyotype" else 0) if event.text else -1
        if at < 0:
            placed.append((event, at, 0, 0))
            continue
        # the sentence around it, from the sentence ends found once (not a scan of the text per event)
        before = bisect.bisect_left(end_starts, at)
        while before and ends[before - 1][1] > at:  # a sentence end must end before the ISCN starts
            before -= 1
        start = ends[before - 1][1] if before else 0
        after = bisect.bisect_left(end_starts, at + len(event.text))
        placed.append((event, at, start, ends[after][0] if after < len(ends) else len(text)))
    # every ISCN string of a sentence is masked: its letters ("amp", "con") are no trigger words; one masked
    # sentence per sentence, so its triggers are found once however many abnormalities it lists
    masked: dict[tuple[int, int], str] = {}
    called_normal: dict[tuple[int, int], bool] = {}
    for (start, end), spans in _by_sentence(placed).items():
        chars = list(text[start:end])
        for at, length in spans:
            chars[at - start:at - start + length] = "x" * length
        masked[(start, end)] = "".join(chars)
        called_normal[(start, end)] = bool(term.pattern("called_normal").search(masked[(start, end)]))
    out = []
    for event, at, start, end in placed:
        if at < 0:
            out.append(event)
            continue
        sentence = masked[(start, end)]
        said = context.assertion(sentence, at - start, at - start + len(event.text))
        positive = event.status in (Kmt2aStatus.REARRANGED, Kmt2aStatus.AMPLIFIED)
        if positive and called_normal[(start, end)]:
            said = replace(said, uncertain=True)
        status = Kmt2aStatus.UNKNOWN if said.uncertain else event.status
        qualifiers = tuple(dict.fromkeys(event.qualifiers + said.qualifiers))
        out.append(replace(event, status=status, uncertain=event.uncertain or said.uncertain, qualifiers=qualifiers))
    return out


def _by_sentence(placed: list[tuple[Kmt2aEvent, int, int, int]]) -> dict[tuple[int, int], list[tuple[int, int]]]:
    spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for event, at, start, end in placed:
        if at >= 0:
            spans.setdefault((start, end), []).append((at, len(event.text)))
    return spans


@dataclass(frozen=True)
class _Target:
    start: int
    end: int
    genes: tuple[str, ...]  # one gene, or the two of a fusion (as written, 5' first)
    text: str
    separator: str | None = None
    mentions: tuple[tuple[int, int], ...] = ()  # every place the gene is named ("MLL FISH: KMT2A not detected")


class _Spans:
    """Non-overlapping (start, end) spans kept sorted: overlap tests by bisection, so a clause naming hundreds of
    fusions (a panel's list) costs n log n, not n squared."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end)  # spans starting before `end`; the last of them may reach in
        return i > 0 and self.ends[i - 1] > start

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def _targets(clause: str) -> list[_Target]:
    """Fusions ("MLL-AF4", "KMT2A::AFF1") and single gene mentions; one target per gene (its mentions kept)."""
    found: list[_Target] = []
    taken = _Spans()
    for start, end, first, separator, second in _pairs(clause):
        a, b = term.known_gene(first), term.known_gene(second)
        if a and b and a != b and not taken.overlaps(start, end):
            found.append(_Target(start, end, (a, b), clause[start:end], separator, ((start, end),)))
            taken.add(start, end)
    fused = {gene for t in found for gene in t.genes}
    singles: dict[str, list[tuple[int, int]]] = {}
    for m in term.gene_alias_pattern().finditer(clause):
        gene = term.known_gene(m.group(0))
        if not gene or taken.overlaps(m.start(), m.start() + 1):
            continue
        if gene in fused:
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
    if colon >= 0 and not (targets and targets[-1].start > colon):  # targets come sorted by start
        result = clause[colon + 1:]
        said.append(context.Assertion(negated=context.negated(result), uncertain=context.uncertain(result),
                                      deferred=context.deferred(result)))
    negated_somewhere = any(a.negated for a in said)
    uncertain = any(a.uncertain for a in said) or (not negated_somewhere and _below_cutoff(clause))
    negated = not uncertain and negated_somewhere
    # "pending" / "see comment" / "not performed" leave no result, unless the statement gives one anyway
    # ("KMT2A FISH: positive, see comment", "MLL-AF4 not detected (see comment)")
    deferred = any(a.deferred for a in said) and not negated and not uncertain and not _states_a_result(clause)
    return context.Assertion(
        negated=negated, uncertain=uncertain, deferred=deferred,
        qualifiers=tuple(q for q in context.QUALIFIERS if any(q in a.qualifiers for a in said)))


_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*%")


def _below_cutoff(clause: str) -> bool:
    """A FISH count under the cut-off the lab prints beside it ("split signals in 2.0% of nuclei (normal < 5%)"):
    the lab's own "below the cut-off" in numbers, read the same way (uncertain, never positive)."""
    cutoff = term.pattern("printed_cutoff").search(clause) if "%" in clause else None
    if not cutoff:
        return False
    counts = [m for m in _PERCENT.finditer(clause) if not cutoff.start() <= m.start() < cutoff.end()]
    return bool(counts) and float(counts[0].group(1)) < float(cutoff.group(1))


_LEVEL = re.compile(r":\s*(<|≤|<=)?\s*(\d+(?:\.\d+)?)")


def _only_names_the_test(clause: str, target: _Target) -> bool:
    """"Test: KMT2A::AFF1 RT-PCR" names a test; "KMT2A::AFF1 RT-PCR: 1.2 x 10^-3" gives its level (a transcript
    above zero is a result; one under a limit, "< 1 x 10^-5", is not)."""
    after = clause[target.end:]
    if not term.pattern("test_named_after_fusion").search(after) or _states_a_result(clause):
        return False
    level = _LEVEL.search(after)
    return not level or bool(level.group(1)) or float(level.group(2)) == 0


def _states_a_result(clause: str) -> bool:
    return bool(term.pattern("positive").search(clause)) or any(
        t.category == "result" for t in context.triggers(clause))


def says_a_kind(window: str) -> bool:
    """Whether the words say what kind of finding it is: a rearrangement, PTD, amplification, deletion or variant."""
    return any(term.pattern(n).search(window) for n in _KIND_WORDS) or protein_change(window) is not None


def _kind_word_starts(text: str) -> list[int]:
    """Where the words that say what kind of finding it is (PTD, amplification, a deletion, a protein change) start."""
    patterns = [term.pattern(n) for n in _KIND_WORDS] + [_P_HGVS, _P_SHORT]
    return [m.start() for pattern in patterns for m in pattern.finditer(text)]


class _Scope:
    """What `_local` asks of a clause and its sentence, found once per clause: asked per target of a clause that
    names hundreds of genes (a fusion panel's list), a search of the whole clause each time was quadratic."""

    def __init__(self, clause: str, sentence: str):
        starts = _kind_word_starts(clause)
        self.last_kind_word = max(starts, default=-1)
        self.clause_says = bool(starts)
        self.sentence_says = bool(sentence) and says_a_kind(sentence)


def _local(clause: str, targets: list[_Target], i: int, sentence: str = "", scope: _Scope | None = None) -> str:
    """The words that say what kind of finding target i is: between its neighbours, else after it, else the whole
    statement, else its sentence ("variants detected in TP53, none in NPM1")."""
    scope = scope or _Scope(clause, sentence)
    prev_end = targets[i - 1].end if i > 0 else 0
    next_start = targets[i + 1].start if i + 1 < len(targets) else len(clause)
    between = clause[prev_end:next_start]
    if says_a_kind(between):
        return between
    if scope.last_kind_word >= targets[i].start:
        return clause[targets[i].start:]
    if scope.clause_says:
        return clause
    if scope.sentence_says:
        return sentence
    return between


def _read_clause(clause: str, method: str, sentence: str = "") -> tuple[list[Kmt2aEvent], list[Other]]:
    events, others = [], []
    targets = _targets(clause)
    scope = _Scope(clause, sentence) if targets else None
    for i, target in enumerate(targets):
        said = _assertion(clause, target, targets)
        if said.deferred:
            continue  # no result yet: neither present nor absent
        local = _local(clause, targets, i, sentence, scope)
        if len(target.genes) == 2:
            if not (said.negated or said.uncertain) and _only_names_the_test(clause, target):
                continue  # "Test: KMT2A::AFF1 RT-PCR"
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
        short = _P_SHORT.search(text)
        if not short:
            return None
        ref, pos, alt = short.groups()
    ref = _ONE_TO_THREE.get(ref, ref)
    if not alt.startswith("fs"):
        alt = _ONE_TO_THREE.get(alt, alt)
    return f"p.{ref}{pos}{alt}"
