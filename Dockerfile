# dcatwatch: the daemon (`dcatwatch serve`) with /metrics, /healthz and /readyz on port 9108.
# Build:  docker build -t dcatwatch .     (or: buildah bud -t dcatwatch .)
# Config: mount a TOML at /etc/dcatwatch/dcatwatch.toml; secrets and the database URL come
#         from the environment (DCATWATCH_DATABASE_URL, the SMTP password variable …).

FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY dcatwatch ./dcatwatch
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgresql]"

FROM python:3.11.11-slim-bookworm
RUN groupadd --system --gid 10001 dcatwatch \
    && useradd --system --uid 10001 --gid dcatwatch --home-dir /var/lib/dcatwatch dcatwatch \
    && mkdir -p /var/lib/dcatwatch /etc/dcatwatch \
    && chown dcatwatch:dcatwatch /var/lib/dcatwatch
COPY --from=build /wheels /wheels
# /wheels holds dcatwatch and every dependency, pinned by the build stage's resolution
RUN pip install --no-cache-dir --no-index --no-deps /wheels/*.whl \
    && rm -rf /wheels
COPY dcatwatch.example.toml /etc/dcatwatch/dcatwatch.toml
ENV DCATWATCH_CONFIG=/etc/dcatwatch/dcatwatch.toml \
    DCATWATCH_DATABASE_URL=sqlite:////var/lib/dcatwatch/dcatwatch.db \
    DCATWATCH_SERVER_HOST=0.0.0.0 \
    DCATWATCH_SERVER_PORT=9108 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/dcatwatch
VOLUME ["/var/lib/dcatwatch"]
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["dcatwatch"]
CMD ["serve"]
