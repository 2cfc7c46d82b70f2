# dcatwatch: the daemon (`dcatwatch serve`) with /metrics, /healthz and /readyz on port 9108.
# Build:  docker build -t dcatwatch .     (or: buildah bud -t dcatwatch .)
# Config: mount a TOML at /etc/dcatwatch/dcatwatch.toml; secrets and the database URL come
#         from the environment (DCATWATCH_DATABASE_URL, the SMTP password variable …).

# Offline or registry-less builds override both (scripts/build-image.sh does, for this machine).
ARG BUILD_IMAGE=python:3.11.11-slim-bookworm
ARG BASE_IMAGE=python:3.11.11-slim-bookworm

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY requirements.lock pyproject.toml README.md LICENSE ./
COPY dcatwatch ./dcatwatch
# one virtual environment holding dcatwatch and its dependencies, copied whole below: the
# dependencies exactly as locked (versions and file hashes: scripts/lock.sh), then dcatwatch
# itself, built with the locked setuptools
RUN python -m venv /opt/dcatwatch \
    && /opt/dcatwatch/bin/pip install --no-cache-dir --require-hashes -r requirements.lock \
    && /opt/dcatwatch/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 dcatwatch \
    && useradd --system --uid 10001 --gid dcatwatch --home-dir /var/lib/dcatwatch dcatwatch \
    && mkdir -p /var/lib/dcatwatch /etc/dcatwatch \
    && chown dcatwatch:dcatwatch /var/lib/dcatwatch
COPY --from=build /opt/dcatwatch /opt/dcatwatch
COPY dcatwatch.example.toml /etc/dcatwatch/dcatwatch.toml
COPY LICENSE /usr/share/doc/dcatwatch/LICENSE
ENV PATH=/opt/dcatwatch/bin:$PATH \
    DCATWATCH_CONFIG=/etc/dcatwatch/dcatwatch.toml \
    DCATWATCH_DATABASE_URL=sqlite:////var/lib/dcatwatch/dcatwatch.db \
    DCATWATCH_SERVER_HOST=0.0.0.0 \
    DCATWATCH_SERVER_PORT=9108 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/dcatwatch
VOLUME ["/var/lib/dcatwatch"]
EXPOSE 9108
# /healthz on the port the daemon listens on: set it with DCATWATCH_SERVER_PORT (which wins
# over the TOML), not [server] port, so that this check follows it
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DCATWATCH_SERVER_PORT', '9108'), timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["dcatwatch"]
CMD ["serve"]
