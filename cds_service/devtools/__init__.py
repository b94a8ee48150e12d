"""Tools for developers and demos, not used by the service itself: the in-memory FHIR store and search
(`fhir_store`), the loopback FHIR R4 server over it (`fhir_server`), the `make demo` launcher (`demo`) and a
synthetic cohort generator for the tests and the benchmark (`synthetic`)."""
