"""kmt2a-cds: a CDS Hooks 2.0 service for acute leukemia with KMT2A (MLL) alterations."""

__version__ = "0.1.0"
