"""FHIR R4 resources of one patient -> the typed `Case` the rules read.

Pure functions: no HTTP, no Flask, never raises on bad input (problems are recorded in `Case.problems`).

    case_from_resources(resources, reference_date=..., ...)   any iterable of resource dicts
    case_from_bundle(bundle, reference_date=...)              a Bundle of any type
    case_from_hook_request(request, reference_date=...)       a CDS Hooks request: its prefetch and draftOrders
    warm_up()                                                 load tables and FHIR models before serving
"""

from fhir_mappings.case import Case  # noqa: F401
from fhir_mappings.build import case_from_bundle, case_from_hook_request, case_from_resources, warm_up  # noqa: F401
