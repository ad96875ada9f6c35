#!/usr/bin/env bash
# Replays the RUN steps of docker/api.Dockerfile (deps -> migrate, build -> runtime) outside Docker,
# on the committed tree, in a temporary folder, then starts what the images would start:
# `prisma migrate deploy` from the migrate stage's files, the API (GET /health, /ready, SIGTERM)
# and the worker (start, SIGTERM) from the runtime stage's files. For machines without a Docker
# engine. Needs PostgreSQL and Redis on 127.0.0.1 (trust auth) and the npm registry; ~5 min.
#   docker/replay-build.sh [workdir]      (default: a new folder under /tmp; it is left behind)
# Keep the steps in step with the Dockerfiles; test/deploy checks the Dockerfiles themselves.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/fundus-replay.XXXXXX)}
db="fundus_replay_$$"
export ONNXRUNTIME_NODE_INSTALL=skip CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
mkdir -p "$work/ctx" "$work/deps"
git -C "$repo" archive HEAD | tar -x -C "$work/ctx"
cd "$work/deps"
C=../ctx
# deps stage
cp $C/package.json $C/package-lock.json $C/.npmrc $C/tsconfig.json ./
mkdir -p scripts && cp $C/scripts/ensure-prisma-client.js scripts/
cp $C/prisma.config.ts ./ && cp -r $C/prisma ./prisma
npm ci --ignore-scripts --no-audit --no-fund
DATABASE_URL=postgresql://build@localhost:5432/build node scripts/ensure-prisma-client.js
# migrate stage: node_modules, package.json, prisma.config.ts, prisma/
mkdir -p ../migrate && cp -a node_modules package.json prisma.config.ts prisma ../migrate/
# build stage (.dockerignore keeps specs, tests and bench out)
cp $C/tsconfig.build.json $C/nest-cli.json ./
cp -r $C/apps ./apps && mkdir -p libs && cp -r $C/libs/. ./libs/
find apps libs \( -name '*.spec.ts' -o -name '*.e2e-spec.ts' \) -delete
npm run build
npm run build:dashboard --if-present
mkdir -p apps/dashboard/dist
npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# runtime stage: package.json, node_modules, dist, apps/dashboard/dist
mkdir -p ../runtime/apps/dashboard && cp -a package.json node_modules dist ../runtime/ && cp -a apps/dashboard/dist ../runtime/apps/dashboard/

url="postgresql://postgres@127.0.0.1:5432/$db"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$db\""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || true
  redis-cli --scan --pattern "replay-$$:*" | xargs -r redis-cli del >/dev/null || true
}
trap cleanup EXIT
(cd ../migrate && env -i PATH="$PATH" HOME="$work" NODE_ENV=production CHECKPOINT_DISABLE=1 DATABASE_URL="$url" \
  node_modules/.bin/prisma migrate deploy)
cd ../runtime
# `exec`: the background job is node itself, so SIGTERM reaches it and `wait` sees its exit code.
run() { exec env -i PATH="$PATH" HOME="$work" NODE_ENV=production LOG_FORMAT=json DATABASE_URL="$url" \
  REDIS_URL=redis://127.0.0.1:6379 QUEUE_PREFIX="replay-$$" STORAGE_URI="file://$work/storage" "$@"; }
stop() { # pid name
  kill -TERM "$1"
  local code=0
  wait "$1" || code=$?
  if [ "$code" -ne 0 ]; then echo "$2: exit $code on SIGTERM" >&2; exit 1; fi
  echo "$2: exit 0 on SIGTERM"
}
(run API_HOST=127.0.0.1 API_PORT=38191 node dist/apps/api/src/main.js >api.log 2>&1) &
api=$!
pids+=("$api")
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:38191/health >/dev/null && break; sleep 0.5; done
curl -sf http://127.0.0.1:38191/health && echo
curl -sf http://127.0.0.1:38191/ready && echo
stop "$api" api
(run CACHE_DIR="$work/cache" MODEL_BACKEND=wasm NIGHTLY_ENABLED=false node dist/apps/gpu-worker/src/main.js >worker.log 2>&1) &
worker=$!
pids+=("$worker")
for _ in $(seq 1 120); do grep -q 'worker ready' worker.log && break; sleep 0.5; done
grep -q 'worker ready' worker.log
stop "$worker" worker
du -sh node_modules
echo "replay OK ($work)"
