"""The web layer: app factory, thin routes, EHR JWT security, CORS, audit, configuration and the store."""
