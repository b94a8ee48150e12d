"""The KMT2A case summary: a SMART on FHIR app (EHR launch) that the patient-view cards open.

It reads the chart with the EHR's token using the patient-view prefetch queries, builds the Case and assessment
with the hooks' own code, and shows the full assessment with a timeline chart. Modules, in the order of a launch:
config (settings), views (routes), oauth (SMART discovery, PKCE, token), sessions (server-side, encrypted),
summary (chart -> page content), timeline and chart (the SVG), links (the card's link).
"""

from cds_service.smart.links import case_summary_link
from cds_service.smart.views import init_app

__all__ = ["case_summary_link", "init_app"]
