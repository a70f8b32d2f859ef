# cytobot in one container: `cytobot run` starts every chat adapter whose credentials are set
# and one HTTP server on CYTOBOT_HTTP_PORT (default 8080): /healthz, /readyz, /metrics and, in
# Slack HTTP mode, /slack/events.
#   docker build -t cytobot .        (or docker-compose, see docker-compose.yml and the README)
# Linted in CI by hadolint, built and run by .ci/container-test (.ci/run).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment from the hash-pinned runtime lock, nothing else ---------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
# The runtime lock: what `cytobot run` needs, at the development lock's versions, without the
# dev extras (test tools stay out of production). --require-hashes: every package pinned by
# version and SHA-256, or pip refuses to install.
COPY requirements-runtime.lock /tmp/requirements-runtime.lock
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements-runtime.lock

# --- runtime: the environment, the code, the bundled pack; runs as an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CYTOBOT_HTTP_PORT=8080 \
    CYTOBOT_CACHE_DIR=/tmp/cytobot-cache \
    CYTOBOT_DATABASE_URL=sqlite:////data/cytobot.db
RUN groupadd --system --gid 10001 cytobot \
 && useradd --system --uid 10001 --gid cytobot --home-dir /home/cytobot --create-home --shell /usr/sbin/nologin cytobot \
 && install -d -o cytobot -g cytobot -m 0750 /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY bot ./bot
COPY adapters ./adapters
COPY content ./content
# `cytobot` on PATH for `docker-compose exec cytobot cytobot content check`; compiled once here,
# since the code is read-only for the user that runs it.
RUN printf '#!/bin/sh\nexec python -m adapters.cli "$@"\n' > /usr/local/bin/cytobot \
 && chmod 0755 /usr/local/bin/cytobot \
 && python -m compileall -q /app
# Daily facts' SQLite database lives in /data, a volume, so subscriptions survive a new
# container (docs/deploy.md); PostgreSQL replaces it for replicas.
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CYTOBOT_HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["cytobot"]
CMD ["run"]
