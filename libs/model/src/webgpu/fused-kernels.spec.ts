/**
 * The webgpu fast path's kernels against the `cpu` backend (1e-4 relative) on ResNet50 shapes at
 * small spatial sizes: batchNormTraining with and without fused ReLU (values, statistics, ∂x ∂γ ∂β),
 * the channel Sum kernel (the bias gradient of every convolution), the ReLU gradient; with their
 * program counts.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Rng } from '../rng';
import { batchNormTraining, channelReducePlan, countKernels } from '.';
import { relativeError } from '../spec-helpers';

// [N, H, W, C]: ResNet50 stages (64…2048 channels) at 32–64 px inputs, batch 2; and 48 channels
// (not a multiple of the 32-channel workgroup).
const SHAPES: Array<[number, number, number, number]> = [
  [2, 16, 16, 64],
  [2, 8, 8, 256],
  [2, 4, 4, 512],
  [2, 2, 2, 1024],
  [2, 1, 1, 2048],
  [3, 5, 5, 48],
  // Enough rows to be split over workgroups (partials + merge), as at 224 px: 2,048 rows in 4 chunks,
  // 12,544 in 24, and 1,601 in 3 of which the last is shorter.
  [2, 32, 32, 64],
  [4, 56, 56, 64],
  [1, 1601, 1, 40],
];
const EPS = 1.001e-5;

function normal(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => shift + scale * rng.normal());
}
const sizeOf = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** BN (optionally + ReLU) forward/backward: y, mean, variance, ∂x, ∂γ, ∂β of Σ(y·w). */
async function bn(shape: number[], seed: number, relu = false): Promise<Float32Array[]> {
  const c = shape[3];
  const x = tf.tensor(normal(sizeOf(shape), seed, 2, 0.7), shape);
  const w = tf.tensor(normal(sizeOf(shape), seed + 1), shape);
  const gamma = tf.tensor1d(normal(c, seed + 2, 0.2, 1));
  const beta = tf.tensor1d(normal(c, seed + 3));
  const kept: tf.Tensor[] = [];
  const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    const r = batchNormTraining(xi, g as tf.Tensor1D, b as tf.Tensor1D, EPS, { relu });
    kept.push(r.y.clone(), r.mean, r.variance);
    tf.keep(kept[0]);
    return tf.sum(tf.mul(r.y, w));
  })([x, gamma, beta]);
  const out = await Promise.all([...kept, ...grads].map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([x, w, gamma, beta, value, ...kept, ...grads]);
  return out;
}

/** Σ over all axes but the last, keepDims false and true, and a sum over another axis set. */
async function sums(shape: number[], seed: number): Promise<Float32Array[]> {
  const x = tf.tensor(normal(sizeOf(shape), seed), shape);
  const outs = [tf.sum(x, [0, 1, 2]), tf.sum(x, [2, 0, 1], true), tf.sum(x, [1, 2]), tf.sum(x)];
  const data = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([x, ...outs]);
  return data;
}

/** ReLU gradient of Σ(relu(x)·w) (x with exact zeros too). */
async function reluGrad(shape: number[], seed: number): Promise<Float32Array> {
  const v = normal(sizeOf(shape), seed);
  for (let i = 0; i < v.length; i += 7) v[i] = 0;
  const x = tf.tensor(v, shape);
  const w = tf.tensor(normal(sizeOf(shape), seed + 1), shape);
  const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.relu(xi), w)))(x);
  const data = (await g.data()) as Float32Array;
  tf.dispose([x, w, g]);
  return data;
}

describe('webgpu fast-path kernels agree with cpu on ResNet50 shapes', () => {
  const ref = {
    bn: [] as Float32Array[][],
    bnRelu: [] as Float32Array[][],
    sum: [] as Float32Array[][],
    relu: [] as Float32Array[],
  };
  beforeAll(async () => {
    await initBackend('cpu');
    for (const [i, s] of SHAPES.entries()) {
      ref.bn.push(await bn(s, 10 * i));
      ref.bnRelu.push(await bn(s, 10 * i + 3, true));
      ref.sum.push(await sums(s, 10 * i + 5));
      ref.relu.push(await reluGrad(s, 10 * i + 7));
    }
    await initBackend('webgpu');
  });

  it.each(SHAPES.map((s, i) => [s.join('×'), i] as const))('%s', async (_n, i) => {
    const shape = SHAPES[i];
    const before = tf.memory().numTensors;
    const gotBn = await bn(shape, 10 * i);
    gotBn.forEach((g, k) => expect(relativeError(g, ref.bn[i][k])).toBeLessThan(1e-4));
    const gotBnRelu = await bn(shape, 10 * i + 3, true);
    gotBnRelu.forEach((g, k) => expect(relativeError(g, ref.bnRelu[i][k])).toBeLessThan(1e-4));
    // ReLU really applied: some outputs are exactly 0, none negative.
    expect(gotBnRelu[0].reduce((a, b) => Math.min(a, b), Infinity)).toBe(0);
    (await sums(shape, 10 * i + 5)).forEach((g, k) =>
      expect(relativeError(g, ref.sum[i][k])).toBeLessThan(1e-4),
    );
    expect(relativeError(await reluGrad(shape, 10 * i + 7), ref.relu[i])).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('program counts: channel sum 1 (stock for few channels, many rows), ReLU gradient 1', async () => {
    const x = tf.ones([2, 8, 8, 256]);
    const { count: sum } = await countKernels(async () => {
      const s = tf.sum(x, [0, 1, 2]);
      await s.data();
      s.dispose();
    });
    expect(Object.fromEntries(sum.byProgram)).toEqual({ ChannelReduceProgram: 1 });
    // Few channels over many rows: the stock kernel (more parallel there).
    const narrow = tf.ones([8192, 4]);
    const { count: stock } = await countKernels(async () => {
      const s = tf.sum(narrow, 0);
      expect(Array.from(await s.data())).toEqual([8192, 8192, 8192, 8192]);
      s.dispose();
    });
    expect(stock.byProgram.get('ChannelReduceProgram')).toBeUndefined();
    narrow.dispose();
    const dy = tf.ones([2, 8, 8, 256]);
    const { count: relu } = await countKernels(async () => {
      const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.relu(xi), dy)))(x);
      await g.data();
      g.dispose();
    });
    // relu, mul, sum (forward); fill-free gradient of sum and mul; ReLU gradient.
    expect(relu.byProgram.get('ElementwiseProgram')).toBe(1);
    tf.dispose([x, dy]);
  });

  it('splits the rows of a reduction only where few channels meet many rows', async () => {
    // ResNet50 at 32 px, batch 1: ≤ 256 rows per channel, never split.
    expect(channelReducePlan(256, 64)).toEqual({ splits: 1, chunk: 256 });
    // The 64-channel stem at 224 px, batch 32: 2 channel groups × 256 chunks of 1,568 rows.
    expect(channelReducePlan(32 * 112 * 112, 64)).toEqual({ splits: 256, chunk: 1568 });
    // 2048 channels, 1,568 rows (the last stage): 64 channel groups, 3 chunks.
    expect(channelReducePlan(32 * 7 * 7, 2048).splits).toBe(3);
    const x = tf.ones([2, 32, 32, 64]);
    const { count } = await countKernels(async () => {
      const s = tf.sum(x, [0, 1, 2]);
      expect(Array.from(await s.data()).every((v) => v === 2048)).toBe(true);
      s.dispose();
    });
    expect(Object.fromEntries(count.byProgram)).toEqual({
      ChannelReduceProgram: 1,
      ChannelCombineProgram: 1,
    });
    x.dispose();
  });
});
