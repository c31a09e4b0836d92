# rbd-backup worker image. Built and run by docker-compose.yml; see docs/compose.md.
# Written without a Docker engine at hand: the steps were checked outside Docker, not as an image build.

# Node 24 LTS (Node 20's life ended in April 2026). Bookworm, for its ceph-common (Pacific).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: TypeScript -> dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .dockerignore keeps node_modules, dist, test, deploy and any keyring out of the context.
COPY . .
RUN npm run build

# ---- deps: production node_modules only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The Temporal core bridge ships native binaries for every OS; keep only the Linux (glibc) ones.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@temporalio/core-bridge/releases/*-darwin \
           node_modules/@temporalio/core-bridge/releases/*-windows-*

# ---- runtime ----
FROM ${NODE_IMAGE}
# ceph-common provides the `rbd` and `ceph` CLIs (Debian bookworm: Ceph 16.2 "Pacific"); tini
# reaps the rbd child processes and forwards SIGTERM so the worker shuts down gracefully.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ceph-common tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN chmod 0755 dist/cli/main.js && ln -s /app/dist/cli/main.js /usr/local/bin/rbd-backup

# No ceph.conf, keyring or config is baked in: /etc/ceph and /etc/rbd-backup are bind-mounted
# read-only at run time, the backup destination read-write (docker-compose.yml).
#
# Runs as root on purpose: Ceph keyrings are normally root:root 0600, and the backup tree is
# usually root-owned, so a non-root user could read neither without changing the host's
# permissions. docker-compose.yml takes away the root powers that are not needed instead
# (cap_drop: ALL, no-new-privileges): root then reads and writes only files it owns or that
# their mode bits allow.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
CMD ["worker", "--config", "/etc/rbd-backup/config.yaml"]
