"""ISCN karyotype and FISH strings -> the abnormalities, clone structure and KMT2A events.

Accepts old (400-band: q21, q23) and current (sub-band: q21.3, q23.3) band names, both chromosome orders, ins/inv/
del/der, mosaic clones ("[15]/46,XX[5]"), questioned abnormalities ("?t(4;11)"), and FISH nomenclature from ISCN 1995
to 2024, interphase ("nuc ish") and metaphase ("ish"): copy counts "KMT2Ax8~11" (or "x8-12"), amplification "amp",
split signals "(5'KMT2A sep 3'KMT2Ax1)" and "(5'MLL,3'MLL)x2(5'MLL con 3'MLLx1)", dual-fusion "(AFF1 con KMT2Ax1)",
and signals on derivative chromosomes "ish t(4;11)(q21;q23)(5'KMT2A+;3'KMT2A+)". A pattern that does not say whether
KMT2A is broken gives UNKNOWN, never a guess. Partners come from the ISCN table in terminology/iscn_partners.csv.
Never raises: an unreadable string gives an empty result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from fhir_mappings import terminology as term
from fhir_mappings.case import Kmt2aStatus


@dataclass(frozen=True)
class Kmt2aEvent:
    """One KMT2A statement read from an ISCN string (the caller adds provenance)."""

    status: Kmt2aStatus
    method: str  # "karyotype" or "fish"
    text: str
    partner: str | None = None
    candidates: tuple[str, ...] = ()
    ambiguity: str | None = None
    copy_number: float | None = None
    copy_number_high: float | None = None
    fusion: str | None = None  # "KMT2A::AFF1" when the text names both genes
    uncertain: bool = False  # hedged ("possible", "cannot be excluded", "equivocal"): never a positive
    qualifiers: tuple[str, ...] = ()  # "historical", "subclone", "mosaic", "8/20 metaphases"


@dataclass
class IscnResult:
    aberrations: list[str] = field(default_factory=list)  # unique, across clones
    clones: int = 0
    has_karyotype: bool = False
    karyotype: str = ""  # the karyotype as written, without the words or the FISH around it
    kmt2a_events: list[Kmt2aEvent] = field(default_factory=list)
    gene_events: list[tuple[str, str, bool]] = field(default_factory=list)  # (gene, kind, present) from nuc ish

    @property
    def abnormality_count(self) -> int:
        return count_abnormalities(self.aberrations)


# A structural abnormality: name(chromosomes)(bands), optionally preceded by der(..)/ider(..)
_STRUCT = re.compile(r"^(?:\+|-)?(?:i?der\([^)]*\))?([a-z]+)\(([^)]*)\)(?:\(([^)]*)\))?", re.IGNORECASE)
_BAND = re.compile(r"([pq])(\d{1,2}(?:\.\d{1,3})?)", re.IGNORECASE)
_COUNT = re.compile(r"\[(?:cp)?(\d+)(?:/\d+)?\]\s*$", re.IGNORECASE)
_NUMERIC = re.compile(r"^[+-](?:\d{1,2}|X|Y)(?:c)?$", re.IGNORECASE)
_MARKER = re.compile(r"^\+(\d*)~?(\d*)mar\d*$", re.IGNORECASE)
_AMPLIFIED_KINDS = ("hsr", "dmin", "amp")  # homogeneously staining region, double minutes, amplification
_UNPLACED_AMPLICON = re.compile(r"^\+?\d*~?\d*(?:dmin|hsr)$", re.IGNORECASE)
_CLONE_REFERENCES = {"idem", "sl", "sdl", "sdl1", "sdl2"}


def parse(text: str | None) -> IscnResult:
    """Parse an ISCN string. Never raises."""
    result = IscnResult()
    if not isinstance(text, str) or not text.strip():
        return result
    try:
        karyotype, fish = _split_fish(text.strip())
        if karyotype:
            _parse_karyotype(karyotype, result)
        # the karyotype (or an earlier metaphase FISH) already read the breakpoints: the FISH does not name the
        # partner again. Tracked as the parts are read, not searched for in all events each time (quadratic)
        banded = _banded(result.kmt2a_events)
        for part in fish:
            banded = _banded(_parse_fish(part, result, banded)) or banded
    except Exception:  # ISCN from the wild is endlessly inventive; never fail the caller
        return IscnResult()
    return result


# Where FISH nomenclature starts: "nuc ish" (interphase) or "ish" (metaphase) followed by ISCN, never the word alone
FISH_START = re.compile(r"\bnuc\s*ish\b|(?<![-\w])ish(?=\(|\s*(?:[a-z]{1,5}\(|\d{1,2}[pq]\d))", re.IGNORECASE)
# Where a FISH string ends inside prose: a sentence stop, a line end, or its last "[cells]" (not one before "/")
_FISH_END = re.compile(r"\.(?=\s|$)|\n|\](?!\s*[/,]\s*(?:\(|\d{1,2}[pq]))")


def fish_spans(text: str) -> list[tuple[int, int]]:
    """Where the ISCN FISH strings are in a text, each cut where the ISCN ends ("ish ...", "nuc ish ...[200]")."""
    starts = [m.start() for m in FISH_START.finditer(text)]
    out = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else len(text)
        end = _FISH_END.search(text, start, stop)
        if end:
            stop = end.end() if end.group(0) == "]" else end.start()
        segment = text[start:stop].rstrip()
        out.append((start, start + len(segment.rstrip(".,;").rstrip())))
    return out


def fish_strings(text: str) -> list[str]:
    """The ISCN FISH strings in a text (see fish_spans)."""
    return [text[start:end] for start, end in fish_spans(text)]


def _split_fish(text: str) -> tuple[str, list[str]]:
    first = FISH_START.search(text)
    if not first:
        return text.strip().rstrip("."), []
    return text[:first.start()].strip().rstrip(".").strip(), fish_strings(text)


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses and brackets."""
    out, depth, current = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch == sep and depth == 0:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return [p.strip() for p in out if p.strip()]


