/**
 * The webgpu Conv2DBackpropFilter (matmul / batch-as-channels convolution) against the `cpu`
 * backend, on ResNet50's (and ResNet18's) convolution shapes at small spatial sizes. Runs on Mesa's
 * lavapipe where there is no GPU (scripts/ci/install-lavapipe.sh).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Rng } from '../rng';
import { countKernels, filterGradPath } from '.';

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

describe('webgpu Conv2DBackpropFilter', () => {
  const expected: Float32Array[] = [];
  const inputs: Array<[Float32Array, Float32Array]> = [];

  beforeAll(async () => {
    await initBackend('cpu');
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
    let maxRef = 0;
    let maxErr = 0;
    for (let j = 0; j < ref.length; j++) {
      maxRef = Math.max(maxRef, Math.abs(ref[j]));
      maxErr = Math.max(maxErr, Math.abs(got[j] - ref[j]));
    }
    expect(maxRef).toBeGreaterThan(0);
    expect(maxErr / maxRef).toBeLessThan(1e-4);
  });

  it('dispatches a matmul for 1×1 filters and a convolution for k×k, leaking no tensors', async () => {
    expect(
      filterGradPath({
        n: 1,
        h: 8,
        w: 8,
        ci: 4,
        kh: 1,
        kw: 1,
        co: 4,
        oh: 4,
        ow: 4,
        sh: 2,
        sw: 2,
        padTop: 0,
        padLeft: 0,
      }),
    ).toBe('matmul');
    expect(
      filterGradPath({
        n: 1,
        h: 8,
        w: 8,
        ci: 4,
        kh: 3,
        kw: 3,
        co: 4,
        oh: 8,
        ow: 8,
        sh: 1,
        sw: 1,
        padTop: 1,
        padLeft: 1,
      }),
    ).toBe('conv');
    const before = tf.memory().numTensors;
    const one = await countKernels(() => filterGrad(CASES[2], ...inputs[2]));
    expect([...one.count.byProgram.keys()].some((k) => /MatMul/.test(k))).toBe(true);
    expect([...one.count.byProgram.keys()].some((k) => /Conv2DDerFilter/.test(k))).toBe(false);
    const three = await countKernels(() => filterGrad(CASES[4], ...inputs[4]));
    expect([...three.count.byProgram.keys()].some((k) => /Conv2D(MM|Naive)|Im2Col/.test(k))).toBe(true);
    expect([...three.count.byProgram.keys()].some((k) => /Conv2DDerFilter/.test(k))).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });
});
