/**
 * The webgpu Conv2DBackpropFilter (implicit GEMM, split inner dimension) against the `cpu`
 * backend, on ResNet50's (and ResNet18's) convolution shapes at small spatial sizes. Runs on Mesa's
 * lavapipe where there is no GPU (scripts/ci/install-lavapipe.sh).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Rng } from '../rng';
import { countKernels, filterGradPlan } from '.';
import { errorStats } from '../spec-helpers';

interface Case {
  name: string;
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: 'same' | 'valid';
}

// ResNet50 (Keras layout): stem 7×7/2 valid on the zero-padded input; bottleneck 1×1 (stride 1 or
// 2, valid) and 3×3/1 same; ResNet18/tiny: 3×3/2 same. Plus uneven sizes that crop or pad.
const CASES: Case[] = [
  { name: 'conv1 7×7/2 valid 3→64', x: [2, 22, 22, 3], k: 7, co: 64, stride: 2, pad: 'valid' },
  { name: '1×1/1 64→256', x: [2, 8, 8, 64], k: 1, co: 256, stride: 1, pad: 'valid' },
  { name: '1×1/2 256→512 (conv3_block1_0)', x: [2, 8, 8, 256], k: 1, co: 512, stride: 2, pad: 'valid' },
  { name: '1×1/2 1024→2048 odd size', x: [2, 5, 5, 1024], k: 1, co: 64, stride: 2, pad: 'valid' },
  { name: '3×3/1 same 64→64', x: [2, 8, 8, 64], k: 3, co: 64, stride: 1, pad: 'same' },
  { name: '3×3/1 same 512→512', x: [2, 2, 2, 512], k: 3, co: 512, stride: 1, pad: 'same' },
  {
    name: '3×3/2 same 64→128 (even: pad bottom only)',
    x: [2, 8, 8, 64],
    k: 3,
    co: 128,
    stride: 2,
    pad: 'same',
  },
  { name: '3×3/2 same odd size', x: [3, 7, 9, 16], k: 3, co: 8, stride: 2, pad: 'same' },
  { name: '3×3/2 valid, last row unread', x: [2, 8, 8, 16], k: 3, co: 8, stride: 2, pad: 'valid' },
  // Inner dimension N·Ho·Wo long enough to be split into chunks summed by a second program.
  { name: '1×1/1 64→64 split (as at 224 px)', x: [2, 28, 28, 64], k: 1, co: 64, stride: 1, pad: 'valid' },
  { name: '3×3/1 same 64→64 split', x: [2, 24, 24, 64], k: 3, co: 64, stride: 1, pad: 'same' },
  { name: '7×7/2 valid 3→64 split (stem)', x: [2, 70, 70, 3], k: 7, co: 64, stride: 2, pad: 'valid' },
  {
    name: '3×3/2 same odd size split, partial tiles',
    x: [3, 37, 41, 20],
    k: 3,
    co: 72,
    stride: 2,
    pad: 'same',
  },
];

function normal(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

function outSize(h: number, k: number, s: number, pad: 'same' | 'valid'): number {
  return pad === 'same' ? Math.ceil(h / s) : Math.floor((h - k) / s) + 1;
}

async function filterGrad(c: Case, x: Float32Array, dy: Float32Array): Promise<Float32Array> {
  const [n, h, w, ci] = c.x;
  const oh = outSize(h, c.k, c.stride, c.pad);
  const ow = outSize(w, c.k, c.stride, c.pad);
  const xt = tf.tensor4d(x, c.x);
  const dyt = tf.tensor4d(dy, [n, oh, ow, c.co]);
  const out = tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: dyt }, {
    strides: [c.stride, c.stride],
    pad: c.pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape: [c.k, c.k, ci, c.co],
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  tf.dispose([xt, dyt, out]);
  return data;
}

/** Gradients [∂x, ∂W, ∂b] of Σ(fusedConv2d(x, W, b) · w): tfjs-layers' Conv2D with bias. */
async function fusedConvGrads(c: Case, seed: number): Promise<Float32Array[]> {
  const [n, h, w, ci] = c.x;
  const oh = outSize(h, c.k, c.stride, c.pad);
  const ow = outSize(w, c.k, c.stride, c.pad);
  const x = tf.tensor4d(normal(n * h * w * ci, seed), c.x);
  const filter = tf.tensor4d(normal(c.k * c.k * ci * c.co, seed + 1), [c.k, c.k, ci, c.co]);
  const bias = tf.tensor1d(normal(c.co, seed + 2));
  const weights = tf.tensor4d(normal(n * oh * ow * c.co, seed + 3), [n, oh, ow, c.co]);
  const grads = tf.grads((a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
    tf.sum(
      tf.mul(
        tf.fused.conv2d({
          x: a as tf.Tensor4D,
          filter: f as tf.Tensor4D,
          bias: b,
          strides: c.stride,
          pad: c.pad,
        }),
        weights,
      ),
    ),
  )([x, filter, bias]);
  const data = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
  tf.dispose([x, filter, bias, weights, ...grads]);
  return data;
}

describe('webgpu Conv2DBackpropFilter', () => {
  const expected: Float32Array[] = [];
  const inputs: Array<[Float32Array, Float32Array]> = [];

  const fused: Float32Array[][] = [];
  const FUSED = [1, CASES.findIndex((c) => c.name.includes('split'))];

  beforeAll(async () => {
    await initBackend('cpu');
    for (const i of FUSED) fused.push(await fusedConvGrads(CASES[i], 50 + i));
    for (const [i, c] of CASES.entries()) {
      const [n, h, w] = c.x;
      const oh = outSize(h, c.k, c.stride, c.pad);
      const ow = outSize(w, c.k, c.stride, c.pad);
      const x = normal(
        c.x.reduce((a, b) => a * b),
        10 + i,
      );
      const dy = normal(n * oh * ow * c.co, 100 + i);
      inputs.push([x, dy]);
      expected.push(await filterGrad(c, x, dy));
    }
    await initBackend('webgpu');
  });

  it.each(CASES.map((c, i) => [c.name, i] as const))('%s agrees with cpu to 1e-4 relative', async (_n, i) => {
    const got = await filterGrad(CASES[i], ...inputs[i]);
    const ref = expected[i];
    expect(got.length).toBe(ref.length);
    const { maxErr, maxRef } = errorStats(got, ref);
    expect(maxRef).toBeGreaterThan(0);
    expect(maxErr / maxRef).toBeLessThan(1e-4);
  });

  it('plans splits of the inner dimension only where the tiles alone would not fill a GPU', () => {
    const g = (n: number, hw: number, k: number, ci: number, co: number, s = 1) => ({
      n,
      h: hw * s,
      w: hw * s,
      ci,
      kh: k,
      kw: k,
      co,
      oh: hw,
      ow: hw,
      sh: s,
      sw: s,
      padTop: 0,
      padLeft: 0,
    });
    // ResNet50 at 32 px, batch 1: inner dimension ≤ 256, one program per filter gradient.
    expect(filterGradPlan(g(1, 8, 1, 64, 256)).splits).toBe(1);
    // 224 px, batch 32, conv2 1×1 64→64 (one 64×64 tile, 100,352 inner values): 392 chunks of 256.
    const small = filterGradPlan(g(32, 56, 1, 64, 64));
    expect(small).toMatchObject({ rows: 64, inner: 100_352, splits: 392, chunk: 256 });
    // conv5 3×3 512→512 (576 tiles) at 224 px, batch 32: no split needed.
    const big = filterGradPlan(g(32, 7, 3, 512, 512));
    expect(big.splits).toBe(1);
    expect(big.workgroups).toBeGreaterThanOrEqual(512);
    // Every chunk is a multiple of the staging depth and the chunks cover the inner dimension.
    for (const plan of [small, big, filterGradPlan(g(3, 37, 3, 16, 8, 2))]) {
      expect(plan.chunk % 16).toBe(0);
      expect(plan.splits * plan.chunk).toBeGreaterThanOrEqual(plan.inner);
      expect((plan.splits - 1) * plan.chunk).toBeLessThan(plan.inner);
    }
  });

  it('dispatches one GEMM program, plus one split sum where the inner dimension is split; leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const unsplit = await countKernels(() => filterGrad(CASES[2], ...inputs[2]));
    expect(Object.fromEntries(unsplit.count.byProgram)).toEqual({ FilterGradGemmProgram: 1 });
    const split = CASES.findIndex((c) => c.name.includes('split'));
    const two = await countKernels(() => filterGrad(CASES[split], ...inputs[split]));
    expect(Object.fromEntries(two.count.byProgram)).toEqual({ FilterGradGemmProgram: 1, SplitSumProgram: 1 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a fused conv2d with bias: its bias gradient comes from the filter-gradient program (no reduction of its own), equal to cpu', async () => {
    for (const [k, i] of FUSED.entries()) {
      const before = tf.memory().numTensors;
      const { result, count } = await countKernels(() => fusedConvGrads(CASES[i], 50 + i));
      result.forEach((g, j) => {
        const { maxErr, maxRef } = errorStats(g, fused[k][j]);
        expect(maxErr / maxRef).toBeLessThan(1e-4);
      });
      expect(count.byProgram.get('ChannelReduceProgram')).toBeUndefined();
      expect(count.byProgram.get('ReduceProgram')).toBe(1); // the test's own Σ to a scalar
      expect(count.byProgram.get('FilterGradGemmProgram')).toBe(1);
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