# Where a karyotype ends inside prose: a sentence stop, a line end (not after "/" or ",": a PDF wraps a long
# karyotype there, "45,XY,-7,del(5)(q13q33),\n-17,+mar[20]"), or a word that is no ISCN (ISCN's own words,
# "dmin", "hsr", "mar", "inc", after a spaced comma are no end: "46,XX, dmin[10]")
_KARYOTYPE_END = re.compile(r"\.(?=\s|$)|(?<![/,])(?<![/,]\r)\n"
                            r"|\s+(?=(?!(?:idem|sl|sdl\d*|[XY]+|dmin|hsr|mar|inc)\b)[A-Z]{2,}\b(?!\())", re.IGNORECASE)
_START = re.compile(r"\d{2,3}(?:~\d{2,3})?(?:<\d?n>)?,\s*[XY]", re.IGNORECASE)


def karyotype_at(text: str) -> int:
    """Where the karyotype ("46,XY,...") starts in a text (0 when it has none)."""
    start = _START.search(text)
    return start.start() if start else 0


def looks_like_karyotype(text: str | None) -> bool:
    """Whether a text holds an ISCN karyotype ("46,XY,...") or a FISH result ("nuc ish(...)", "ish t(...)(...)")."""
    if not isinstance(text, str):
        return False
    # routing asks this of every worded result: a plain substring test first keeps the FISH pattern off most text
    return bool(_START.search(text) or (("ish" in text or "ISH" in text or "Ish" in text) and FISH_START.search(text)))


def _parse_karyotype(text: str, result: IscnResult) -> None:
    start = _START.search(text)  # labs prefix "Karyotype: " and the like
    if not start:
        return
    text = _KARYOTYPE_END.split(text[start.start():], 1)[0].strip()  # "46,XY[20] normal male": the words are no clone
    clones = split_top_level(text, "/")
    result.karyotype = re.sub(r"\s*\n\s*", "", text)  # as one line: the card quotes it
    seen: list[str] = []
    for clone in clones:
        items = split_top_level(clone, ",")
        if not items or not re.match(r"^\d{2,3}", items[0]):
            continue  # not a karyotype (free text, or a stray token)
        result.has_karyotype = True
        result.clones += 1
        for item in items[2:]:
            item = _COUNT.sub("", item).strip()
            if not item or item.lower() in _CLONE_REFERENCES:
                continue
            if item not in seen:
                seen.append(item)
    result.aberrations = seen
    for ab in seen:
        event = _kmt2a_from_aberration(ab)
        if event:
            result.kmt2a_events.append(event)
    if result.has_karyotype and not any(e.method == "karyotype" for e in result.kmt2a_events):
        # double minutes of unnamed origin ("2~10dmin") may carry KMT2A: the karyotype cannot say it is normal there
        unplaced = any(_UNPLACED_AMPLICON.match(ab) for ab in seen)
        status = Kmt2aStatus.UNKNOWN if unplaced else Kmt2aStatus.NOT_DETECTED
        result.kmt2a_events.append(Kmt2aEvent(status, "karyotype", text, ambiguity=None))


