# The auditor as a service: `auditor schedule` in the foreground (nightly audits).
#   docker build -t auditor .
#   docker run -v $PWD/deploy:/srv/auditor -e OKTA_TOKEN_ACME=... auditor
# /srv/auditor holds auditor.yaml, the state (.auditor/: SQLite store and the secret
# fingerprint key) and reports-out/. AWS credentials come from the usual sources
# (an instance/task role is best; nothing is baked into the image).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

WORKDIR /opt/auditor
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY rules ./rules
COPY reports ./reports
RUN pip install . && useradd --system --home-dir /srv/auditor --create-home auditor

USER auditor
WORKDIR /srv/auditor
ENV AUDITOR_CONFIG=/srv/auditor/auditor.yaml
# SIGTERM stops the scheduler cleanly; a run in progress is not recorded half-way.
STOPSIGNAL SIGTERM
ENTRYPOINT ["auditor"]
CMD ["schedule"]
