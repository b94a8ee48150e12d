from fhir_mappings.resources import collect, flatten


def obs(oid, status="final", when="2025-03-02T08:00:00Z", code="6690-2", **kw):
    return {"resourceType": "Observation", "id": oid, "status": status, "effectiveDateTime": when,
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]}, **kw}


def test_withdrawn_results_are_dropped():
    pool = collect([obs("a", "entered-in-error"), obs("b", "cancelled", code="718-7"), obs("c", code="777-3")])
    assert [r["id"] for r in pool.resources] == ["c"]


def test_amended_supersedes_preliminary_for_same_code_and_time():
    pool = collect([obs("p", "preliminary"), obs("a", "amended"), obs("other-time", when="2025-03-03")])
    assert sorted(r["id"] for r in pool.resources) == ["a", "other-time"]


def test_duplicate_id_keeps_latest_update():
    one = {"resourceType": "Condition", "id": "c", "meta": {"lastUpdated": "2025-01-01T00:00:00Z"}, "code": {"text": "AML"}}
    two = {"resourceType": "Condition", "id": "c", "meta": {"lastUpdated": "2025-02-01T00:00:00Z"}, "code": {"text": "AML relapse"}}
    pool = collect([{"resourceType": "Bundle", "entry": [{"resource": one}]}, two])
    assert [r["code"]["text"] for r in pool.resources] == ["AML relapse"]


def test_references_resolve_by_relative_full_url_urn_and_contained():
    med = {"resourceType": "Medication", "id": "m1", "code": {"text": "x"}}
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": "https://ehr.example.org/fhir/Medication/m1", "resource": med},
        {"fullUrl": "urn:uuid:1234", "resource": {"resourceType": "Medication", "code": {"text": "no id"}}}]}
    pool = flatten([bundle])
    assert pool.resolve({"reference": "Medication/m1"}) is med
    assert pool.resolve("https://other.example.org/fhir/Medication/m1/_history/3") is med
    assert pool.resolve({"reference": "urn:uuid:1234"})["code"]["text"] == "no id"
    container = {"contained": [{"resourceType": "Medication", "id": "c", "code": {"text": "inner"}}]}
    assert pool.resolve({"reference": "#c"}, container)["code"]["text"] == "inner"
    assert pool.resolve({"reference": "Medication/missing"}) is None
    assert pool.resolve({"display": "only a display"}) is None


def test_nested_typeless_bundles_and_junk_items():
    inner = {"entry": [{"resource": obs("x")}]}
    pool = flatten([{"resourceType": "Bundle", "entry": [{"resource": inner}, {"resource": "junk"}, {}]}, 5, None,
                    {"resourceType": "OperationOutcome"}, {"no": "type"}])
    assert [r["id"] for r in pool.resources] == ["x"]
    assert {p.message for p in pool.problems} >= {"an input item is not a FHIR resource; ignored",
                                                  "an input item has no resourceType; ignored"}


def test_other_patients_are_dropped():
    mine = obs("m", subject={"reference": "Patient/p1"})
    theirs = obs("t", code="718-7", subject={"reference": "https://ehr.example.org/fhir/Patient/p2"})
    pool = collect([mine, theirs, {"resourceType": "Patient", "id": "p2"}, {"resourceType": "Patient", "id": "p1"}], "p1")
    assert sorted(r["id"] for r in pool.resources) == ["m", "p1"]


def test_condition_without_subject_is_read_leniently():
    from datetime import date

    from fhir_mappings import case_from_resources
    aml = {"resourceType": "Condition", "id": "aml", "code": {"coding": [{"system": "http://snomed.info/sct",
                                                                          "code": "91861009"}]}}
    case = case_from_resources([aml], reference_date=date(2025, 6, 1))
    assert case.lineage.value == "AML"
    assert any("leniently" in p.message for p in case.problems)


def _variant(oid, *genes, status="final"):
    components = [{"code": {"coding": [{"system": "http://loinc.org", "code": "48018-6"}]},
                   "valueCodeableConcept": {"coding": [{"system": "http://www.genenames.org", "code": g}]}}
                  for g in genes]
    return obs(oid, status, code="69548-6", component=components)


def test_variants_of_one_report_about_different_genes_are_all_kept():
    # one NGS report: the KMT2A fusion and a TP53 variant share code 69548-6 and the report's time
    pool = collect([_variant("fusion", "HGNC:7132", "HGNC:7135", status="preliminary"), _variant("tp53", "HGNC:11998")])
    assert sorted(r["id"] for r in pool.resources) == ["fusion", "tp53"]


def test_a_corrected_variant_supersedes_the_preliminary_one_about_the_same_gene():
    pool = collect([_variant("first", "HGNC:7132", "HGNC:7136", status="preliminary"),
                    _variant("fixed", "HGNC:7132", "HGNC:7134", status="corrected")])
    assert [r["id"] for r in pool.resources] == ["fixed"]


def test_two_results_of_equal_status_are_both_kept_so_a_disagreement_stays_visible():
    pool = collect([obs("one"), obs("two")])
    assert sorted(r["id"] for r in pool.resources) == ["one", "two"]