def _chromosomes(spec: str) -> list[str]:
    return [c.strip().upper() for c in spec.split(";")]


def _bands_per_chromosome(spec: str, count: int) -> list[list[str]]:
    parts = spec.split(";") if ";" in spec else [spec]
    out = [[m.group(1).lower() + m.group(2) for m in _BAND.finditer(p)] for p in parts]
    while len(out) < count:
        out.append([])
    return out


def _is_kmt2a_band(band: str) -> bool:
    return band in term.param("kmt2a_bands")


# A structural abnormality written in prose, outside a karyotype: "t(4;11)(q21;q23) detected by FISH",
# "Positive for t(9;11)(p21.3;q23.3)", "ins(10;11)(p12;q23q13)". Bands are required: they name the partner.
_BAND_TEXT = r"[pq]\d{1,2}(?:\.\d{1,3})?(?:[pq]\d{1,2}(?:\.\d{1,3})?)?"
PROSE_ABERRATION = re.compile(rf"(?<![\w,?])(?:t|ins|inv)\((?:\d{{1,2}}|X)(?:;(?:\d{{1,2}}|X)){{0,2}}\)"
                              rf"\({_BAND_TEXT}(?:;{_BAND_TEXT}){{0,2}}\)", re.IGNORECASE)


def aberration_in_prose(ab: str) -> Kmt2aEvent | None:
    """The KMT2A event one abnormality names ("t(4;11)(q21;q23)": rearranged, AFF1), as a karyotype would read it."""
    return _kmt2a_from_aberration(ab)


def _kmt2a_from_aberration(ab: str) -> Kmt2aEvent | None:
    if ab.startswith("?"):  # "?t(4;11)(q21;q23)": the lab questions its own identification; hedged, never positive
        event = _kmt2a_from_aberration(ab[1:])
        return Kmt2aEvent(Kmt2aStatus.UNKNOWN, "karyotype", ab, uncertain=True) if event else None
    m = _STRUCT.match(ab)
    if not m:
        return None
    kind, chroms, bands = m.group(1).lower(), _chromosomes(m.group(2)), m.group(3) or ""
    if "11" not in chroms:
        return None
    per_chrom = _bands_per_chromosome(bands, len(chroms))
    if kind in _AMPLIFIED_KINDS:
        if any(_is_kmt2a_band(b) for b in per_chrom[chroms.index("11")]):
            return Kmt2aEvent(Kmt2aStatus.AMPLIFIED, "karyotype", ab)
        return None
    if len(chroms) == 1:  # inv(11), del(11), dup(11), add(11)
        bands11 = per_chrom[0]
        if not any(_is_kmt2a_band(b) for b in bands11):
            return None
        if kind == "add":  # material of unknown origin at 11q23: KMT2A may be broken, partner unknowable
            return Kmt2aEvent(Kmt2aStatus.UNKNOWN, "karyotype", ab)
        others = [b for b in bands11 if not _is_kmt2a_band(b)]
        event = _lookup("11", others[0] if others else bands11[0], ab)
        if kind in ("del", "dup") and event.status == Kmt2aStatus.REARRANGED:
            # a segment lost or gained between 11q23 and a band of no known fusion: KMT2A may or may not be broken
            return Kmt2aEvent(Kmt2aStatus.UNKNOWN, "karyotype", ab)
        return event
    # the chromosome 11 broken at 11q23 ("t(11;11)(p15;q23)": the second one, not the first 11 written)
    i11 = next((i for i, chrom in enumerate(chroms) if chrom == "11" and any(_is_kmt2a_band(b) for b in per_chrom[i])),
               None)
    if i11 is None:
        return None
    raw_bands = bands.split(";")
    if i11 < len(raw_bands) and "?" in raw_bands[i11]:  # "t(4;11)(q21;?q23)": the lab questions the 11q23 break
        return Kmt2aEvent(Kmt2aStatus.UNKNOWN, "karyotype", ab, uncertain=True)
    found = []
    for i, chrom in enumerate(chroms):
        if i != i11 and per_chrom[i]:
            event = _lookup(chrom, per_chrom[i][0], ab)
            if event.partner and "?" in raw_bands[i]:  # "t(4;11)(?q21;q23)": the partner's band is questioned
                event = replace(event, partner=None, candidates=(event.partner,))
            found.append(event)
    if len(found) > 1:
        # a three-way translocation ("t(1;11;4)(p32;q23;q21)"): the bands do not say which partner joins KMT2A, so
        # each is a candidate; a band that puts the 11q23 break itself in doubt (17q21) keeps the result unknown
        candidates = tuple(dict.fromkeys(g for e in found for g in ((e.partner,) if e.partner else ()) + e.candidates))
        broken = all(e.status == Kmt2aStatus.REARRANGED for e in found)
        status = Kmt2aStatus.REARRANGED if broken else Kmt2aStatus.UNKNOWN
        return Kmt2aEvent(status, "karyotype", ab, candidates=candidates)
    return found[0] if found else Kmt2aEvent(Kmt2aStatus.REARRANGED, "karyotype", ab)


