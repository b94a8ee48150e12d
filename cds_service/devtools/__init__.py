"""Tools for developers and demos, not used by the service itself: a loopback FHIR R4 server (`fhir_server`),
the `make demo` launcher (`demo`) and a synthetic cohort generator for tests and the benchmark (`synthetic`)."""
