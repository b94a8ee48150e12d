"""Genetic results -> KMT2A findings, other genetic findings and the karyotype.

Reads Genomics Reporting IG Variant Observations (69548-6; components matched by LOINC code, never by slice
name), karyotype lab results (33893-9 / 29770-5 / 81861-7 or an 81291-7 component), FISH results and any
Observation or DiagnosticReport whose words name KMT2A/MLL.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from fhir_mappings import context, cytogenetics, documents, fusion_text, observations, units
from fhir_mappings import terminology as term
from fhir_mappings.access import codings, concept_text, dicts, effective_date, notes, reference_of, text_of
from fhir_mappings.case import GeneticFinding, Karyotype, Kmt2aFinding, Kmt2aStatus, Source
from fhir_mappings.cytogenetics import Kmt2aEvent

@dataclass
class GeneticResult:
    kmt2a: list[Kmt2aFinding] = field(default_factory=list)
    findings: list[GeneticFinding] = field(default_factory=list)
    karyotype: Karyotype | None = None
    unreadable: list[str] = field(default_factory=list)  # attachments that could not be read, and why


def _loinc_kind(resource: dict) -> str | None:
    rows = observations.loinc_rows(resource)
    return rows[0]["kind"] if rows else None


def names_genetics(words: str) -> bool:
    """Names a gene, an ISCN karyotype or FISH string, or a translocation by its bands ("t(4;11)(q21;q23)")."""
    return bool(words and (term.gene_alias_pattern().search(words) or cytogenetics.looks_like_karyotype(words)
                           or ("(" in words and cytogenetics.PROSE_ABERRATION.search(words))))


def is_genetic(resource: dict, resolve: documents.Resolve | None = None) -> bool:
    """Cheap pre-filter on raw JSON (a report's attachments are decoded only when it is worth reading)."""
    if resource.get("resourceType") == "DiagnosticReport":
        if names_genetics(documents.report_text(resource, attachments=False).text):
            return True
        return bool(resource.get("presentedForm") and documents.worth_reading(resource)
                    and names_genetics(documents.report_text(resource, resolve).text))
    if resource.get("resourceType") != "Observation":
        return False
    kind = _loinc_kind(resource)
    if kind in ("genomic-variant", "karyotype", "fish-panel"):
        return True
    if kind:
        return False
    words = concept_text(resource.get("code"))
    return bool(words and (term.gene_alias_pattern().search(words) or term.pattern("karyotype").search(words)
                           or term.pattern("fish").search(words)))


def map_resource(resource: dict, resolve: documents.Resolve | None = None) -> GeneticResult:
    source = Source(reference_of(resource), effective_date(resource))
    if resource.get("resourceType") == "DiagnosticReport":
        report = documents.report_text(resource, resolve)
        result = _from_report(report.text, source)
        result.unreadable.extend(report.unreadable)
        return result
    kind = _loinc_kind(resource)
    if kind == "genomic-variant":
        return _from_variant(resource, source)
    value = _value_text(resource)
    if kind == "karyotype" or (not kind and (term.pattern("karyotype").search(concept_text(resource.get("code")))
                                             or cytogenetics.looks_like_karyotype(value))):
        result = _from_karyotype(value, source)
        if result.karyotype or result.kmt2a:
            return result
    if not _has_result(resource):
        return GeneticResult()  # a test name alone ("MLL-AF4 RT-PCR", data absent) is no result
    sentence = _result_sentence(resource)
    method_words = f"{sentence} {concept_text(resource.get('method'))}"
    fish_coded = "fish" in _coded_methods(resource)
    method = "fish" if kind == "fish-panel" or fish_coded or term.pattern("fish").search(method_words) else "molecular"
    result = from_text(sentence, source, method)
    if cytogenetics.looks_like_karyotype(sentence):  # a karyotype in a component or note ("Karyotype: 46,XX,...")
        banded = _from_karyotype(sentence, source)
        result.karyotype = banded.karyotype
        result.kmt2a[:0] = [f for f in banded.kmt2a if f.method == "karyotype" and f not in result.kmt2a]
    return result


# --- fusion-transcript codes ------------------------------------------------------------------------

def fusion_transcript(resource: dict, partner: str) -> list[Kmt2aFinding]:
    """A LOINC code that itself names a KMT2A fusion transcript (72313-0, t(4;11) KMT2A::AFF1 / control ratio):
    a detectable transcript proves the rearrangement; an undetectable one (an MRD-negative follow-up) says nothing
    about the diagnosis, so it gives no finding."""
    source = Source(reference_of(resource), effective_date(resource))
    q = resource.get("valueQuantity") if isinstance(resource.get("valueQuantity"), dict) else {}
    value, comparator = units.number(q.get("value")), q.get("comparator")
    detected = None
    if value is not None:
        detected = value > 0 and comparator not in ("<", "<=")
    if detected is None:  # "Detected", "POSITIVE", a coded Present
        words = _value_text(resource)
        coded = {term.coded_values().get((s, c.upper())) for s, c, _ in codings(resource.get("valueCodeableConcept"))}
        detected = "present" in coded or bool(words and term.pattern("positive").search(words)
                                               and not context.negated(words) and not context.uncertain(words))
    if not detected:
        return []
    return [Kmt2aFinding(Kmt2aStatus.REARRANGED, source, "molecular", partner=partner, fusion=f"KMT2A::{partner}",
                         text=concept_text(resource.get("code")) or None)]


# --- plain results ---------------------------------------------------------------------------------

def _value_text(resource: dict) -> str:
    if isinstance(resource.get("valueString"), str):
        return resource["valueString"]
    concept = resource.get("valueCodeableConcept")
    if isinstance(concept, dict):
        iscn = [code for system, code, _ in codings(concept) if system == "iscn"]
        if iscn:
            return iscn[0]
        if isinstance(concept.get("text"), str) and concept["text"].strip():
            return concept["text"]
        for _, code, display in codings(concept):
            return display or code
    return ""


def _has_result(resource: dict) -> bool:
    return any(k.startswith("value") for k in resource) or any(
        resource.get(k) for k in ("interpretation", "component", "note"))


def _quantity_says(quantity: dict) -> str:
    """A transcript level as words: above zero is detected, zero or "<" a limit is not."""
    number = units.number(quantity.get("value"))
    if number is None:
        return ""
    return "detected" if number > 0 and quantity.get("comparator") not in ("<", "<=") else "not detected"


# a parenthesised group is matched whole (kept), any other ";" becomes ","; linear, unlike a look-ahead for ")"
# after each ";" (100 KB of ";" in one hostile valueString took 14 s)
_IN_PARENTHESES_OR_SEMICOLON = re.compile(r"\([^()]*\)|;")


def _result_sentence(resource: dict) -> str:
    """"<what was tested>: <result>" so that "MLL gene rearrangement" + "Not detected" reads as one clause."""
    value = _value_text(resource)
    for system, code, _ in codings(resource.get("valueCodeableConcept")):
        meaning = term.coded_values().get((system, code.upper()))
        if meaning in ("present", "absent"):
            value = f"{value} {'detected' if meaning == 'present' else 'not detected'}"
    for system, code, _ in codings(resource.get("interpretation")):
        meaning = term.coded_values().get((system, code.upper()))
        if meaning in ("present", "absent") and not value:
            value = "detected" if meaning == "present" else "not detected"
    if not value:  # the result written only as the interpretation's text ("Positive", "KMT2A rearranged")
        value = " ".join(text_of(i.get("text")) for i in dicts(resource.get("interpretation"))).strip()
    name = concept_text(resource.get("code"))
    if not value and isinstance(resource.get("valueQuantity"), dict) and (
            term.pattern("structural_words").search(name) or fusion_text.names_a_fusion(name)):
        value = _quantity_says(resource["valueQuantity"])  # "MLL-AF4 transcript / ABL1": 0.0023
    comment = notes(resource)
    if comment and value and context.deferred(value):  # "See comment", the result in the note
        value, comment = comment.replace("\n", " "), ""
    if "&" in value:
        value = html.unescape(value)  # "KMT2A&#8209;AFF1": the entity's ";" is no statement end
    # one clause per result: a ";" would end it, except inside ISCN's parentheses ("t(9;11)(p22;q23)")
    sentence = _IN_PARENTHESES_OR_SEMICOLON.sub(lambda m: m.group(0) if m.group(0) != ";" else ",", f"{name}: {value}")
    parts = [sentence] + [_result_sentence(c) for c in dicts(resource.get("component")) if c.get("code")]
    return "\n".join(parts) + ("\n" + comment if comment else "")


def _from_report(words: str, source: Source) -> GeneticResult:
    """A report's conclusion: an ISCN karyotype in it is parsed as one, the rest read as words."""
    result = _from_karyotype(words, source) if cytogenetics.looks_like_karyotype(words) else GeneticResult()
    text = from_text(words, source, _method_from_words(words))
    # the ISCN in the words is read twice (as ISCN and within the text): each finding is kept once
    result.kmt2a.extend(f for f in text.kmt2a if (f.method != "fish" or not result.kmt2a) and f not in result.kmt2a)
    result.findings.extend(text.findings)
    return result


def _method_from_words(text: str) -> str:
    if term.pattern("fish").search(text):
        return "fish"
    if term.pattern("karyotype").search(text):
        return "karyotype"
    return "molecular"


def _finding(event: Kmt2aEvent, source: Source, method: str | None = None) -> Kmt2aFinding:
    partner = event.partner
    fusion = event.fusion or (f"KMT2A::{partner}" if partner else None)
    return Kmt2aFinding(
        status=event.status, source=source, method=method or event.method, partner=partner, fusion=fusion,
        candidate_partners=event.candidates, copy_number=event.copy_number,
        copy_number_high=event.copy_number_high, ambiguity=event.ambiguity, text=event.text,
        uncertain=event.uncertain, qualifiers=event.qualifiers,
    )


def from_text(text: str, source: Source, method: str) -> GeneticResult:
    result = GeneticResult()
    events, others = fusion_text.read(text, method)
    for e in events:
        result.kmt2a.append(_finding(e, source, e.method if e.method in ("fish", "karyotype") else method))
    for gene, kind, present, detail, qualifiers in others:
        result.findings.append(GeneticFinding(gene, kind, present, source, detail, qualifiers))
    return result


def _from_karyotype(iscn: str, source: Source) -> GeneticResult:
    result = GeneticResult()
    parsed = cytogenetics.parse(iscn)
    if parsed.has_karyotype:
        result.karyotype = Karyotype(
            iscn=parsed.karyotype or iscn, source=source, abnormality_count=parsed.abnormality_count,
            complex=cytogenetics.is_complex(parsed), aberrations=tuple(parsed.aberrations), clones=parsed.clones,
        )
    result.kmt2a.extend(_finding(e, source) for e in fusion_text.iscn_as_worded(parsed.kmt2a_events, iscn))
    for gene, kind, present in parsed.gene_events:
        result.findings.append(GeneticFinding(gene, kind, present, source, iscn))
    return result


# --- Genomics Reporting Variant --------------------------------------------------------------------

@dataclass
class _Components:
    genes: list[str] = field(default_factory=list)
    changes: set[str] = field(default_factory=set)
    copy_low: float | None = None
    copy_high: float | None = None
    iscn: str = ""
    variation: str = ""
    protein: str | None = None
    dna: str | None = None
    vaf: float | None = None


def _component_value_text(component: dict) -> str:
    if isinstance(component.get("valueString"), str):
        return component["valueString"]
    concept = component.get("valueCodeableConcept")
    parts = [code for _, code, _ in codings(concept)] + [concept_text(concept)]
    return " ".join(p for p in parts if p)


def _gene_of(component: dict) -> str | None:
    concept = component.get("valueCodeableConcept")
    for system, code, display in codings(concept):
        symbol = term.gene_symbol(code) if code.upper().startswith("HGNC:") else None
        symbol = symbol or term.gene_symbol(display) or (term.gene_symbol(code) if system == "hgnc" else None)
        if symbol:
            return symbol
    text = concept_text(concept) or text_of(component.get("valueString"))
    return term.gene_symbol(text.split()[0]) if text.strip() else None


def genes_studied(observation: dict) -> list[str]:
    """The genes a Variant Observation is about (its gene-studied components), as HGNC symbols."""
    return _components(observation).genes


def _components(observation: dict) -> _Components:
    out = _Components()
    for component in dicts(observation.get("component")):
        names = {term.genomic_components().get(code) for s, code, _ in codings(component.get("code")) if s == "loinc"}
        if "gene-studied" in names:
            gene = _gene_of(component)
            if gene and gene not in out.genes:
                out.genes.append(gene)
        elif "coding-change-type" in names:
            for system, code, _ in codings(component.get("valueCodeableConcept")):
                change = term.sequence_ontology().get(code.upper()) if system == "so" or code.upper().startswith("SO:") else None
                if change:
                    out.changes.add(change)
        elif "copy-number" in names:
            _copy_number(component, out)
        elif "cytogenomic-nomenclature" in names:
            out.iscn = _component_value_text(component)
        elif "variation-code" in names:
            out.variation = _component_value_text(component)
        elif "amino-acid-change" in names:
            out.protein = fusion_text.protein_change(_component_value_text(component))
        elif "dna-change" in names:
            out.dna = _component_value_text(component).split(":")[-1].strip() or None
        elif "allele-frequency" in names:
            out.vaf, _ = units.read_quantity("fraction", component.get("valueQuantity"))
    return out


def _copy_number(component: dict, out: _Components) -> None:
    q = component.get("valueQuantity")
    if isinstance(q, dict) and isinstance(q.get("value"), (int, float)):
        out.copy_low = out.copy_high = float(q["value"])
    elif isinstance(component.get("valueInteger"), int):
        out.copy_low = out.copy_high = float(component["valueInteger"])
    rng = component.get("valueRange")
    if isinstance(rng, dict):
        low = rng.get("low", {}).get("value") if isinstance(rng.get("low"), dict) else None
        high = rng.get("high", {}).get("value") if isinstance(rng.get("high"), dict) else None
        out.copy_low = float(low) if isinstance(low, (int, float)) else None
        out.copy_high = float(high) if isinstance(high, (int, float)) else out.copy_low


def _present(observation: dict) -> bool | None:
    """Variant.value: Present/Absent (LL1971-2) or words; no value means the variant is reported (present)."""
    for system, code, _ in codings(observation.get("valueCodeableConcept")):
        meaning = term.coded_values().get((system, code.upper()))
        if meaning == "present":
            return True
        if meaning == "absent":
            return False
        if meaning in ("no-call", "indeterminate"):
            return None
    words = concept_text(observation.get("valueCodeableConcept")) or text_of(observation.get("valueString"))
    if words:  # "Indeterminate", "no call", "failed" say neither present nor absent
        return None if context.uncertain(words) else not context.negated(words)
    return True


def _coded_methods(observation: dict) -> set[str]:
    return {term.lab_methods().get((s, c.upper())) for s, c, _ in codings(observation.get("method"))} - {None}


def _variant_method(observation: dict) -> str:
    coded = _coded_methods(observation)
    if "fish" in coded or term.pattern("fish").search(concept_text(observation.get("method"))):
        return "fish"
    if "karyotype" in coded:
        return "karyotype"
    return "molecular"


def _from_variant(observation: dict, source: Source) -> GeneticResult:
    comp, present, method = _components(observation), _present(observation), _variant_method(observation)
    result = _from_karyotype(comp.iscn, source) if comp.iscn else GeneticResult()
    coded = _kmt2a_variant(comp, present, source, method) if "KMT2A" in comp.genes and present is not None else None
    if coded:  # the coded components say it all; words would only repeat them
        result.kmt2a.append(coded)
    elif "KMT2A" in comp.genes or not comp.genes:
        result.kmt2a.extend(_kmt2a_from_words(observation, comp, present, source, method))
    kmt2a_fusion = "KMT2A" in comp.genes and bool(comp.changes & {"fusion"} or len(comp.genes) > 1)
    if present is not None and not kmt2a_fusion:
        detail = comp.protein or comp.dna or comp.variation or None
        result.findings.extend(GeneticFinding(g, _kind(comp), present, source, detail, vaf=comp.vaf)
                               for g in comp.genes if g != "KMT2A")
    return result


def _kmt2a_from_words(observation: dict, comp: _Components, present: bool | None, source: Source,
                      method: str) -> list[Kmt2aFinding]:
    """variation-code text and notes, when the components do not settle KMT2A. A negative sentence counts only
    when the Variant itself is reported absent."""
    variation = comp.variation
    if present is True and variation and fusion_text.says_a_kind(variation) and not context.says_anything(variation):
        # "KMT2A rearrangement (partner unknown)" on a Variant reported present; a bare gene name ("KMT2A",
        # "MLL gene") says no kind of change, so is never made into "detected" (it would read as rearranged)
        variation += ": detected"
    words = f"{variation}\n{notes(observation)}".strip()
    if not words:
        return []
    found = from_text(words, source, method).kmt2a
    return [f for f in found if f.status != Kmt2aStatus.NOT_DETECTED or present is False]


def _kind(comp: _Components) -> str:
    if comp.changes & {"fusion"} or len(comp.genes) > 1:
        return "rearrangement"
    amp = term.param("amplification_min_copies")
    if comp.changes & {"copy-number", "copy-number-gain"} or comp.copy_high is not None:
        if comp.copy_high is not None and comp.copy_high < 2:
            return "deletion"
        # only a count at the cut-off is an amplification: a change without one may be a loss (TP53), and a stated
        # gain without one may be three copies (a trisomy), which is no amplification
        return "amplification" if (comp.copy_high or 0) >= amp else "copy-number"
    if comp.changes & {"deletion"}:
        return "deletion"
    return "variant"


def _kmt2a_variant(comp: _Components, present: bool, source: Source, method: str) -> Kmt2aFinding | None:
    partners = [g for g in comp.genes if g != "KMT2A"]
    fusion_named = fusion_text.read(comp.variation)[0] if comp.variation else []
    if present and any(e.status == Kmt2aStatus.NOT_DETECTED or e.uncertain for e in fusion_named):
        return None  # reported present, but its own words negate or hedge it ("KMT2A::AFF1 not detected"): no call
    named = next((e for e in fusion_named if e.partner), None)
    is_fusion = bool(comp.changes & {"fusion"} or partners or named)
    is_cnv = bool(comp.changes & {"copy-number", "copy-number-gain"} or comp.copy_high is not None)
    is_ptd = bool("duplication" in comp.changes and not partners) or bool(
        term.pattern("ptd").search(comp.variation or ""))
    partner = named.partner if named else (partners[0] if len(partners) == 1 else None)
    fusion = (named.fusion if named else None) or (f"KMT2A::{partner}" if partner else None)
    if not present:
        if is_ptd or ((is_cnv or "deletion" in comp.changes) and not is_fusion):
            return None  # "no PTD" / "no amplification" / "no deletion" says nothing about a rearrangement
        if not (is_fusion or method == "fish" or term.pattern("structural_words").search(comp.variation)):
            return None  # no KMT2A point mutation (or a test that does not say what it looked for)
        # a named partner: that fusion is ruled out, not KMT2A rearrangement as a whole
        return Kmt2aFinding(Kmt2aStatus.NOT_DETECTED, source, method, partner=partner, fusion=fusion,
                            candidate_partners=tuple(partners) if len(partners) > 1 else (),
                            text=comp.variation or None)
    if is_fusion:
        return Kmt2aFinding(Kmt2aStatus.REARRANGED, source, method, partner=partner, fusion=fusion,
                            candidate_partners=tuple(partners) if len(partners) > 1 else (),
                            text=comp.variation or comp.iscn or None)
    if is_ptd:
        return Kmt2aFinding(Kmt2aStatus.PTD, source, method, text=comp.variation or None)
    if is_cnv and (comp.copy_high or 0) >= term.param("amplification_min_copies"):
        return Kmt2aFinding(Kmt2aStatus.AMPLIFIED, source, method, copy_number=comp.copy_low,
                            copy_number_high=comp.copy_high, text=comp.variation or None)
    return None