def _lookup(chromosome: str, band: str, ab: str) -> Kmt2aEvent:
    row = term.iscn_partner(chromosome, band)
    if row is None:  # t(v;11q23) with a partner band we do not know: rearranged, partner unknown
        return Kmt2aEvent(Kmt2aStatus.REARRANGED, "karyotype", ab)
    candidates = tuple(c for c in row["candidates"].split(";") if c)
    return Kmt2aEvent(
        status=Kmt2aStatus(row["kmt2a_status"]),
        method="karyotype",
        text=ab,
        partner=row["partner"] or None,
        candidates=candidates,
        ambiguity=row["ambiguity"] or None,
    )


# --- FISH: nuc ish (interphase) and ish (metaphase) -------------------------------------------------

_SIGNAL = re.compile(r"^(5'|3')?([A-Za-z0-9][A-Za-z0-9-]*?)(?:x(\d+)(?:~(\d+))?|(amp))?$")
_MARK = re.compile(r"^(5'|3')?([A-Za-z0-9][A-Za-z0-9-]*?)(\+\+?|-|amp|x\d+(?:~\d+)?)$")  # "5'KMT2A+", "MLL-"
_GROUP = re.compile(r"\(([^()]*)\)(?:x(\d+)(?:~(\d+))?|(amp))?")
_NO_CELLS = re.compile(r"\[\s*0+(?:\.0+)?\s*(?:/|%|\])")
_COUNT_AT_END = re.compile(r"x(\d+)(?:~(\d+))?\s*$")
_BANDS_ONLY = re.compile(r"^[pq]\d[\dpq.;~\s-]*$", re.IGNORECASE)
_COPY_CHANGE_KINDS = ("del", "dup", "add", "trp", "qdp")  # a lost or gained segment: KMT2A may or may not be broken


# what word processors and PDFs print for ISCN's characters: "×" for x, "′ ’ ´" for ', "∼" for ~, "–" for -
_PRINTED = str.maketrans({"\u00d7": "x", "\u2019": "'", "\u2018": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
                          "\u223c": "~", "\u301c": "~", "\uff5e": "~", "\u2013": "-", "\u2212": "-"})


def _normalise_fish(text: str) -> str:
    text = text.translate(_PRINTED)
    text = re.sub(r"\s*x\s*(?=\d)", "x", text)
    text = re.sub(r"x(\d+)\s*-\s*(\d+)(?![\d'])", r"x\1~\2", text)  # "x8-12": a range written with a dash
    text = re.sub(r"\s*~\s*", "~", text)
    text = re.sub(r"([53]')\s+", r"\1", text)  # "5' MLL"
    text = re.sub(r"\s+amp\b", "amp", text, flags=re.IGNORECASE)  # "(KMT2A amp)"
    # a vendor's probe name is its gene: "LSI MLL", "MLL-BA", "KMT2A BA" (break-apart), "DC" (dual colour)
    text = re.sub(r"\bLSI\s+", "", text)
    return re.sub(r"(?<=[A-Za-z0-9])[\s-](?:BA|BAP|DC|DF|break-?apart)(?=[\s,;)x+-]|$)", "", text, flags=re.IGNORECASE)


def _gene(name: str) -> str | None:
    return term.known_gene(name) or (name if re.fullmatch(r"[A-Z][A-Z0-9-]{1,14}", name) else None)


