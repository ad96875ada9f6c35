/**
 * The implicit-GEMM FusedConv2D (conv-forward.ts) against the `cpu` backend on
 * ResNet50's convolution shapes — bias, linear and ReLU, stride 2, 'same', 'valid' and explicit pads
 * (what compileInference passes) — and where its default mode ('auto') uses it.
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../architectures';
import { initBackend } from '../backends';
import { compileInference } from '../inference';
import { Rng } from '../rng';
import { randomiseStatistics, errorStats } from '../spec-helpers';
import { countKernels, forceConvInputGradProgram, makeTrainingStep, useWebGpuConvGemm } from '.';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: Pad;
  relu: boolean;
  bias: boolean;
}
const CASES: Case[] = [
  { x: [2, 22, 22, 3], k: 7, co: 64, stride: 2, pad: 'valid', relu: true, bias: true },
  {
    x: [2, 16, 16, 3],
    k: 7,
    co: 64,
    stride: 2,
    pad: [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ],
    relu: true,
    bias: true,
  },
  { x: [2, 8, 8, 64], k: 1, co: 256, stride: 1, pad: 'valid', relu: false, bias: true },
  { x: [2, 8, 8, 256], k: 1, co: 128, stride: 2, pad: 'valid', relu: true, bias: true },
  { x: [2, 8, 8, 64], k: 3, co: 64, stride: 1, pad: 'same', relu: true, bias: false },
  { x: [2, 2, 2, 512], k: 3, co: 512, stride: 1, pad: 'same', relu: false, bias: true },
  { x: [3, 7, 9, 20], k: 3, co: 72, stride: 2, pad: 'same', relu: true, bias: true },
  { x: [1, 5, 5, 1024], k: 1, co: 2048, stride: 2, pad: 'valid', relu: false, bias: false },
];

function normal(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

async function conv(c: Case, i: number): Promise<Float32Array> {
  const x = tf.tensor4d(
    normal(
      c.x.reduce((a, b) => a * b),
      10 + i,
    ),
    c.x,
  );
  const filter = tf.tensor4d(normal(c.k * c.k * c.x[3] * c.co, 40 + i), [c.k, c.k, c.x[3], c.co]);
  const bias = c.bias ? tf.tensor1d(normal(c.co, 70 + i)) : undefined;
  const y = tf.fused.conv2d({
    x,
    filter,
    bias,
    strides: c.stride,
    pad: c.pad,
    activation: c.relu ? 'relu' : 'linear',
  });
  const data = (await y.data()) as Float32Array;
  tf.dispose([x, filter, y, ...(bias ? [bias] : [])]);
  return data;
}

describe('webgpu implicit-GEMM FusedConv2D (opt-in)', () => {
  const ref: Float32Array[] = [];
  beforeAll(async () => {
    await initBackend('cpu');
    for (const [i, c] of CASES.entries()) ref.push(await conv(c, i));
    await initBackend('webgpu');
  });
  afterEach(() => {
    useWebGpuConvGemm('auto');
    forceConvInputGradProgram(null);
  });

  it.each(CASES.map((c, i) => [JSON.stringify(c), i] as const))(
    '%s agrees with cpu to 1e-4',
    async (_n, i) => {
      useWebGpuConvGemm(true);
      const { result, count } = await countKernels(() => conv(CASES[i], i));
      const { maxErr, maxRef } = errorStats(result, ref[i]);
      expect(maxRef).toBeGreaterThan(0);
      expect(maxErr / maxRef).toBeLessThan(1e-4);
      expect(Object.fromEntries(count.byProgram)).toEqual({ ConvGemmProgram: 1 });
    },
  );

  it("'auto' by default: kernels larger than 1×1 and strides run it, 1×1 stride 1 keeps tfjs' program", async () => {
    const gemmPrograms = async (i: number): Promise<number | undefined> =>
      (await countKernels(() => conv(CASES[i], i))).count.byProgram.get('ConvGemmProgram');
    expect(await gemmPrograms(2)).toBeUndefined(); // 1×1/1
    expect(await gemmPrograms(3)).toBe(1); // 1×1/2
    expect(await gemmPrograms(4)).toBe(1); // 3×3/1
    useWebGpuConvGemm('off');
    expect(await gemmPrograms(4)).toBeUndefined();
  });

  it('compileInference through it equals the layers model (ResNet50, 32 px) to 1e-4', async () => {
    const model = createModel({ architecture: 'resnet50', inputSize: 32, seed: 4 });
    randomiseStatistics(model, 9);
    const x = tf.tensor4d(normal(2 * 32 * 32 * 3, 3), [2, 32, 32, 3]);
    const ref = model.apply(x, { training: false }) as tf.Tensor;
    useWebGpuConvGemm(true);
    const graph = compileInference(model);
    const { result: got, count } = await countKernels(async () => {
      const y = graph.logits(x);
      const d = (await y.data()) as Float32Array;
      y.dispose();
      return d;
    });
    const r = (await ref.data()) as Float32Array;
    const { maxErr, maxRef } = errorStats(got, r);
    expect(maxErr / maxRef).toBeLessThan(1e-4);
    expect(count.byProgram.get('ConvGemmProgram')).toBe(53);
    tf.dispose([x, ref]);
    graph.dispose();
    model.dispose();
  }, 120_000);

  it('training steps through the GEMM convolutions (forward and input gradient) match the stock programs', async () => {
    // Plain SGD, so each weight's change is −lr·gradient: every layer's gradient is compared.
    const losses: number[][] = [];
    const deltas: Float32Array[][] = [];
    const counts: Array<Map<string, number>> = [];
    // tfjs' programs throughout (forward: off; input gradient: tiled), ours everywhere, the default.
    for (const mode of ['off', 'all', 'auto'] as const) {
      useWebGpuConvGemm(mode);
      forceConvInputGradProgram(mode === 'off' ? 'tiled' : null);
      const model = createModel({ architecture: 'resnet18', inputSize: 32, seed: 6 });
      const before = await Promise.all(
        model.trainableWeights.map(async (w) => (await w.read().data()) as Float32Array),
      );
      const step = makeTrainingStep(model, { fast: true, lr: 1e-2, optimizer: { kind: 'sgd' } });
      const x = tf.tensor4d(normal(4 * 32 * 32 * 3, 12), [4, 32, 32, 3]);
      const y = tf.tensor1d([0, 1, 1, 0], 'int32');
      const run: number[] = [];
      for (let i = 0; i < 2; i++) {
        const { result, count } = await countKernels(() => step.run(x, y));
        run.push(result);
        if (i === 1) counts.push(count.byProgram);
      }
      losses.push(run);
      const after = await Promise.all(
        model.trainableWeights.map(async (w) => (await w.read().data()) as Float32Array),
      );
      deltas.push(after.map((a, k) => a.map((v, e) => v - before[k][e])));
      tf.dispose([x, y]);
      step.dispose();
      model.dispose();
    }
    for (const m of [1, 2]) {
      losses[m].forEach((l, i) =>
        expect(Math.abs(l - losses[0][i]) / Math.abs(losses[0][i])).toBeLessThan(1e-4),
      );
      deltas[m].forEach((d, k) => {
        const { maxErr, maxRef } = errorStats(d, deltas[0][k]);
        // Every layer moved, by the same step on each path (1e-3: two steps of float32 rounding).
        expect(maxRef).toBeGreaterThan(0);
        expect(maxErr / maxRef).toBeLessThan(1e-3);
      });
    }
    expect(counts[0].get('ConvGemmProgram')).toBeUndefined();
    // ResNet18: 20 convolutions forward + 19 input gradients (not the stem's).
    expect(counts[1].get('ConvGemmProgram')).toBe(20 + 19);
    // 'auto': all 20 forward (stem 7×7/2, sixteen 3×3, three 1×1/2) + the 13 stride-1 3×3 input
    // gradients (flipped-filter GEMM, one flip program each); the three 1×1/2 ones by matmul.
    expect(counts[2].get('ConvGemmProgram')).toBe(20 + 13);
  }, 300_000);
});
