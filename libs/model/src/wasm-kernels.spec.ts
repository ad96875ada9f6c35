import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backends';
import { Rng } from './rng';
import { setWasmKernelBlockFloats } from './wasm-kernels';

interface Case {
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: 'same' | 'valid';
}

const cases: Case[] = [
  { x: [2, 8, 8, 5], k: 1, co: 7, stride: 1, pad: 'valid' },
  { x: [2, 9, 9, 6], k: 1, co: 4, stride: 2, pad: 'same' },
  { x: [2, 8, 8, 6], k: 1, co: 4, stride: 2, pad: 'valid' },
  { x: [2, 8, 8, 4], k: 3, co: 6, stride: 1, pad: 'same' },
  { x: [2, 9, 7, 4], k: 3, co: 5, stride: 1, pad: 'valid' },
  { x: [3, 10, 10, 3], k: 3, co: 8, stride: 2, pad: 'same' },
  { x: [1, 11, 11, 4], k: 3, co: 3, stride: 2, pad: 'valid' },
  { x: [2, 16, 16, 3], k: 7, co: 8, stride: 2, pad: 'same' },
  { x: [1, 13, 12, 2], k: 7, co: 4, stride: 1, pad: 'valid' },
  { x: [2, 12, 12, 3], k: 7, co: 4, stride: 1, pad: 'same' },
  // Deep-layer shapes with fewer output positions than patch entries (M < K: swapped product).
  { x: [1, 3, 3, 16], k: 3, co: 8, stride: 1, pad: 'same' },
  { x: [2, 2, 2, 32], k: 1, co: 12, stride: 1, pad: 'valid' },
  { x: [2, 4, 4, 16], k: 3, co: 8, stride: 2, pad: 'same' },
  { x: [1, 5, 5, 16], k: 3, co: 4, stride: 1, pad: 'valid' },
];

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** dL/dx and dL/dw for L = sum(conv2d(x, w) * r) on the current backend. */
function convGrads(
  c: Case,
  x: Float32Array,
  w: Float32Array,
  r: Float32Array,
): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, c.x);
    const wt = tf.tensor4d(w, [c.k, c.k, c.x[3], c.co]);
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
      return tf.sum(tf.mul(y, tf.tensor(r, y.shape)));
    };
    const [dx, dw] = tf.grads(f)([xt, wt]);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function outSize(c: Case): number {
  const o = (n: number): number =>
    c.pad === 'same' ? Math.ceil(n / c.stride) : Math.ceil((n - c.k + 1) / c.stride);
  return c.x[0] * o(c.x[1]) * o(c.x[2]) * c.co;
}

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

describe('wasm training kernels', () => {
  afterAll(async () => {
    await initBackend('wasm');
  });

  it.each(cases.map((c) => [`x=${c.x.join('x')} k=${c.k} s=${c.stride} ${c.pad}`, c] as const))(
    'Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend: %s',
    async (_name, c) => {
      const rng = new Rng(c.x[1] * 31 + c.k * 7 + c.stride);
      const x = randomArray(
        rng,
        c.x.reduce((p, q) => p * q, 1),
      );
      const w = randomArray(rng, c.k * c.k * c.x[3] * c.co);
      const r = randomArray(rng, outSize(c));

      await initBackend('cpu');
      const ref = convGrads(c, x, w, r);
      await initBackend('wasm');
      const got = convGrads(c, x, w, r);

      expect(got.dx.length).toBe(ref.dx.length);
      expect(got.dw.length).toBe(ref.dw.length);
      expect(maxRelErr(got.dw, ref.dw)).toBeLessThan(1e-4);
      expect(maxRelErr(got.dx, ref.dx)).toBeLessThan(1e-4);
    },
  );

  it.each([
    ['3x3 same', { x: [5, 9, 9, 4], k: 3, co: 4, stride: 1, pad: 'same' } as Case],
    ['1x1 stride 1', { x: [5, 6, 6, 4], k: 1, co: 3, stride: 1, pad: 'valid' } as Case],
    ['deep 3x3, patches-first layout', { x: [5, 2, 2, 16], k: 3, co: 16, stride: 1, pad: 'same' } as Case],
  ])('accumulates over several im2col blocks (%s)', async (_name, c) => {
    const rng = new Rng(99);
    const x = randomArray(
      rng,
      c.x.reduce((p, q) => p * q, 1),
    );
    const w = randomArray(rng, c.k * c.k * c.x[3] * c.co);
    const r = randomArray(rng, outSize(c));
    await initBackend('cpu');
    const ref = convGrads(c, x, w, r);
    await initBackend('wasm');
    // Two images per block: blocks of 2, 2 and 1 images.
    const old = setWasmKernelBlockFloats(2 * c.x[1] * c.x[2] * c.k * c.k * c.x[3]);
    try {
      const got = convGrads(c, x, w, r);
      expect(maxRelErr(got.dw, ref.dw)).toBeLessThan(1e-4);
      expect(maxRelErr(got.dx, ref.dx)).toBeLessThan(1e-4);
    } finally {
      setWasmKernelBlockFloats(old);
    }
  });
});

describe('wasm per-channel Sum and Mean', () => {
  const shape: [number, number, number, number] = [3, 5, 4, 7];
  const rng = new Rng(5);
  const data = Float32Array.from({ length: 3 * 5 * 4 * 7 }, () => rng.normal() * 3);

  function reductions(): Float32Array[] {
    return tf.tidy(() => {
      const x = tf.tensor4d(data, shape);
      const xi = tf.tensor4d(
        Int32Array.from(data, (v) => Math.round(v)),
        shape,
        'int32',
      );
      return [
        tf.sum(x, [0, 1, 2]),
        tf.mean(x, [0, 1, 2]),
        tf.mean(x, [2, 0, 1], true),
        tf.sum(x, [-4, -3, -2], true),
        tf.sum(x, -1),
        tf.mean(x, [1, 2]),
        tf.sum(x),
        tf.sum(tf.reshape(x, [60, 7]), 0),
        tf.sum(tf.reshape(x, [6, 70]), 0),
        tf.sum(xi, [0, 1, 2]),
      ].map((t) => {
        expect(t.shape.length).toBeGreaterThanOrEqual(0);
        return Float32Array.from(t.dataSync());
      });
    });
  }

  it('per-channel fast path and delegated reductions match the cpu backend (values and shapes)', async () => {
    await initBackend('cpu');
    const ref = reductions();
    const refShapes = tf.tidy(() => [
      tf.mean(tf.zeros(shape), [2, 0, 1], true).shape,
      tf.sum(tf.zeros(shape), [0, 1, 2]).shape,
    ]);
    await initBackend('wasm');
    const got = reductions();
    const gotShapes = tf.tidy(() => [
      tf.mean(tf.zeros(shape), [2, 0, 1], true).shape,
      tf.sum(tf.zeros(shape), [0, 1, 2]).shape,
    ]);
    expect(gotShapes).toEqual(refShapes);
    expect(got.map((a) => a.length)).toEqual(ref.map((a) => a.length));
    got.forEach((a, i) => expect(maxRelErr(a, ref[i])).toBeLessThan(1e-5));
  });
});
