# syntax=docker/dockerfile:1
# Tagent: one image for the engine (`tagent run`) and the dashboard (`tagent dashboard`).
#   docker build -t <registry>/tagent:0.1.0 .
# The Helm chart (charts/tagent) runs it with a read-only root filesystem and an emptyDir on /tmp.

# ---- builder: compiles durable_rules' C extension (no wheel on PyPI) into a virtualenv -------------
FROM python:3.11.14-slim-bookworm AS builder
# Debian package versions are not pinned: bookworm security updates replace them and an exact pin
# would break the build; this stage is thrown away anyway.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/tagent
WORKDIR /src
COPY pyproject.toml README.md ./
COPY engine/ engine/
# dependency versions come from pyproject.toml's ranges
RUN /opt/tagent/bin/pip install --no-cache-dir . \
    && /opt/tagent/bin/python -c "import durable.lang, tagent.cli.main"

# ---- runtime: no compiler, no pip cache, a non-root user -------------------------------------------
FROM python:3.11.14-slim-bookworm
# git: the engine clones the rules repository itself when TAGENT_RULES is a Git URL (GitPython).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tagent \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/tagent --create-home \
        --shell /usr/sbin/nologin tagent \
    && mkdir -p /data \
    && chown 10001:10001 /data
# Code and the default pack stay owned by root: the process can read them, never rewrite them.
COPY --from=builder --chown=root:root /opt/tagent /opt/tagent
COPY --chown=root:root rules/ /opt/tagent/pack/rules/
COPY --chown=root:root playbooks/ /opt/tagent/pack/playbooks/
ENV PATH=/opt/tagent/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/tagent \
    TAGENT_DATA_DIR=/data \
    TAGENT_RULES=/opt/tagent/pack \
    TAGENT_API_HOST=0.0.0.0
WORKDIR /data
USER 10001:10001
EXPOSE 8080 8501
# No HEALTHCHECK: the same image runs the engine (8080, /healthz) or the dashboard (8501), so one
# fixed check would be wrong for one of them; Kubernetes uses the chart's probes, not this instruction.
HEALTHCHECK NONE
ENTRYPOINT ["tagent"]
CMD ["run", "--port", "8080"]
