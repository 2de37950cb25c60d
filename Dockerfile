# slack-whatsapp-bridge: production image (see docs/operations.md, "Container").
#
#   docker build -t slack-whatsapp-bridge .
#   docker run --read-only --tmpfs /tmp -v bridge-data:/data --env-file .env -p 3000:3000 \
#     --stop-timeout 35 slack-whatsapp-bridge
#
# The default database is SQLite on the /data volume. SQLite is for ONE process: never point two
# containers at the same volume. Several replicas need PostgreSQL (DATABASE_URL=postgres://…): see
# docker-compose.yml.
#
# Three stages on the same Debian base (the native SQLite addon built in `deps` must run on the
# glibc of the runtime stage): `deps` installs the production dependencies, `build` type-checks and
# compiles the TypeScript, and the runtime stage copies the results of both.

# --- deps: production node_modules, with better-sqlite3's native addon ------------------------------
FROM node:20-bookworm-slim AS deps
# better-sqlite3 is compiled from source against the headers that ship with Node in this image
# (/usr/local/include/node) instead of downloading a prebuilt binary, so the build needs the npm
# registry and Debian's packages only.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_build_from_source=better-sqlite3 \
    npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the lockfile's production tree. Then drop what compiling better-sqlite3 leaves behind
# (object files, the SQLite sources, about 26 MB): only build/Release/better_sqlite3.node is loaded.
RUN npm ci --omit=dev --no-audit --no-fund \
    && mv node_modules/better-sqlite3/build/Release/better_sqlite3.node node_modules/better-sqlite3/ \
    && rm -rf node_modules/better-sqlite3/build node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
    && mkdir -p node_modules/better-sqlite3/build/Release \
    && mv node_modules/better-sqlite3/better_sqlite3.node node_modules/better-sqlite3/build/Release/

# --- build: type check and compile src/ and migrations/ into dist/ ----------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The compiler needs no install script (no native addon is built or loaded here).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY migrations ./migrations
COPY src ./src
# `npm run build` type-checks, emits dist/ and records the sources' hash in dist/.build-hash.
RUN npm run build

# --- runtime ----------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    DATABASE_URL=sqlite:/data/bridge.sqlite
WORKDIR /app
# Everything under /app belongs to root and is not writable by the app's user, so the container runs
# with a read-only root file system (--read-only / read_only: true). The sources and the build's
# inputs are there too, so dist/.build-hash matches them: `npm start`, `npm run migrate` and
# `npm run simulate` find dist/ current and write nothing (see scripts/build.mjs).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/package-lock.json /app/tsconfig.json /app/tsconfig.build.json ./
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/src ./src
COPY --from=build /app/dist ./dist
# The only place the app writes: SQLite's database (and its -wal/-shm files). Owned by the `node`
# user (uid 1000) of the base image, which a new named volume takes over.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME ["/data"]
# Numeric, so `runAsNonRoot` checks (Kubernetes) can verify it: the base image's `node` user.
USER 1000:1000
EXPOSE 3000
# Slim images have no curl: Node's fetch asks the app itself. 200 once the database is reachable and
# migrated; 503 while the process drains after SIGTERM.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# The app drains on SIGTERM (stops taking requests, finishes its work, closes the database) and exits
# by itself within 30 s, so give it that long: `docker stop -t 35`, `--stop-timeout 35`, or compose's
# stop_grace_period (docker-compose.yml sets 35s); Docker's default 10 s would SIGKILL a long drain.
STOPSIGNAL SIGTERM
# Node itself, not `npm start`: no npm process in between to forward signals, nothing written at
# start (npm keeps logs under $HOME), and dist/ is known to be current. Node runs as PID 1; that is
# fine here because the app installs its own SIGTERM and SIGINT handlers (the kernel ignores
# unhandled signals only for PID 1) and starts no child processes, so there are no zombies to reap.
# An init (`docker run --init`, compose `init: true`) is harmless if your platform prefers one.
# The flags are package.json's start script's (a test keeps them equal); why the heap limit is
# 512 MB is in docs/operations.md, "Memory".
CMD ["node", "--enable-source-maps", "--max-old-space-size=512", "dist/src/main.js"]