@dataclass
class _Signals:
    """What one clone's signal groups say about KMT2A (and the other probes)."""

    whole: list[tuple[float, float]] = field(default_factory=list)  # "KMT2Ax2": intact signals per nucleus
    ends: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {"5'": [], "3'": []})
    intact: list[tuple[float, float]] = field(default_factory=list)  # "(5'KMT2A con 3'KMT2Ax2)"
    separated: bool = False  # "(5'KMT2A sep 3'KMT2Ax1)"
    amplified: bool = False  # "(KMT2Aamp)"
    fused_with: list[str] = field(default_factory=list)  # "(AFF1 con KMT2Ax2)": the other gene of a fusion signal
    co_probes: list[str] = field(default_factory=list)  # "(AFF1,KMT2A)x2": genes counted together with KMT2A


def _count(low: str | None, high: str | None) -> tuple[float, float] | None:
    return (float(low), float(high or low)) if low else None


def _read_signals(text: str, result: IscnResult) -> _Signals:
    signals = _Signals()
    groups = _GROUP.findall(text)
    if not groups:  # "nuc ish KMT2Ax8~11[175/200]" without parentheses
        groups = [(g, "", "", "") for g in re.findall(r"[A-Za-z0-9'-]+(?:x\d+(?:~\d+)?|amp)", text)]
    for content, mult_low, mult_high, mult_amp in groups:
        if re.search(r"\bsep\b", content):
            if any(_gene(_signal_name(s)) == "KMT2A" for s in re.split(r"\bsep\b", content)):
                signals.separated = True
            continue
        if re.search(r"\bcon\b", content):
            _read_connected(content, mult_low, mult_high, signals)
            continue
        items = [(m, _gene(m.group(2))) for m in map(_SIGNAL.match, split_top_level(content, ",")) if m and m.group(2)]
        genes = [g for _, g in items if g]
        if "KMT2A" in genes:
            signals.co_probes.extend(g for g in genes if g != "KMT2A")
        for m, gene in items:
            count = _count(m.group(3) or mult_low, m.group(4) or mult_high)
            amp = bool(m.group(5) or mult_amp)
            if gene == "KMT2A":
                if amp:
                    signals.amplified = True
                elif count and m.group(1):
                    signals.ends[m.group(1)].append(count)
                elif count:
                    signals.whole.append(count)
            elif gene and amp:
                result.gene_events.append((gene, "amplification", True))
            elif gene and count:
                # fewer than two signals is a loss ("TP53x1": a 17p13 deletion, as "TP53 deletion" in words reads)
                kind = "deletion" if count[1] < 2 else "copy-number"
                result.gene_events.append((gene, kind, count[1] != 2.0))
    return signals


def _read_connected(content: str, mult_low: str, mult_high: str, signals: _Signals) -> None:
    """"(AFF1 con KMT2Ax2)": fusion signals; "(5'KMT2A con 3'KMT2Ax2)": intact KMT2A signals."""
    names = [_gene(_signal_name(s)) for s in re.split(r"\bcon\b", content)]
    m = _COUNT_AT_END.search(content)
    count = _count(m.group(1), m.group(2)) if m else _count(mult_low, mult_high)
    if "KMT2A" not in names or (count and count[1] == 0):
        return  # no KMT2A probe, or no connected signal at all
    others = [n for n in names if n != "KMT2A"]
    if others and all(term.known_gene(n) for n in others):  # "(KMT2A con CEP11)" is a control, not a fusion
        signals.fused_with.extend(others)
    elif not others and count:
        signals.intact.append(count)


def _signal_name(signal: str) -> str:
    m = _SIGNAL.match(signal.strip().rstrip(","))
    return m.group(2) if m and m.group(2) else signal.strip()


