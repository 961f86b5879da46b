# Every service's image, from the repository root:
#     docker build --build-arg SERVICE=rsd -t pana-rsd .
# SERVICE: registration | rsd | statelessness | civil-registry-bridge (docker-compose.yml builds each).
# (.dockerignore keeps .venv, var/, .git, caches and any key material out of the build context.)
ARG SERVICE

# -- build: wheels from the sources, installed (not editable) with the lock's pins, production dependencies only
FROM python:3.11-slim AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "set --build-arg SERVICE=<registration|rsd|statelessness|civil-registry-bridge>"; exit 1; } \
 && pip install --no-cache-dir uv
WORKDIR /src
COPY . .
# The migrations are package data of each service's wheel, and the letters' font of rsd's; nothing is read from /src
# at run time. The launcher sets the service's own variables (its prefix, from pana_kit.settings.ENV_PREFIX).
RUN uv build --wheel --all-packages -o /wheels \
 && uv export --frozen --no-dev --package "$SERVICE" --no-hashes --no-header --no-emit-workspace -o /wheels/pins.txt \
 && uv venv /opt/pana \
 && uv pip install --python /opt/pana/bin/python --no-cache --compile-bytecode --constraints /wheels/pins.txt \
      /wheels/pana_events-*.whl /wheels/pana_kit-*.whl "/wheels/$(echo "$SERVICE" | tr - _)"-*.whl \
 && /opt/pana/bin/python -m pana_kit.container write-launcher "$SERVICE" /opt/pana/bin/pana-service

# -- run: the installed environment only (no sources, no uv, no developer stack), read-only, unprivileged
FROM python:3.11-slim
ARG SERVICE
RUN groupadd --system --gid 10001 pana \
 && useradd --system --uid 10001 --gid pana --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pana \
 && install -d -o pana -g pana -m 0700 /var/lib/pana
COPY --from=build /opt/pana /opt/pana
# What the service writes (nothing in production with PostgreSQL; dev-mode keys, a SQLite file) goes to the volume:
# the launcher defaults <PREFIX>STATE_DIR=/var/lib/pana, <PREFIX>HOST=0.0.0.0, <PREFIX>PORT=8000.
ENV PATH="/opt/pana/bin:$PATH" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
LABEL org.opencontainers.image.title="pana-${SERVICE}"
VOLUME ["/var/lib/pana"]
USER pana:pana
WORKDIR /var/lib/pana
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=6 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
CMD ["pana-service"]
