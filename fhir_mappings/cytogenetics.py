"""ISCN karyotype and `nuc ish` FISH strings -> the abnormalities, clone structure and KMT2A events.

Accepts old (400-band: q21, q23) and current (sub-band: q21.3, q23.3) band names, both chromosome orders, ins/inv/
del/der, mosaic clones ("[15]/46,XX[5]"), and FISH nomenclature (amplification "KMT2Ax8~11", split signals
"(5'KMT2A sep 3'KMT2Ax1)", dual-fusion "(AFF1 con KMT2Ax1)"). Partners come from the ISCN table in
terminology/iscn_partners.csv. Never raises: an unreadable string gives an empty result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
        for part in fish:
            _parse_nuc_ish(part, result)
    except Exception:  # ISCN from the wild is endlessly inventive; never fail the caller
        return IscnResult()
    return result


def _split_fish(text: str) -> tuple[str, list[str]]:
    parts = re.split(r"\.?\s*(?=\bnuc\s*ish\b)", text, flags=re.IGNORECASE)
    karyotype = parts[0] if not re.match(r"\s*nuc\s*ish", parts[0], re.IGNORECASE) else ""
    fish = [p for p in parts if re.match(r"\s*nuc\s*ish", p, re.IGNORECASE)]
    # "ish" metaphase FISH after the karyotype ("46,XY.ish ...") is not interphase; keep it with the karyotype text
    return karyotype.strip().rstrip("."), fish


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


_START = re.compile(r"\d{2,3}(?:~\d{2,3})?(?:<\d?n>)?,\s*[XY]", re.IGNORECASE)


def looks_like_karyotype(text: str | None) -> bool:
    """Whether a text holds an ISCN karyotype ("46,XY,...") or a nuc ish result."""
    return isinstance(text, str) and bool(_START.search(text) or re.search(r"\bnuc\s*ish\b", text, re.I))


def _parse_karyotype(text: str, result: IscnResult) -> None:
    start = _START.search(text)  # labs prefix "Karyotype: " and the like
    if not start:
        return
    text = text[start.start():]
    clones = split_top_level(text.split(".ish")[0], "/")
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
        result.kmt2a_events.append(Kmt2aEvent(Kmt2aStatus.NOT_DETECTED, "karyotype", text, ambiguity=None))


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


def _kmt2a_from_aberration(ab: str) -> Kmt2aEvent | None:
    m = _STRUCT.match(ab)
    if not m:
        return None
    kind, chroms, bands = m.group(1).lower(), _chromosomes(m.group(2)), m.group(3) or ""
    if "11" not in chroms:
        return None
    per_chrom = _bands_per_chromosome(bands, len(chroms))
    if kind in ("hsr", "dmin", "amp"):
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
    i11 = chroms.index("11")
    if not any(_is_kmt2a_band(b) for b in per_chrom[i11]):
        return None
    for i, chrom in enumerate(chroms):
        if i != i11 and per_chrom[i]:
            return _lookup(chrom, per_chrom[i][0], ab)
    return Kmt2aEvent(Kmt2aStatus.REARRANGED, "karyotype", ab)


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


# --- nuc ish ---------------------------------------------------------------------------------------

_SIGNAL = re.compile(r"^(5'|3')?([A-Z0-9][A-Z0-9-]*?)(?:x(\d+)(?:~(\d+))?)?$")


def _normalise_fish(text: str) -> str:
    text = text.replace("×", "x").replace("’", "'").replace("′", "'")
    text = re.sub(r"\s*x\s*(?=\d)", "x", text)
    text = re.sub(r"\s*~\s*", "~", text)
    return text


def _gene(name: str) -> str | None:
    return term.known_gene(name) or (name.upper() if re.fullmatch(r"[A-Z][A-Z0-9-]{1,14}", name) else None)


def _parse_nuc_ish(part: str, result: IscnResult) -> None:
    text = _normalise_fish(part)
    groups = re.findall(r"\(([^()]*)\)(?:x(\d+)(?:~(\d+))?)?", text)
    if not groups:  # "nuc ish KMT2Ax8~11[175/200]" without parentheses
        groups = [(g, "", "") for g in re.findall(r"[A-Z0-9'-]+x\d+(?:~\d+)?", text)]
    kmt2a_counts: list[tuple[float, float]] = []
    split = False
    fused_partner = None
    for content, mult_low, mult_high in groups:
        if re.search(r"\bsep\b", content):
            if any(_gene(_signal_name(s)) == "KMT2A" for s in re.split(r"\bsep\b", content)):
                split = True
            continue
        if re.search(r"\bcon\b", content):
            names = [_gene(_signal_name(s)) for s in re.split(r"\bcon\b", content)]
            others = [n for n in names if n and n != "KMT2A"]
            if "KMT2A" in names and others:
                fused_partner = others[0]
            elif names and all(n == "KMT2A" for n in names):  # (5'KMT2A con 3'KMT2Ax2): intact signals
                count = re.search(r"x(\d+)(?:~(\d+))?\s*$", content)
                if count:
                    kmt2a_counts.append((float(count.group(1)), float(count.group(2) or count.group(1))))
            continue
        for item in split_top_level(content, ","):
            m = _SIGNAL.match(item.strip())
            if not m or not m.group(2):
                continue
            gene = _gene(m.group(2))
            low = m.group(3) or mult_low
            high = m.group(4) or mult_high or low
            if gene and low:
                if gene == "KMT2A":
                    kmt2a_counts.append((float(low), float(high)))
                elif gene != "KMT2A":
                    result.gene_events.append((gene, "copy-number", float(high) != 2.0))
    result.kmt2a_events.extend(_fish_events(part.strip(), kmt2a_counts, split, fused_partner))


def _signal_name(signal: str) -> str:
    m = _SIGNAL.match(signal.strip().rstrip(","))
    return m.group(2) if m and m.group(2) else signal.strip()


def _fish_events(text: str, counts: list[tuple[float, float]], split: bool, partner: str | None) -> list[Kmt2aEvent]:
    if split or partner:
        return [Kmt2aEvent(Kmt2aStatus.REARRANGED, "fish", text, partner=partner)]
    if not counts:
        return []
    low = min(c[0] for c in counts)
    high = max(c[1] for c in counts)
    if high >= term.param("amplification_min_copies"):
        return [Kmt2aEvent(Kmt2aStatus.AMPLIFIED, "fish", text, copy_number=low, copy_number_high=high)]
    # two (or three/four: a gain, not an amplification) intact signals: no rearrangement seen
    return [Kmt2aEvent(Kmt2aStatus.NOT_DETECTED, "fish", text,
                       copy_number=low if high != 2 else None, copy_number_high=high if high != 2 else None)]


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