def _interphase_event(text: str, s: _Signals) -> Kmt2aEvent | None:
    """One clone's KMT2A reading. A pattern that does not say whether KMT2A is broken is UNKNOWN, never a guess."""
    if s.fused_with:  # a fusion signal: rearranged; the partner only when the partner table knows the gene
        partners = {g for g in s.fused_with if g in term.kmt2a_partner_genes()}
        partner = partners.pop() if len(partners) == 1 else None
        return Kmt2aEvent(Kmt2aStatus.REARRANGED, "fish", text, partner=partner)
    if s.separated:
        return Kmt2aEvent(Kmt2aStatus.REARRANGED, "fish", text)
    if s.amplified:  # the lab's own call ("amp": too many signals to count); no copy number
        return Kmt2aEvent(Kmt2aStatus.AMPLIFIED, "fish", text)
    five, three = sorted(s.ends["5'"]), sorted(s.ends["3'"])
    counts = s.whole
    if five or three:
        if five != three:  # one end lost or gained ("5'KMT2Ax2,3'KMT2Ax1"): deletion or unbalanced rearrangement
            return Kmt2aEvent(Kmt2aStatus.UNKNOWN, "fish", text)
        if not s.intact:  # "(5'KMT2A,3'KMT2A)x2" alone: fused or apart is not said
            return Kmt2aEvent(Kmt2aStatus.UNKNOWN, "fish", text)
        if max(c[0] for c in s.intact) < min(c[0] for c in five):  # fewer intact than either end: the rest apart
            return Kmt2aEvent(Kmt2aStatus.REARRANGED, "fish", text)
        counts = counts + s.intact
    elif s.intact:
        if counts and sorted(counts) != sorted(s.intact):  # "(KMT2Ax3)(5'KMT2A con 3'KMT2Ax2)": the third unsaid
            return Kmt2aEvent(Kmt2aStatus.UNKNOWN, "fish", text)
        counts = counts + s.intact
    if not counts:
        return None
    low, high = min(c[0] for c in counts), max(c[1] for c in counts)
    if low == 0:
        return Kmt2aEvent(Kmt2aStatus.UNKNOWN, "fish", text)  # no KMT2A signal at all: a failed or deleted locus
    if high >= term.param("amplification_min_copies"):
        return Kmt2aEvent(Kmt2aStatus.AMPLIFIED, "fish", text, copy_number=low, copy_number_high=high)
    # two (or three/four: a gain, not an amplification) intact signals: no rearrangement seen. Probes counted
    # together with KMT2A that name a partner ("(AFF1,KMT2A)x2") are a dual-fusion probe: it rules out that fusion
    partners = [g for g in s.co_probes if g in term.kmt2a_partner_genes()]
    return Kmt2aEvent(Kmt2aStatus.NOT_DETECTED, "fish", text, partner=partners[0] if len(partners) == 1 else None,
                      candidates=tuple(partners) if len(partners) > 1 else (),
                      copy_number=low if high != 2 else None, copy_number_high=high if high != 2 else None)


def _banded(events: list[Kmt2aEvent]) -> bool:
    return any(e.method == "karyotype" and e.status != Kmt2aStatus.NOT_DETECTED for e in events)


def _parse_fish(part: str, result: IscnResult, banded: bool) -> list[Kmt2aEvent]:
    """Read one FISH string into result; returns the KMT2A events it added."""
    metaphase = not re.match(r"\s*nuc", part, re.IGNORECASE)
    body = _normalise_fish(re.sub(r"^\s*(?:nuc\s*)?ish\b\s*", "", part, flags=re.IGNORECASE))
    events: list[Kmt2aEvent] = []
    for clone in split_top_level(body, "/"):  # "nuc ish(KMT2Ax2)[150]/(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[50]"
        if _NO_CELLS.search(clone):
            continue  # "[0/200]", "[0%]": a pattern seen in no cell is no finding
        if metaphase:
            events.extend(_metaphase_events(re.sub(r"\[[^\]]*\]\s*$", "", clone), part.strip(), result, banded))
        else:
            event = _interphase_event(part.strip(), _read_signals(clone, result))
            events.extend([event] if event else [])
    if any(e.status != Kmt2aStatus.NOT_DETECTED for e in events):  # a normal clone beside an abnormal one is no negative
        events = [e for e in events if e.status != Kmt2aStatus.NOT_DETECTED]
    added = list(dict.fromkeys(events))
    result.kmt2a_events.extend(added)
    return added


def _kmt2a_marks(content: str) -> list[re.Match]:
    return [m for m in map(_MARK.match, re.split(r"\s*[;,]\s*", content.strip())) if m and _gene(m.group(2)) == "KMT2A"]


