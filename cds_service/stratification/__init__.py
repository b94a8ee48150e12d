"""The KMT2A rules engine: Case -> Assessment. Pure functions; every rule cited and versioned (rules.json)."""

from cds_service.stratification.engine import RULES, assess, blocks_stratification

__all__ = ["RULES", "assess", "blocks_stratification"]
