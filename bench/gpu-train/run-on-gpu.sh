#!/usr/bin/env bash
# Runs on the GPU machine from the repo root with .gpu/train carried (see pack.sh). Every result goes
# to one archive, $OUT/results.tgz (the device tool returns at most 8 files), rewritten after each
# part so a part cut short still leaves the earlier ones. Parts, most important first, each with its
# own timeout and all inside one deadline (DEADLINE seconds from the start, default 480):
#   PyTorch anchor (60 s, while the rest unpacks); tfjs webgpu fast path at b32 (inference, training,
#   programs per step, kernel profiles; 150 s); per-kernel convolution timings at b32 (100 s); the
#   fast path with our GEMM forward convolution at b32 (90 s); the fast path at b8 (70 s); stock
#   kernels at b32 (baseline, 90 s); the fast path at b32 with 64 programs per queue submit (60 s);
#   per-call GPU time of every convolution kernel per program choice, in situ (layer-profile, 90 s);
#   the fast path with the previous convolution programs (webgpu-previous, 90 s); a V8 CPU profile
#   of 20 training steps (cpu-profile, 60 s); trainModel's own loop, one epoch of 24 b32 batches
#   (train-model, 90 s).
# PARTS="webgpu layer-profile …" runs only the parts named (default: all); the anchor always runs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/out}
DEADLINE=${DEADLINE:-480}
PARTS=${PARTS:-all}
res=/tmp/res
mkdir -p "$OUT" "$res"
pack() { tar -czf "$OUT/results.tgz" -C "$res" . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$res/gpu.txt" 2>&1
(timeout 60 python3 "$here/torch_anchor.py" --batch 32 --steps 20 >"$res/torch.json" 2>"$res/torch.err"; echo "torch rc=$? at ${SECONDS}s" >>"$res/rc.txt") &
tp=$!
xz -dc "$here/node.xz" >/tmp/node && chmod +x /tmp/node
mkdir -p /tmp/gt && cp -r "$here/app/." /tmp/gt/ && mkdir -p /tmp/gt/node_modules/webgpu/dist/linux-x64
xz -dc "$here/dawn.node.xz" >/tmp/gt/node_modules/webgpu/dist/linux-x64/dawn.node
for f in "$here"/*.deb; do dpkg -x "$f" /; done; ldconfig
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd && break
done
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-none}" >>"$res/rc.txt"
wait $tp
pack

# part NAME CAP ARGS...: bench.js ARGS with the smaller of CAP and the time left before DEADLINE.
part() {
  local name=$1 cap=$2 left=$((DEADLINE - SECONDS))
  shift 2
  if [ "$PARTS" != all ] && [[ " $PARTS " != *" $name "* ]]; then return; fi
  if [ "$left" -lt 25 ]; then echo "$name skipped (${left}s left)" >>"$res/rc.txt"; return; fi
  [ "$cap" -gt "$left" ] && cap=$left
  (cd /tmp/gt && timeout "$cap" /tmp/node bench.js "$@" --json "$res/$name.json" >"$res/$name.log" 2>&1)
  echo "$name rc=$? (cap ${cap}s) at ${SECONDS}s" >>"$res/rc.txt"
  pack
}
part webgpu 150 --size 224 --batches 32 --steps 10 --iters 10
part train-model 90 --train-model --size 224 --batches 32 --batches-per-epoch 24
part webgpu-previous 90 --previous --size 224 --batches 32 --steps 10 --iters 10
part layer-profile 90 --layer-profile --size 224 --batches 32
# A V8 CPU profile of training steps (where the CPU's ~70 ms of encoding per step goes).
if [ "$PARTS" = all ] || [[ " $PARTS " == *" cpu-profile "* ]]; then
  (cd /tmp/gt && timeout 60 /tmp/node --cpu-prof --cpu-prof-dir="$res/cpu-profile" bench.js --no-infer --size 224 --batches 32 --steps 20 >"$res/cpu-profile.log" 2>&1)
  echo "cpu-profile rc=$? at ${SECONDS}s" >>"$res/rc.txt"
  pack
fi
part conv-kernels 100 --conv-kernels --size 224 --batches 32 --reps 10
part webgpu-gemm 90 --conv-gemm --size 224 --batches 32 --steps 5 --iters 10
part webgpu-b8 70 --size 224 --batches 8 --steps 5 --iters 10
part webgpu-stock 90 --stock --size 224 --batches 32 --steps 2 --iters 5
part webgpu-submit64 60 --no-infer --tf-flag WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64 --size 224 --batches 32 --steps 5
cd "$res" && cat rc.txt torch.json torch.err webgpu.log train-model.log webgpu-previous.log conv-kernels.log webgpu-gemm.log webgpu-b8.log webgpu-stock.log webgpu-submit64.log layer-profile.log 2>/dev/null |
  grep -v artificially | tail -c 11500
