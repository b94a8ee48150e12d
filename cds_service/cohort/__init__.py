"""Cohorts for analysts: FHIR Bulk Data NDJSON in, one row per patient out (`kmt2a-cds assess`, `kmt2a-cds diff`).

    bulk.py     read NDJSON files or `$export` folders, report malformed lines, group resources by patient on disk
    rows.py     one assessment -> one flat row (CSV or JSON Lines)
    runner.py   assess every patient on all cores, streaming, with a progress bar and a summary
    diff.py     the patients whose risk groups or considerations change between two knowledge versions
    commands.py the two commands, as the CLI runs them (rows out, summary and problems on stderr)
"""
