# syntax=docker/dockerfile:1.7
# fundus-screen API (serves the dashboard) and, as target `migrate`, the one-shot migration image.
#
#   docker build -f docker/api.Dockerfile -t fundus-api .
#   docker build -f docker/api.Dockerfile --target migrate -t fundus-migrate .
#
# Stages: deps (npm ci, Prisma client) -> build (tsc, then dev dependencies pruned) -> runtime.
# The base image is pinned by version; pin it by digest too in your registry mirror if you can
# (NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:...).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# onnxruntime-node's install script would fetch CUDA libraries; the CPU/WebGPU providers are bundled.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
COPY package.json package-lock.json .npmrc ./
# Prisma's generator reads tsconfig.json to choose its import style: without it the generated client
# imports './x.ts', which tsc keeps verbatim and Node cannot load from dist/.
COPY tsconfig.json ./
COPY scripts/ensure-prisma-client.js scripts/
COPY prisma.config.ts ./
COPY prisma ./prisma
# --ignore-scripts: no dependency may download binaries at build time (the same set of install
# scripts runs as on the developers' npm 11). The Prisma client is generated explicitly; its CLI
# needs some postgres URL even to generate (no database is contacted).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund \
 && DATABASE_URL=postgresql://build@localhost:5432/build node scripts/ensure-prisma-client.js

FROM deps AS build
COPY tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
# The dashboard's own build, once it exists, runs from `npm run build:dashboard` (a no-op until then).
RUN npm run build \
 && npm run build:dashboard --if-present \
 && mkdir -p apps/dashboard/dist \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# One-shot migrations: `prisma migrate deploy` on Prisma's bundled WebAssembly schema engine,
# through the driver adapter in prisma.config.ts (needs the dev dependencies: prisma, tsx loader).
FROM ${NODE_IMAGE} AS migrate
WORKDIR /app
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/package.json /app/prisma.config.ts ./
COPY --from=deps /app/prisma ./prisma
USER node
CMD ["node_modules/.bin/prisma", "migrate", "deploy"]

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    API_HOST=0.0.0.0 \
    API_PORT=3000
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/apps/dashboard/dist ./apps/dashboard/dist
# The `node` user (uid 1000) of the official image; local file:// storage needs a writable folder.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# Liveness only; readiness (/ready: PostgreSQL, Redis, storage) belongs to the orchestrator.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.API_PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/api/src/main.js"]
