# syntax=docker/dockerfile:1
# MAI Framework: the production image (api, worker and migrate services of compose.yaml).
#
#   docker build -t mai-framework:0.1.0 .
#   docker run --rm -p 8000:8000 -e JWT__SECRET_KEY=… mai-framework:0.1.0
#
# Three stages: `builder` resolves nothing, it installs exactly what uv.lock pins (no dev
# tools, no local-llm group) into /app/.venv; `runtime` is python:3.11-slim with that venv
# and the application's own files, running as an unprivileged user. Both stages use the
# same base image, so the venv's interpreter links stay valid when it is copied across.
# `web` (Node) builds the web console; the runtime takes only its web/dist.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# --------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11

WORKDIR /app

# Dependencies first (the slow layer), keyed on the lock file alone.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself (editable: the venv points at /app, where runtime puts the code,
# so `migrations/` and `config/` resolve next to the packages exactly as in a checkout).
COPY README.md ./
COPY domain/ domain/
COPY application/ application/
COPY adapters/ adapters/
COPY entrypoints/ entrypoints/
COPY migrations/ migrations/
COPY containers/ containers/
COPY container.py runtime.py ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# --------------------------------------------------------------------------- web
# The web console and the Swagger UI / GraphiQL bundles (`make web`), as web/package-lock.json
# pins them; only the built web/dist reaches the runtime image.
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY web/package.json web/package-lock.json web/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="MAI Framework" \
      org.opencontainers.image.description="Agents, memory, tools, prompts and pipelines over REST, GraphQL and a CLI." \
      org.opencontainers.image.licenses="MIT"

# A fixed uid/gid so volumes and Kubernetes securityContext can rely on it.
RUN groupadd --system --gid 10001 mai \
    && useradd --system --uid 10001 --gid mai --home-dir /app --shell /usr/sbin/nologin mai \
    && mkdir -p /var/lib/mai \
    && chown mai:mai /var/lib/mai

ENV PATH="/app/.venv/bin:${PATH}" \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/var/lib/mai \
    LOG__FORMAT=json

WORKDIR /app

# The venv (owned by root: the app cannot rewrite its own code) and only runtime files.
COPY --from=builder /app/.venv /app/.venv
COPY domain/ domain/
COPY application/ application/
COPY adapters/ adapters/
COPY entrypoints/ entrypoints/
COPY migrations/ migrations/
COPY containers/ containers/
COPY container.py runtime.py alembic.ini pyproject.toml ./
COPY config/ config/
COPY --from=web /web/dist web/dist

USER mai:mai

EXPOSE 8000

# Liveness: GET /health. slim has no curl; urllib raises (exit 1) on a refused connection,
# a timeout or any non-2xx status.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# All interfaces: inside a container the port is reachable only where it is published.
CMD ["mai", "serve", "--host", "0.0.0.0", "--port", "8000"]
