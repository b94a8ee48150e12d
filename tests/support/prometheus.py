"""Read one value from a running service's /metrics page."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families


def metric(base: str, name: str, **labels) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when there is none yet)."""
    page = requests.get(base + "/metrics", timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(page) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))
