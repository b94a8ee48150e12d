import pytest

from fhir_mappings import units


@pytest.mark.parametrize("value,unit,expected", [
    (23.4, "10*3/uL", 23.4), (23.4, "10*9/L", 23.4), (23400, "/uL", 23.4), (23400, "/mm3", 23.4),
    (23400, "10*6/L", 23.4), (23.4, "K/uL", 23.4), (23.4, "x10E3/uL", 23.4), (23.4, "10^3/µL", 23.4),
    (23.4e9, "/L", 23.4),
    # as Quest/LabCorp-style interfaces print them
    (68.4, "x10E9/L", 68.4), (68.4, "10E9/L", 68.4), (68.4, "x10^9/L", 68.4), (23.4, "x10^3/uL", 23.4),
])
def test_wbc_units(value, unit, expected):
    assert units.to_canonical("count", value, unit) == pytest.approx(expected)


@pytest.mark.parametrize("value,unit,expected", [(0.02, "%", 2e-4), (2, "10*-4", 2e-4), (0.0002, "1", 2e-4),
                                                  (2, "x10^-4", 2e-4), (3, "x10E-5", 3e-5), (0.02, "percent", 2e-4)])
def test_fraction_units(value, unit, expected):
    assert units.to_canonical("fraction", value, unit) == pytest.approx(expected)


@pytest.mark.parametrize("kind,value,unit,expected", [
    ("weight", 154, "[lb_av]", 69.853), ("weight", 6100, "g", 6.1), ("height", 1.72, "m", 172),
    ("height", 30, "[in_i]", 76.2), ("interval", 0.452, "s", 452), ("magnesium", 2.0, "mg/dL", 0.8228),
    ("electrolyte", 3.4, "meq/L", 3.4), ("dose-area", 95, "mg/m.2", 95),
])
def test_other_units(kind, value, unit, expected):
    assert units.to_canonical(kind, value, unit) == pytest.approx(expected, rel=1e-3)


def test_unknown_unit_and_unitless_fraction_give_none():
    assert units.to_canonical("count", 5, "furlongs") is None
    assert units.read_quantity("fraction", {"value": 0.02}) == (None, None)
    assert units.read_quantity("fraction", {"value": 0.01, "comparator": "<", "code": "%"}) == (pytest.approx(1e-4), "<")


@pytest.mark.parametrize("raw,expected", [
    (12.5, 12.5), (3, 3.0), ("12.5", 12.5), (" 4e3 ", 4000.0), ("-0.5", -0.5),
    ("12,5", None), ("high", None), ("", None), (True, None), (None, None), (float("nan"), None),
    (float("inf"), None), (10 ** 400, None), ([1], None),
])
def test_number_reads_json_numbers_and_plain_decimal_strings_only(raw, expected):
    assert units.number(raw) == expected


def test_quoted_wbc_value_is_read():
    assert units.read_quantity("count", {"value": "112000", "code": "/uL"}) == (pytest.approx(112.0), None)