def _metaphase_events(clone: str, text: str, result: IscnResult, banded: bool) -> list[Kmt2aEvent]:
    """Metaphase FISH: where the probe's signals lie on the chromosomes. "t(4;11)(q21;q23)(5'KMT2A+;3'KMT2A+)",
    "der(11)t(4;11)(5'MLL+,3'MLL-),der(4)t(4;11)(5'MLL-,3'MLL+)", "t(9;11)(MLL+;MLL+)", "hsr(11)(q23)(MLL+)";
    an enumeration "11q23(MLLx2)" counts only when abnormal (metaphases are the dividing cells, often the normal
    ones). A break is read only when the signals show it; the bands then name the likely partner."""
    events: list[Kmt2aEvent] = []
    derivatives: list[str] = []  # the KMT2A signals on each chromosome of the rearrangements of chromosome 11
    breakpoints: list[str] = []  # those rearrangements as banded ("t(4;11)(q21;q23)")
    for item in split_top_level(clone, ","):
        tokens = re.findall(r"([a-z]*)\(([^()]*)\)", item, re.IGNORECASE)
        named = [(k.lower(), c) for k, c in tokens if k]
        signals = _read_signals(" ".join(f"({c})" for k, c in tokens if not k), IscnResult())
        if not named:
            event = _interphase_event(text, _read_signals(item, result))
            if event and event.status in (Kmt2aStatus.REARRANGED, Kmt2aStatus.AMPLIFIED):
                events.append(event)
            continue
        marked = [c for _, c in tokens if _kmt2a_marks(c)]
        if {k for k, _ in named} & set(_AMPLIFIED_KINDS):  # "hsr(11)(q23)(MLL+)", "dmin(KMT2A+)": KMT2A amplicon
            if signals.amplified or any(m.group(3) != "-" for c in marked for m in _kmt2a_marks(c)):
                events.append(Kmt2aEvent(Kmt2aStatus.AMPLIFIED, "fish", text))
            continue
        chromosomes = {ch.strip().upper() for _, c in named for ch in c.split(";")}
        if "11" not in chromosomes or named[-1][0] in _COPY_CHANGE_KINDS:
            continue  # not chromosome 11, or a deletion/duplication: a lost 3' signal is no proof of a break
        if signals.fused_with or signals.separated:  # "ins(10;11)(...)(MLLT10 con KMT2A)", "(5'MLL sep 3'MLL)"
            events.append(_interphase_event(text, signals))
        elif marked:
            derivatives.extend(marked[-1].split(";"))
        else:
            continue
        bands = [c for k, c in tokens if not k and _BANDS_ONLY.match(c.strip())]
        if bands:
            breakpoints.append("".join(f"{k}({c})" for k, c in tokens if k) + f"({bands[0]})")
    if derivatives and _split_on_derivatives(derivatives):
        events.append(Kmt2aEvent(Kmt2aStatus.REARRANGED, "fish", text))
    if breakpoints and not banded and any(e.status == Kmt2aStatus.REARRANGED for e in events):
        event = _kmt2a_from_aberration(breakpoints[0])
        events.extend([event] if event else [])
    return events


def _split_on_derivatives(derivatives: list[str]) -> bool:
    """KMT2A probe signals on different chromosomes: a whole probe on two derivatives ("MLL+;MLL+"), or its 5' and
    3' ends apart ("5'KMT2A+;3'KMT2A+", "5'MLL+,3'MLL-"). Both ends must be described to tell."""
    whole, ends, mentioned = set(), {"5'": set(), "3'": set()}, set()
    for i, derivative in enumerate(derivatives):
        for m in _kmt2a_marks(derivative):
            present = m.group(3) != "-"
            if m.group(1):
                mentioned.add(m.group(1))
                if present:
                    ends[m.group(1)].add(i)
            elif present:
                whole.add(i)
    return len(whole) >= 2 or (mentioned == {"5'", "3'"} and ends["5'"] != ends["3'"])


# --- complex karyotype -----------------------------------------------------------------------------

def is_complex(result: IscnResult) -> bool:
    """>= 3 unrelated abnormalities (ELN). ELN excludes karyotypes with a t(v;11)(v;q23.3) from "complex"
    (the KMT2A rearrangement is the defining lesion), so those are not flagged here."""
    if result.abnormality_count < 3:
        return False
    return not any(e.status == Kmt2aStatus.REARRANGED and e.method == "karyotype" for e in result.kmt2a_events)


def count_abnormalities(aberrations: list[str]) -> int:
    """Markers count as written ("+2mar" = 2)."""
    n = 0
    for ab in aberrations:
        m = _MARKER.match(ab)
        n += int(m.group(1) or 1) if m else 1
    return n
