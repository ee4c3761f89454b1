# The auditor as a service: `auditor schedule` in the foreground (nightly audits), with
# /healthz and /metrics on port 9464.
#   docker build -t auditor .
#   docker run -p 9464:9464 -v $PWD/deploy:/srv/auditor -e OKTA_TOKEN_ACME=... auditor
# /srv/auditor holds auditor.yaml, the state (.auditor/: SQLite store and the secret
# fingerprint key) and reports-out/; mount it writable by uid 10001. AWS credentials come
# from the usual sources (an instance/task role is best; nothing is baked into the image).
# Only the service's dependencies are installed: no `demo` extra (moto and its
# emulators), so `auditor demo` in this image exits 2 saying what to install.

# ---- build: install the package into a virtualenv, then copy only that venv below.
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY rules ./rules
COPY reports ./reports
# No --editable and no extras: the wheel carries the rule pack and templates itself.
RUN python -m venv /opt/auditor \
    && /opt/auditor/bin/pip install --no-cache-dir . \
    && find /opt/auditor -name __pycache__ -prune -exec rm -rf {} +

# ---- run: the slim base, the venv, an unprivileged user with a numeric uid (so that
# Kubernetes' runAsNonRoot can verify it without resolving a name).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/auditor/bin:$PATH \
    AUDITOR_CONFIG=/srv/auditor/auditor.yaml
COPY --from=build /opt/auditor /opt/auditor
RUN groupadd --system --gid 10001 auditor \
    && useradd --system --uid 10001 --gid 10001 --home-dir /srv/auditor --create-home \
       --shell /usr/sbin/nologin auditor

USER 10001:10001
WORKDIR /srv/auditor
EXPOSE 9464
# python's urllib (slim has no curl): healthy while /healthz answers 200; a 503 (last
# run overdue) or no answer raises, and a non-zero exit marks the container unhealthy.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=5)"]
# SIGTERM stops the scheduler cleanly; a run in progress is not recorded half-way.
STOPSIGNAL SIGTERM
ENTRYPOINT ["auditor"]
CMD ["schedule", "--listen", "0.0.0.0:9464"]
