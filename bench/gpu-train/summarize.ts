/**
 * Turns the files run-on-gpu.sh wrote to $OUT into a Markdown section for RESULTS.md: device, the
 * img/s table (fast path, fast path + GEMM convolutions, stock kernels, PyTorch from the same run),
 * ratios against issue 12's targets, programs per step, the top kernels, and the per-kernel
 * convolution totals. Missing files (a part that timed out) are named, not guessed.
 *
 *   npx tsx bench/gpu-train/summarize.ts <dir with gpu.txt, torch.json, webgpu*.json, conv-kernels.json>
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

type Json = Record<string, unknown>;

const dir = process.argv[2];
if (!dir) {
  console.error('usage: summarize.ts <results dir>');
  process.exit(2);
}

function read(name: string): Json | null {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!text) return null;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return null;
  }
}

const num = (v: unknown, digits = 0): string =>
  typeof v === 'number' && Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '—';
const get = (o: Json | null, ...keys: string[]): unknown =>
  keys.reduce<unknown>((acc, k) => (acc && typeof acc === 'object' ? (acc as Json)[k] : undefined), o);

const gpu = fs.existsSync(path.join(dir, 'gpu.txt'))
  ? fs.readFileSync(path.join(dir, 'gpu.txt'), 'utf8').trim().split('\n').slice(1).join('; ')
  : 'unknown (no gpu.txt)';
const torch = read('torch.json');
const runFiles: Array<[string, string]> = [
  ['tfjs webgpu, fast path (default)', 'webgpu.json'],
  ['tfjs webgpu, fast path, previous convolution programs (--previous)', 'webgpu-previous.json'],
  ['tfjs webgpu, fast path + GEMM convolutions everywhere (--conv-gemm)', 'webgpu-gemm.json'],
  ['tfjs webgpu, fast path (b8 run)', 'webgpu-b8.json'],
  ['tfjs webgpu, stock kernels (baseline)', 'webgpu-stock.json'],
  ['tfjs webgpu, fast path, 64 programs per queue submit (training only)', 'webgpu-submit64.json'],
];
const runs: Array<[string, Json | null]> = runFiles.map(([label, file]) => [label, read(file)]);
const missing = [
  ['torch.json', torch],
  ...runs.map(([, j], i) => [runFiles[i][1], j] as const),
  ['conv-kernels.json', read('conv-kernels.json')],
]
  .filter(([, j]) => j == null)
  .map(([n]) => n);

const lines: string[] = [];
const date = (get(runs[0][1], 'date') as string | undefined) ?? new Date().toISOString();
lines.push(`## ${gpu}, ${date.slice(0, 16).replace('T', ' ')} UTC — one run, all rows from it`, '');
const size = get(runs[0][1], 'size');
lines.push(
  `Adapter: ${String(get(runs[0][1], 'adapter') ?? '—')}. ${String(get(runs[0][1], 'architecture') ?? 'resnet50')}, ${String(size)} × ${String(size)}, fp32.`,
);
if (missing.length) lines.push(`Missing (timed out or failed, see the .log files): ${missing.join(', ')}.`);
lines.push('');
lines.push(
  '| engine | batch | inference img/s (layers / folded / folded, pipelined) | training img/s (awaited / pipelined) | ms / step (CPU encoding) | GPU programs / step |',
  '|---|---|---|---|---|---|',
);
const best = { train: 0, infer: 0 };
const lastBatch = Math.max(
  ...runs.flatMap(([, j]) => ((j?.batches as number[] | undefined) ?? []).map(Number)),
  0,
);
for (const [label, j] of runs) {
  if (!j) continue;
  for (const b of (j.batches as number[] | undefined) ?? []) {
    const t = get(j, `train_b${b}`) as Json | undefined;
    const inf = [get(j, `infer_b${b}`), get(j, `infer_folded_b${b}`), get(j, `infer_folded_pipelined_b${b}`)];
    lines.push(
      `| ${label} | ${b} | ${inf.map((v) => num(v)).join(' / ')} | ${num(t?.imgPerSec, 1)} / ${num(t?.pipelinedImgPerSec, 1)} | ${num(t?.msPerStep, 1)} (${num(t?.encodeMsPerStep, 1)}) | ${num(t?.programsPerStep)} |`,
    );
    if (b === lastBatch) {
      best.train = Math.max(
        best.train,
        (t?.imgPerSec as number) ?? 0,
        (t?.pipelinedImgPerSec as number) ?? 0,
      );
      best.infer = Math.max(best.infer, ...inf.map((v) => (typeof v === 'number' ? v : 0)));
    }
  }
}
if (torch) {
  lines.push(
    `| PyTorch ${String(torch.torch)}, fp32, TF32 off, channels-last | ${String(torch.batch)} | ${num(torch.infer_img_s_fp32)} | ${num(torch.train_img_s_fp32)} | — | — |`,
    `| PyTorch, cuDNN TF32 on (its default for convolutions) | ${String(torch.batch)} | — | ${num(torch.train_img_s_cudnn_tf32)} | — | — |`,
  );
}
lines.push('');
const pct = (a: number, b: unknown): string =>
  typeof b === 'number' && b > 0 ? `${((100 * a) / b).toFixed(1)} %` : '—';
const atTarget = size === 224 && lastBatch === 32;
lines.push(
  atTarget
    ? `Best at batch 32: training **${num(best.train, 1)} img/s** (issue 12 target ≥ 400: ${best.train >= 400 ? 'met' : 'NOT met'}; ${pct(best.train, torch?.train_img_s_fp32)} of strict-fp32 PyTorch, ${pct(best.train, torch?.train_img_s_cudnn_tf32)} of TF32 PyTorch), inference **${num(best.infer)} img/s** (target ≥ 3,000: ${best.infer >= 3000 ? 'met' : 'NOT met'}; ${pct(best.infer, torch?.infer_img_s_fp32)} of strict-fp32 PyTorch).`
    : `Best at batch ${lastBatch}: training ${num(best.train, 1)} img/s, inference ${num(best.infer)} img/s (issue 12's targets apply at 224 px, batch 32 only).`,
  '',
);
const tm = read('train-model.json');
for (const [key, v] of Object.entries(tm ?? {}).filter(([k]) => k.startsWith('train_model_b'))) {
  const t = v as Json;
  lines.push(
    `\`trainModel\` itself (train-model.json, ${key.slice('train_model_'.length)}): **${num(t.imgPerSec, 1)} img/s** between onBatchEnd callbacks after the first 3 of ${num(t.batches)} batches; epoch ${num(t.totalSec, 1)} s with shader compilation; loss ${num(t.firstLoss, 4)} → ${num(t.lastLoss, 4)}.`,
    '',
  );
}
for (const [label, j] of runs) {
  for (const key of Object.keys(j ?? {}).filter((k) => k.startsWith('profile'))) {
    const p = get(j, key) as Json;
    const top = Object.entries((p.top as Record<string, { ms: number; n: number }>) ?? {}).slice(0, 8);
    lines.push(
      `${label}, ${key}: GPU time ${num(p.gpuMs, 1)} ms over ${num(p.tfjsKernels)} tfjs kernels; top: ${top.map(([k, v]) => `${k} ${num(v.ms, 1)} ms (×${v.n})`).join(', ')}.`,
      '',
    );
  }
}
const ck = read('conv-kernels.json');
const totals =
  ck && (Object.entries(ck).find(([k]) => k.startsWith('conv_kernels_b'))?.[1] as Json | undefined);
if (totals) {
  const t = totals.totals as Record<string, number>;
  lines.push(
    `Convolution kernels per training step (conv-kernels.json, all 53 layers, ms): forward stock ${num(t.forward, 2)} / GEMM ${num(t.forwardGemm, 2)}; input gradient naive ${num(t.inputGradNaive, 2)} / tiled ${num(t.inputGradTiled, 2)} / GEMM ${num(t.inputGradGemm, 2)}; filter gradient stock ${num(t.filterGradStock, 2)} / ours ${num(t.filterGradOurs, 2)} (${num(t.gflop, 1)} GFLOP per pass).`,
    '',
  );
}
console.log(lines.join('\n'));
