"""The timeline chart as SVG: well-formed, log scales that put values where they belong, the 10^-4 line, open markers
for results below detection, and a chart that still renders with no results at all."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from cds_service.smart import chart
from cds_service.smart.timeline import Event, Point, Timeline

SVG = "{http://www.w3.org/2000/svg}"


def _svg(timeline: Timeline) -> ET.Element:
    return ET.fromstring(chart.render(timeline, "description"))


def _y(element: ET.Element) -> float:
    return float(element.get("cy") or float(element.get("y")) + 4)


def test_log_scales_order_values_and_the_mrd_line_sits_at_1e_minus_4():
    points = (Point("mrd", "MRD (flow)", date(2025, 1, 10), 1e-2, "1 %"),
              Point("mrd", "MRD (flow)", date(2025, 2, 10), 1e-4, "0.01 %"),
              Point("mrd", "MRD (flow)", date(2025, 3, 10), 1e-6, "<0.0001 %", below_detection=True),
              Point("wbc", "WBC", date(2025, 1, 10), 300.0, "300 x10^9/L"),
              Point("wbc", "WBC", date(2025, 2, 10), 3.0, "3 x10^9/L"))
    svg = _svg(Timeline(points, (Event("diagnosis", date(2025, 1, 8), "Diagnosis"),)))
    mrd = [e for e in svg.iter() if e.get("data-panel") == "mrd"]
    wbc = [e for e in svg.iter() if e.get("data-panel") == "wbc"]
    assert len(mrd) == 3 and len(wbc) == 2
    assert _y(mrd[0]) < _y(mrd[1]) < _y(mrd[2]) and _y(wbc[0]) < _y(wbc[1])
    # equal ratios, equal distances: 1e-2 -> 1e-4 and 1e-4 -> 1e-6 are two decades each
    assert abs((_y(mrd[1]) - _y(mrd[0])) - (_y(mrd[2]) - _y(mrd[1]))) < 0.2
    line = next(e for e in svg.iter(f"{SVG}line") if e.get("class") == "threshold")
    assert abs(float(line.get("y1")) - _y(mrd[1])) < 0.2
    assert "below-detection" in mrd[2].get("class") and "below-detection" not in mrd[1].get("class")
    assert [e.find(f"{SVG}text").text for e in svg.iter(f"{SVG}g") if "event" in (e.get("class") or "")] == ["Diagnosis"]


def test_later_dates_are_further_right():
    points = tuple(Point("blasts", "Blasts, bone marrow", date(2025, m, 1), 0.1 * m, f"{10 * m} %") for m in (1, 4, 9))
    xs = [float(e.get("cx")) for e in _svg(Timeline(points, ())).iter() if e.get("data-panel") == "blasts"]
    assert xs == sorted(xs) and len(set(xs)) == 3


def test_an_empty_timeline_still_renders_with_a_text_for_each_panel():
    svg = _svg(Timeline((), ()))
    texts = [e.text for e in svg.iter(f"{SVG}text")]
    assert texts.count("No dated results") == 3
    assert svg.get("role") == "img" and svg.find(f"{SVG}title") is not None and svg.find(f"{SVG}desc") is not None


def test_labels_from_the_chart_are_escaped():
    points = (Point("wbc", "WBC <b>", date(2025, 1, 1), 5.0, "5 & more"),)
    rendered = chart.render(Timeline(points, ()), "a <desc> & more")
    ET.fromstring(rendered)  # well-formed despite the markup characters
    assert "<b>" not in rendered


def test_results_are_quoted_by_date_not_by_fhir_id_and_ordinary_slashes_survive():
    from cds_service.smart.summary import without_ids

    assert without_ids("WBC 450 x10^9/L (Observation/wbc-1 of 2025-09-07)") == "WBC 450 x10^9/L (2025-09-07)"
    assert without_ids("karyotype Observation/k1 vs FISH DiagnosticReport/r.2") == "karyotype chart entry vs FISH chart entry"
    assert without_ids("Relapsed/refractory disease, 10*9/L") == "Relapsed/refractory disease, 10*9/L"
