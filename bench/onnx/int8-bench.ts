/**
 * int8 (QDQ, static, calibrated) against float32 ONNX Runtime, same process, same run.
 *
 *   npx tsx bench/onnx/int8-bench.ts
 *
 * 1. Accuracy: a tiny ResNet trained here on synthetic fundus images (the recipe of
 *    libs/model/src/fundus-training.spec.ts: 64 px, 240 training images, moderate/severe lesions,
 *    wasm backend), exported with exportOnnx, quantized with quantize.ts calibrated on 64 training
 *    images; AUC of float32 ORT and int8 ORT on held-out images: 120 like the training set (also
 *    the early-stopping set) and 200 with all four lesion loads (never seen; AUC below 1), |Δp|,
 *    labels changed at 0.5.
 * 2. Speed: untrained ResNet18 at 128 px and ResNet50 at 224 px (random weights with random
 *    batch-norm statistics, calibrated on 16 random-normal images), batch 8, CPU provider, float32
 *    vs int8, alternating passes, median of BENCH_ROUNDS (default 5).
 */
import { cpus, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Severity } from '@fundus/imaging';
import { rocAuc } from '@fundus/metrics';
import {
  createModel,
  exportOnnx,
  initBackend,
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  Rng,
  trainModel,
  type Architecture,
} from '@fundus/model';
import { quantizeInt8 } from './quantize';
import {
  FUNDUS_TRAINING_RECIPE,
  randomiseStatistics,
  SyntheticFundusData,
} from '../../libs/model/src/spec-helpers';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SEVERITY_MIX: Severity[] = ['moderate', 'severe'];

function stack(images: Float32Array[]): Float32Array {
  const per = images[0].length;
  const x = new Float32Array(images.length * per);
  images.forEach((im, i) => x.set(im, i * per));
  return x;
}

async function probs(session: ort.InferenceSession, x: Float32Array, size: number, batch = 8) {
  const per = size * size * 3;
  const n = x.length / per;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const r = await session.run({
      [ONNX_INPUT_NAME]: new ort.Tensor('float32', x.subarray(i * per, (i + m) * per), [m, size, size, 3]),
    });
    const p = r[ONNX_OUTPUT_NAME].data as Float32Array;
    for (let j = 0; j < m; j++) out[i + j] = p[2 * j + 1];
  }
  return out;
}

const opts: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
};

function compare(a: Float32Array, b: Float32Array) {
  let maxDiff = 0;
  let sum = 0;
  let flips = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    sum += Math.abs(a[i] - b[i]);
    if (a[i] >= 0.5 !== b[i] >= 0.5) flips += 1;
  }
  return { maxDiff, meanDiff: sum / a.length, flips };
}

async function accuracy(): Promise<void> {
  const SIDE = 64;
  await initBackend('wasm');
  const train = new SyntheticFundusData(240, 1000, SIDE, SEVERITY_MIX);
  // Held out with all four lesion loads (subtle and mild are hard at 64 px), so the AUC is not 1.
  const val = new SyntheticFundusData(200, 900000, SIDE);
  const valEasy = new SyntheticFundusData(120, 700000, SIDE, SEVERITY_MIX);
  const model = createModel({ architecture: 'tiny-resnet', inputSize: SIDE, seed: 1, widths: [8, 16, 32] });
  const t0 = performance.now();
  const result = await trainModel({
    model,
    train,
    val: valEasy,
    config: FUNDUS_TRAINING_RECIPE,
  });
  const trainS = (performance.now() - t0) / 1000;
  const onnx = exportOnnx(model);
  model.dispose();
  const calib = [0, 1, 2, 3, 4, 5, 6, 7].map((b) => stack(train.images.slice(b * 8, b * 8 + 8)));
  const q = await quantizeInt8(onnx, calib, SIDE);
  const f32 = await ort.InferenceSession.create(onnx, opts);
  const i8 = await ort.InferenceSession.create(q.onnx, opts);
  console.log(
    `accuracy: tiny-resnet [8,16,32] at ${SIDE} px trained ${result.history.length} epochs in ${trainS.toFixed(0)} s (best val AUC in training ${result.bestValAuc?.toFixed(4)}); int8: ${q.convs} convs, ${q.activations} activations quantized`,
  );
  console.log(
    '| held-out images | AUC float32 ORT | AUC int8 ORT | Δ AUC | max abs Δp | mean abs Δp | labels changed at 0.5 |\n|---|---|---|---|---|---|---|',
  );
  for (const [name, set] of [
    ['moderate/severe (as trained)', valEasy],
    ['all four lesion loads', val],
  ] as const) {
    const x = stack(set.images);
    const pf = await probs(f32, x, SIDE);
    const pq = await probs(i8, x, SIDE);
    const { maxDiff, meanDiff, flips } = compare(pf, pq);
    const [af, aq] = [rocAuc(set.labels, pf), rocAuc(set.labels, pq)];
    console.log(
      `| ${set.size}, ${name} | ${af.toFixed(4)} | ${aq.toFixed(4)} | ${(aq - af).toFixed(4)} | ${maxDiff.toFixed(4)} | ${meanDiff.toFixed(4)} | ${flips} |`,
    );
  }
  await f32.release();
  await i8.release();
}

async function speed(arch: Architecture, size: number, images: number): Promise<void> {
  await initBackend('cpu');
  const model = createModel({ architecture: arch, inputSize: size, seed: 1 });
  randomiseStatistics(model, 2);
  const onnx = exportOnnx(model);
  model.dispose();
  const rng = new Rng(5);
  const per = size * size * 3;
  const x = new Float32Array(images * per).map(() => rng.normal());
  const calib = [x.slice(0, 8 * per), x.slice(8 * per, 16 * per)];
  const q = await quantizeInt8(onnx, calib, size);
  const f32 = await ort.InferenceSession.create(onnx, opts);
  const i8 = await ort.InferenceSession.create(q.onnx, opts);
  const pass = async (s: ort.InferenceSession) => {
    const t = performance.now();
    const p = await probs(s, x, size);
    return { s: (performance.now() - t) / 1000, p };
  };
  await pass(f32);
  await pass(i8);
  const tf32: number[] = [];
  const ti8: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = await pass(f32);
    const b = await pass(i8);
    tf32.push(a.s);
    ti8.push(b.s);
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  console.log(
    `| ${arch} ${size} px | ${images} | ${((med(tf32) / images) * 1000).toFixed(1)} | ${((med(ti8) / images) * 1000).toFixed(1)} | ${(med(tf32) / med(ti8)).toFixed(2)}× | ${tf32.map((v, i) => (v / ti8[i]).toFixed(2)).join(', ')} |`,
  );
  await f32.release();
  await i8.release();
}

async function main(): Promise<void> {
  console.log(`date: ${new Date().toISOString()}`);
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, onnxruntime-node ${ort.env.versions.node ?? '?'}, load average at start ${loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')}`,
  );
  await accuracy();
  console.log(
    `\nspeed, batch 8, median of ${ROUNDS} alternating passes:\n| model | images | float32 ms/img | int8 ms/img | speed-up | per round |\n|---|---|---|---|---|---|`,
  );
  await speed('resnet18', 128, 32);
  await speed('resnet50', 224, 16);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
