# kmt2a-cds: the CDS Hooks service, production image.
#   docker build -t kmt2a-cds .
#   docker run -p 8080:8080 -e CDS_PROFILE=production -e CDS_TRUSTED_ISSUERS=/run/secrets/trusted-issuers.json ...
# Two stages: wheels are built with the full toolchain, the runtime stage gets the installed package only
# (no test extras, no compilers), runs as an unprivileged user and checks /healthz.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md hooks.json ./
COPY cds_service ./cds_service
COPY fhir_mappings ./fhir_mappings
RUN pip wheel --wheel-dir /wheels '.[postgresql]'

FROM python:3.11-slim-bookworm AS runtime
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 PORT=8080 WORKERS=2 CDS_PROFILE=production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/kmt2a-cds-metrics
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels /wheels/*.whl \
    && rm -rf /wheels \
    && groupadd --system --gid 10001 cds \
    && useradd --system --uid 10001 --gid cds --home-dir /srv/kmt2a-cds --create-home cds
USER 10001:10001
WORKDIR /srv/kmt2a-cds
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz\", timeout=2)"]
CMD ["gunicorn", "-c", "python:cds_service.web.gunicorn_conf", "cds_service.web.app:create_app()"]
