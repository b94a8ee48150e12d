"""The case summary page's own cost, against building the Case from the same chart in the same run (ratios).

    .venv/bin/python bench/case_summary.py

Why: the chart is hand-built SVG rather than a charting library; this shows what that costs (issue 12).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import time, statistics
from datetime import date, timedelta
from tests.smart import demo_patient as D
from fhir_mappings import case_from_resources
from cds_service.stratification import assess
from cds_service.smart import summary, chart
from cds_service.smart.timeline import Timeline, Point, Event
res = D.resources()
def t(fn, n=30):
    xs=[]
    for _ in range(n):
        s=time.perf_counter(); fn(); xs.append(time.perf_counter()-s)
    return statistics.median(xs)*1000
case = case_from_resources(res, reference_date=D.REFERENCE_DATE, patient_id=D.PATIENT)
a = assess(case)
base = t(lambda: case_from_resources(res, reference_date=D.REFERENCE_DATE, patient_id=D.PATIENT))
s = summary.summarise(case, a, res)
demo = t(lambda: chart.render(s.timeline, "x"))
whole = t(lambda: summary.summarise(case, a, res))
big = Timeline(tuple(Point(p, "S", date(2020,1,1)+timedelta(days=i//4), 0.001*(1+i%50), "v") for i in range(2000) for p in ["wbc"]), (Event("diagnosis", date(2020,1,1), "Diagnosis"),))
bigt = t(lambda: chart.render(big, "x"), 10)
print(f"baseline case_from_resources(demo, 37 resources): {base:.2f} ms")
print(f"chart.render(demo, 22 points): {demo:.2f} ms  ratio {demo/base:.2f}")
print(f"summarise (timeline+chart+view model): {whole:.2f} ms  ratio {whole/base:.2f}")
print(f"chart.render(2000 points): {bigt:.2f} ms  ratio {bigt/base:.2f}; svg bytes {len(chart.render(big,'x'))}")
print(f"demo svg bytes {len(s.chart_svg)}")
