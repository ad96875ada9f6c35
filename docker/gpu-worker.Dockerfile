# syntax=docker/dockerfile:1.7
# fundus-screen GPU worker: BullMQ processors (training, scoring, sweeps, schedule); no HTTP server.
#
#   docker build -f docker/gpu-worker.Dockerfile -t fundus-gpu-worker .
#   docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics ... fundus-gpu-worker
#
# GPU path: tfjs' webgpu backend on Dawn (the `webgpu` npm package) over Vulkan. The NVIDIA
# container toolkit mounts the driver and its Vulkan ICD file when the `graphics` capability is
# requested; the image brings what the driver does not: the Vulkan loader and the glvnd libraries
# (without glvnd, the loader reports "Found no drivers"). With no usable adapter, MODEL_BACKEND=auto
# falls back to wasm (CPU).
#
# Alternative, not built here: @tensorflow/tfjs-node-gpu (libtensorflow with CUDA). It pins CUDA 11.2
# and cuDNN 8.1, and its install script downloads libtensorflow, so it needs a base image such as
# nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 with Node 20 added, network access during
# `npm ci` (without --ignore-scripts for that package) and MODEL_BACKEND=tensorflow. See
# docs/deployment.md.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
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
# --ignore-scripts: no dependency may download binaries at build time; Dawn (webgpu), sharp and
# onnxruntime-node ship their Linux x64 binaries inside their npm packages.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund \
 && DATABASE_URL=postgresql://build@localhost:5432/build node scripts/ensure-prisma-client.js

FROM deps AS build
COPY tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# Vulkan loader + glvnd (EGL/GL/GLX/GLES dispatch) for NVIDIA's Vulkan driver, as checked on an
# H200 (shared/device/README.md); ca-certificates for TLS to S3 and rediss:// endpoints.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# VK_DRIVER_FILES lists where NVIDIA's container toolkit puts the Vulkan ICD file (current, older
# toolkits, GPU-operator hosts); the loader skips entries that do not exist (checked with this
# Debian loader, 1.3.239). Only NVIDIA's driver is ever picked, never a software rasteriser.
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    MODEL_BACKEND=auto \
    CACHE_DIR=/var/cache/fundus/tensors \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    VK_DRIVER_FILES=/usr/share/vulkan/icd.d/nvidia_icd.json:/etc/vulkan/icd.d/nvidia_icd.json:/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The preprocessed-tensor cache (CACHE_DIR) is a volume in compose and an emptyDir in Kubernetes.
RUN mkdir -p /var/cache/fundus/tensors /app/.data \
 && chown -R node:node /var/cache/fundus /app/.data
VOLUME ["/var/cache/fundus"]
USER node
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/gpu-worker/src/main.js"]
