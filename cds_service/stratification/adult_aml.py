"""Adult AML: the ELN 2022 genetic-risk rows about KMT2A (and the adverse lesions that override them).

ELN 2022 classifies at initial diagnosis. Its own footnotes apply: t(9;11) takes precedence over concurrent
adverse-risk gene mutations, and a TP53 mutation counts from a variant allele fraction threshold. ELN does not say how
t(9;11) combines with an adverse karyotype; this service calls that adverse and says it is a local rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fhir_mappings.case import Kmt2aStatus, Lineage
from cds_service.stratification import kb, text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import kmt2a_status_missing, rule

SCHEME = "eln-2022"
POPULATION = "adult-aml"


@dataclass
class Lesions:
    """The adverse lesions found, split the way ELN's footnotes treat them."""

    mutations: list[str] = field(default_factory=list)  # adverse gene mutations that count (TP53 at VAF >= threshold)
    karyotype: list[str] = field(default_factory=list)  # −5/del(5q), −7, −17/abn(17p), complex, monosomal
    vaf_unknown: list[str] = field(default_factory=list)  # TP53 mutations reported without a VAF
    below_vaf: list[str] = field(default_factory=list)  # TP53 mutations below the ELN VAF: not adverse

    @property
    def any(self) -> bool:
        return bool(self.mutations or self.karyotype)


def _lesions(f: Facts) -> Lesions:
    table = kb.section("adverse_independent_of_kmt2a")
    min_vaf = kb.threshold("eln2022_tp53_min_vaf")
    out = Lesions()
    for g in f.case.genetic_findings:
        if g.gene not in table["genes"] or not g.present:
            continue
        if g.kind == "deletion":  # a 17p/TP53 deletion is a karyotype lesion (abn(17p)), not a mutation
            out.karyotype.append(text.finding(g))
        elif g.vaf is None:
            out.vaf_unknown.append(text.finding(g))
        elif g.vaf >= min_vaf:
            out.mutations.append(f"{text.finding(g)}, VAF {text.percent(g.vaf)}")
        else:
            out.below_vaf.append(f"{text.finding(g)}, VAF {text.percent(g.vaf)}")
    karyotype = f.case.karyotype
    if karyotype:
        hits = [a for a in karyotype.aberrations if any(a.startswith(p) for p in table["karyotype_patterns"])]
        shows = list(hits)
        # The ELN complex-karyotype definition excludes KMT2A rearrangements: do not double-count.
        if karyotype.complex and not f.rearranged:
            shows.append("complex karyotype")
        if _monosomal(karyotype.aberrations, table["monosomal_karyotype"]):
            shows.append("monosomal karyotype")
        if shows:  # the result once, then what it shows: a long ISCN string is read once, not once per lesion
            out.karyotype.append(f"karyotype {karyotype.iscn}{text.on(karyotype.source)}: {', '.join(shows)}")
    return out


def _monosomal(aberrations: tuple[str, ...], definition: dict) -> bool:
    """ELN: two autosomal monosomies, or one with a structural abnormality (the monosomal-karyotype definition has
    no KMT2A exclusion, unlike the complex-karyotype one)."""
    monosomies = [a for a in aberrations if re.match(definition["autosomal_monosomy_pattern"], a)]
    structural = [a for a in aberrations if not a.startswith(tuple(definition["structural_if_not_starting_with"]))]
    return len(set(monosomies)) >= 2 or (len(monosomies) == 1 and bool(structural))


def _vaf_lines(lesions: Lesions) -> list[str]:
    limit = text.percent(kb.threshold("eln2022_tp53_min_vaf"))
    return ([f"{m}: below the ELN 2022 TP53 threshold of {limit}, not adverse" for m in lesions.below_vaf]
            + [f"{m}: VAF not reported (ELN 2022 counts TP53 from {limit})" for m in lesions.vaf_unknown])


