#!/usr/bin/env bash
# Runs on the GPU machine from the repo root with .gpu/train carried (see pack.sh); results in $OUT.
# Own timeouts: PyTorch anchor 60 s (in parallel with unpacking), tfjs webgpu fast path (trainModel's,
# b8 and b32: inference, training, programs per step, kernel profile) 150 s, per-kernel convolution
# timings at b32 (conv-kernels.ts) 90 s, the fast path with our GEMM forward convolution (b32) 90 s,
# stock-kernel baseline (b32) 90 s. Worst case ~8 min (expected well under half that).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$OUT/gpu.txt" 2>&1
(timeout 60 python3 "$here/torch_anchor.py" --batch 32 --steps 20 >"$OUT/torch.json" 2>"$OUT/torch.err"; echo "torch rc=$?" >>"$OUT/rc.txt") &
tp=$!
xz -dc "$here/node.xz" >/tmp/node && chmod +x /tmp/node
mkdir -p /tmp/gt && cp -r "$here/app/." /tmp/gt/ && mkdir -p /tmp/gt/node_modules/webgpu/dist/linux-x64
xz -dc "$here/dawn.node.xz" >/tmp/gt/node_modules/webgpu/dist/linux-x64/dawn.node
for f in "$here"/*.deb; do dpkg -x "$f" /; done; ldconfig
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd && break
done
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-none}" >>"$OUT/rc.txt"
wait $tp
cd /tmp/gt && timeout 150 /tmp/node bench.js --size 224 --batches 8,32 --steps 4 --iters 10 --json "$OUT/webgpu.json" >"$OUT/webgpu.log" 2>&1
echo "webgpu rc=$?" >>"$OUT/rc.txt"
timeout 90 /tmp/node bench.js --conv-kernels --size 224 --batches 32 --reps 10 --json "$OUT/conv-kernels.json" >"$OUT/conv-kernels.log" 2>&1
echo "conv-kernels rc=$?" >>"$OUT/rc.txt"
timeout 90 /tmp/node bench.js --conv-gemm --size 224 --batches 32 --steps 4 --iters 10 --json "$OUT/webgpu-gemm.json" >"$OUT/webgpu-gemm.log" 2>&1
echo "gemm rc=$?" >>"$OUT/rc.txt"
timeout 90 /tmp/node bench.js --stock --size 224 --batches 32 --steps 2 --iters 5 --json "$OUT/webgpu-stock.json" >"$OUT/webgpu-stock.log" 2>&1
echo "stock rc=$?" >>"$OUT/rc.txt"
cat "$OUT/rc.txt" "$OUT/torch.json" "$OUT/torch.err" "$OUT/webgpu.log" "$OUT/conv-kernels.log" "$OUT/webgpu-gemm.log" "$OUT/webgpu-stock.log" | grep -v artificially | tail -c 11500
