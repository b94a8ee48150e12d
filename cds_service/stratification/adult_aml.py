"""Adult AML: the ELN 2022 genetic-risk rows about KMT2A (and the adverse lesions that override them)."""

from __future__ import annotations

import re

from fhir_mappings.case import Kmt2aStatus, Lineage
from cds_service.stratification import kb, text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rule

SCHEME = "eln-2022"


def _adverse_lesions(f: Facts) -> list[str]:
    """TP53 mutation, -17/abn(17p), complex or monosomal karyotype: adverse whatever KMT2A shows."""
    table = kb.section("adverse_independent_of_kmt2a")
    lesions = [text.finding(g) for g in f.case.genetic_findings if g.gene in table["genes"] and g.present]
    karyotype = f.case.karyotype
    if karyotype:
        hits = [a for a in karyotype.aberrations if any(a.startswith(p) for p in table["karyotype_patterns"])]
        if hits:
            lesions.append(f"{', '.join(hits)} in karyotype {karyotype.iscn} {text.on(karyotype.source)}")
        # The ELN complex-karyotype definition excludes KMT2A rearrangements: do not double-count.
        if karyotype.complex and not f.rearranged:
            lesions.append(f"complex karyotype {karyotype.iscn} {text.on(karyotype.source)}")
        if _monosomal(karyotype.aberrations, table["monosomal_karyotype"]):
            lesions.append(f"monosomal karyotype {karyotype.iscn} {text.on(karyotype.source)}")
    return lesions


def _monosomal(aberrations: tuple[str, ...], definition: dict) -> bool:
    """ELN: two autosomal monosomies, or one with a structural abnormality (the monosomal-karyotype definition has
    no KMT2A exclusion, unlike the complex-karyotype one)."""
    monosomies = [a for a in aberrations if re.match(definition["autosomal_monosomy_pattern"], a)]
    structural = [a for a in aberrations if not a.startswith(tuple(definition["structural_if_not_starting_with"]))]
    return len(set(monosomies)) >= 2 or (len(monosomies) == 1 and bool(structural))


@rule("eln-2022")
def eln_2022(f: Facts, out: Findings) -> None:
    if f.lineage is not Lineage.AML or f.is_adult_at_dx() is not True:
        return
    adverse = _adverse_lesions(f)
    age = f"age at diagnosis {text.age(f.dx_age.exact)}" if f.dx_age.exact is not None else "adult at diagnosis"
    if f.rearranged:
        _rearranged(f, out, age, adverse)
        return
    if f.kmt2a_status is Kmt2aStatus.PTD:
        out.caution("ptd-not-rearrangement")
    if adverse:
        out.group(SCHEME, "adverse", [age, *adverse, f"KMT2A {f.kmt2a_status.value}"],
                  would_change="Nothing KMT2A shows: these lesions are adverse on their own.")
    elif f.kmt2a_status is Kmt2aStatus.UNKNOWN:
        out.missing("kmt2a-status", blocks=(SCHEME,))


def _rearranged(f: Facts, out: Findings, age: str, adverse: list[str]) -> None:
    intermediate = kb.partners("eln2022_intermediate")
    basis = [age, f"KMT2A rearranged: {f.evidence_text()}"]
    if f.partner in intermediate:
        if adverse:
            out.group(SCHEME, "adverse", basis + [f"t(9;11)/KMT2A::{f.partner} would be intermediate", *adverse],
                      would_change="Nothing while the adverse lesion stands.")
            out.disagree("eln-mllt3-precedence")
        else:
            out.group(SCHEME, "intermediate", basis + [f"t(9;11)/KMT2A::{f.partner}: intermediate in ELN 2022"],
                      would_change="A TP53 mutation, a 17p abnormality or a monosomal karyotype would make it adverse.")
    elif f.partner:
        out.group(SCHEME, "adverse", basis + [f"KMT2A::{f.partner}: any KMT2A rearrangement other than t(9;11) is adverse", *adverse],
                  would_change="Only a revised partner (MLLT3) would make it intermediate.")
    elif f.candidate_partners and not intermediate.intersection(f.candidate_partners):
        out.group(SCHEME, "adverse", basis + [f"partner not named, but every possible partner ({' or '.join(f.candidate_partners)}) is adverse", *adverse],
                  would_change="Only a partner MLLT3 on confirmatory testing would make it intermediate.")
    elif adverse:
        out.group(SCHEME, "adverse", basis + ["fusion partner not identified", *adverse],
                  would_change="Nothing while the adverse lesion stands.")
    else:
        # MLLT3 (intermediate) vs any other partner (adverse): the partner decides; do not guess.
        out.missing("fusion-partner", blocks=(SCHEME,))
        out.consider("confirm-fusion-partner")
    if not f.relapsed_or_refractory:
        note, sources = kb.hsct_note("adult-aml")
        out.consider("hsct-cr1", note=note, sources=sources)
