# ssm3-bot: the Slack app and its scheduler in one small, non-root image.
#   docker build -t ssm3-bot .
#   docker run -d --name ssm3-bot --env-file .env -v ssm3-data:/data -p 3000:3000 ssm3-bot
# Any other command runs the same way: docker run --rm --env-file .env ssm3-bot sweep

# The project's own Python (requires-python >= 3.11), on Debian's slim official image. Pin it by
# digest for a build nobody can change under you: `docker buildx imagetools inspect
# python:3.11-slim-bookworm` gives the index digest of the tag today; then build with
#   --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<that digest>
# (the default stays the tag: no registry could be asked for its current digest when this was
# written, and a digest copied from elsewhere would be a guess).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: install the locked dependencies, then the project, into a venv ------------------------
# requirements.lock pins every runtime dependency with its hashes (pip-compile --generate-hashes
# from pyproject.toml); requirements-build.lock pins setuptools and wheel for building the
# project's own wheel. Nothing is installed that the locks do not name, at the hashes they name.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --no-cache-dir --require-hashes -r requirements-build.lock \
 && python -m venv /opt/ssm3 \
 && /opt/ssm3/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /src/dist . \
 && /opt/ssm3/bin/pip install --no-cache-dir --no-deps /src/dist/ssm3_bot-*.whl

# -- run: the venv alone, no compilers, no pip cache, no sources ----------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="ssm3-bot" \
      org.opencontainers.image.description="State Manager association compliance (Security Hub SSM.3) in Slack" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric user, so Kubernetes' runAsNonRoot can verify it; /data is its only writable place.
# Its home is not /data: boto3 reads ~/.aws/config (credential_process runs commands), and
# nothing on a writable volume may configure the bot.
RUN groupadd --system --gid 10001 ssm3 \
 && useradd --system --uid 10001 --gid ssm3 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin ssm3 \
 && mkdir /data /app \
 && chown ssm3:ssm3 /data
COPY --from=build /opt/ssm3 /opt/ssm3
ENV PATH=/opt/ssm3/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SSM3_DB_PATH=/data/ssm3.db
# The SQLite database (with its WAL files) lives on the volume and survives upgrades.
VOLUME ["/data"]
# Work in /app, empty and root's: ssm3bot reads a `.env` from its working folder, and one planted
# on the writable /data volume (SSM3_SLACK_API_URL pointed elsewhere, say) would take the bot
# token. Configuration comes from the environment (--env-file, the orchestrator). An empty
# `SSM3_DB_PATH=` line in an env file means ./ssm3.db, which /app refuses: one clear line.
WORKDIR /app
USER 10001:10001
# /healthz and /metrics in both modes, and HTTP mode's /slack/events (SSM3_HTTP_PORT).
EXPOSE 3000
# Unhealthy when the last finished sweep is older than two sweep periods (SSM3_SWEEP_SCHEDULE);
# the start period gives the first sweep time to finish. (Orchestrators probe /healthz instead:
# liveness, which a stale sweep does not fail; see deploy/.)
HEALTHCHECK --interval=60s --timeout=10s --start-period=10m --retries=3 \
    CMD ["ssm3bot", "health"]
ENTRYPOINT ["ssm3bot"]
CMD ["serve"]
