#!/usr/bin/env bash
# Packs bench/model/gpu-bench.ts for a GPU machine without Node or npm (run from the repo root):
# an esbuild bundle, tfjs wasm binaries, dawn.node and node itself (xz), and the Vulkan loader plus
# libglvnd packages the NVIDIA Vulkan ICD needs. Output: .gpu/ (git-ignored, < 40 MiB).
# On the GPU machine, from .gpu/:
#   cp -r model /tmp/m; xz -dc node.xz >/tmp/node; chmod +x /tmp/node
#   xz -dc dawn.node.xz >/tmp/m/node_modules/webgpu/dist/linux-x64/dawn.node
#   for f in *.deb; do dpkg -x $f /; done; ldconfig
#   export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json   # where the driver lives
#   cd /tmp/m && /tmp/node bench.js --size 224 --batch 32 --steps 3
set -euo pipefail
out=.gpu
rm -rf "$out/model"
mkdir -p "$out/model/node_modules/webgpu/dist/linux-x64"
npx esbuild bench/model/gpu-bench.ts --bundle --platform=node --format=cjs --target=node20 \
  --outfile="$out/model/bench.js" --log-level=error
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/model/"
cp node_modules/webgpu/package.json "$out/model/node_modules/webgpu/"
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$out/dawn.node.xz"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz"
(cd "$out" && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2)
du -sh "$out"
