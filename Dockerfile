# syntax=docker/dockerfile:1
#
# Plumbline in a container: `docker build -t plumbline .` then
#   docker run -p 4318:4318 -p 4317:4317 -v plumbline-data:/app/data plumbline
# (embedded storage in the volume), or with PLUMBLINE_CLICKHOUSE_URL=http://host:8123 for a
# ClickHouse server. docker-compose.yml runs it with ClickHouse and Grafana.
#
# Debian slim, not Alpine: chDB (embedded ClickHouse, loaded even in server mode) ships a
# glibc-only native library.

# --- deps: production dependencies only, exactly as the lock file says -------------------
# TypeScript runs through tsx, which is a runtime dependency: there is no build step and no
# dev dependency in the image.
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PLUMBLINE_HOST=0.0.0.0 \
    PLUMBLINE_DATA_DIR=/app/data \
    PLUMBLINE_RULES_DIR=/app/rules
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
COPY rules ./rules
# The data directory belongs to the unprivileged user, so that a named volume mounted there
# starts out writable by it too.
RUN mkdir -p /app/data && chown node:node /app/data
# `node` (uid 1000) comes with the base image.
USER node
# OTLP/HTTP + API, OTLP/gRPC.
EXPOSE 4318 4317
# No curl in the slim image: node's own fetch. Ready means the store takes writes.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PLUMBLINE_PORT||4318)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same command as `npm start`, without npm in between (signals reach node directly:
# SIGTERM stops accepting, flushes what was acknowledged and closes the store).
CMD ["node", "--max-old-space-size=256", "--max-semi-space-size=4", "bin/plumbline.js", "serve"]
