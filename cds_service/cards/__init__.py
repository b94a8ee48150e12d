"""Assessment and order checks -> CDS cards: all clinician-facing wording, one toolkit."""
