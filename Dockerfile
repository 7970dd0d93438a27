# paper-digest: a slim image that runs as a non-root user.
#
# Two stages. The first installs the package and its dependencies into a virtual
# environment; the second copies only that environment onto a fresh slim base, so the
# image carries no build tools, no pip cache and no source tree. The dependencies ship
# wheels (asyncpg, css-inline, ... for linux/amd64 and arm64), so nothing is compiled.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY digest ./digest
COPY templates ./templates
COPY migrations ./migrations
RUN python -m venv /opt/digest && /opt/digest/bin/pip install .

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/digest/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DIGEST_WEB_HOST=0.0.0.0
RUN useradd --create-home --uid 10001 --user-group digest
COPY --from=build /opt/digest /opt/digest
USER digest
WORKDIR /home/digest
EXPOSE 8000
# digest serve stops gracefully on SIGTERM (what `docker stop` sends).
CMD ["digest", "serve"]
