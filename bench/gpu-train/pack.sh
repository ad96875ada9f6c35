#!/usr/bin/env bash
# Packs bench/gpu-train/gpu-train.ts for a GPU machine without Node or npm (run from the repo root):
# an esbuild bundle, dawn.node and node itself (xz), the Vulkan loader + libglvnd .debs the NVIDIA
# Vulkan ICD needs, the PyTorch anchor and the runner. Output: .gpu/train/ (git-ignored, ~30 MiB).
# Then, with the device tool: run `bash .gpu/train/run-on-gpu.sh` carrying `.gpu/train`.
set -euo pipefail
out=.gpu/train
rm -rf "$out"
mkdir -p "$out/app/node_modules/webgpu"
npx esbuild bench/gpu-train/gpu-train.ts --bundle --platform=node --format=cjs --target=node20 \
  --outfile="$out/app/bench.js" --log-level=error
cp node_modules/webgpu/package.json "$out/app/node_modules/webgpu/"
cp bench/gpu-train/torch_anchor.py bench/gpu-train/run-on-gpu.sh "$out/"
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$out/dawn.node.xz"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz"
(cd "$out" && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 >/dev/null)
du -sh "$out"