@rule("eln-2022")
def eln_2022(f: Facts, out: Findings) -> None:
    if f.lineage_at_diagnosis is not Lineage.AML or f.is_adult_at_dx() is not True:
        return
    lesions = _lesions(f)
    age = f"age at diagnosis {text.age(f.dx_age.exact)}" if f.dx_age.exact is not None else "adult at diagnosis"
    if f.rearranged:
        _rearranged(f, out, age, lesions)
    else:
        _not_rearranged(f, out, age, lesions)
    if f.rearranged and not f.past_first_line:
        out.consider("hsct-cr1", population=POPULATION)


def _not_rearranged(f: Facts, out: Findings, age: str, lesions: Lesions) -> None:
    status = text.READINGS.get(f.kmt2a_status.value, f"KMT2A {f.kmt2a_status.value}")  # "KMT2A-PTD", never "KMT2A ptd"
    if lesions.karyotype:
        out.group(SCHEME, "adverse", [age, *lesions.karyotype, *lesions.mutations, *_vaf_lines(lesions), status],
                  would_change="Nothing KMT2A shows: an adverse karyotype is adverse on its own.")
    elif f.kmt2a_status is Kmt2aStatus.UNKNOWN:
        # A t(9;11) would take precedence over adverse gene mutations (ELN 2022): KMT2A decides, do not guess.
        kmt2a_status_missing(SCHEME, f, out)
    elif lesions.mutations:
        out.group(SCHEME, "adverse", [age, *lesions.mutations, *_vaf_lines(lesions), status],
                  would_change="Nothing KMT2A shows: these mutations are adverse without a t(9;11).")
    elif lesions.vaf_unknown:
        out.missing("tp53-vaf", blocks=(SCHEME,), note="; ".join(lesions.vaf_unknown) + ".")


def _rearranged(f: Facts, out: Findings, age: str, lesions: Lesions) -> None:
    intermediate = kb.partners("eln2022_intermediate")
    basis = [age, f"KMT2A rearranged: {f.evidence_text()}"]
    mutations = lesions.mutations + lesions.vaf_unknown
    if f.partner in intermediate:
        _mllt3(f, out, basis, lesions)
    elif f.partner or (f.candidate_partners and not intermediate.intersection(f.candidate_partners)):
        why = (f"KMT2A::{f.partner}: any KMT2A rearrangement other than t(9;11) is adverse" if f.partner else
               f"partner not named, but every possible partner ({' or '.join(f.candidate_partners)}) is adverse")
        out.group(SCHEME, "adverse", basis + [why, *lesions.karyotype, *lesions.mutations, *_vaf_lines(lesions)],
                  would_change="Only a revised partner (MLLT3) would make it intermediate.")
    elif lesions.karyotype:
        out.group(SCHEME, "adverse", basis + ["fusion partner not identified", *lesions.karyotype],
                  would_change="Nothing while the adverse karyotype stands.")
        out.disagree("eln-mllt3-precedence")  # adverse even if the partner proves to be MLLT3: a local rule
    else:
        # MLLT3 (intermediate, and it outranks adverse gene mutations) vs any other partner (adverse): the partner
        # decides; do not guess.
        note = f"Adverse gene mutations do not decide here: {'; '.join(mutations)}." if mutations else None
        out.missing("fusion-partner", blocks=(SCHEME,), note=note)
        out.consider("confirm-fusion-partner")


def _mllt3(f: Facts, out: Findings, basis: list[str], lesions: Lesions) -> None:
    t911 = f"t(9;11)/KMT2A::{f.partner}"
    if lesions.karyotype:
        out.group(SCHEME, "adverse", basis + [f"{t911} would be intermediate", *lesions.karyotype,
                                              "local rule: ELN 2022 does not say how t(9;11) combines with an adverse karyotype"],
                  would_change="Nothing while the adverse karyotype stands.")
        out.disagree("eln-mllt3-precedence")
        return
    outranked = [f"{m}: t(9;11) takes precedence over concurrent adverse-risk gene mutations (ELN 2022)"
                 for m in lesions.mutations + lesions.vaf_unknown]
    out.group(SCHEME, "intermediate", basis + [f"{t911}: intermediate in ELN 2022", *outranked],
              would_change="An adverse karyotype (-5/del(5q), -7, -17/abn(17p), monosomal) would make it adverse "
                           "(local rule); adverse gene mutations do not.")
