"""The CDS Hooks layer: the service registry (hooks.json + handlers), protocol and schemas, prefetch, the call."""
