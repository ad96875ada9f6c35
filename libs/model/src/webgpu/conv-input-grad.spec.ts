/**
 * Conv2DBackpropInput on webgpu after `initBackend('webgpu')` — tfjs' naive program for small input
 * gradients, its tiled matrix-product program for large ones (conv-input-grad.ts) — against the `cpu`
 * backend on ResNet50's convolution shapes, each case through both programs.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Rng } from '../rng';
import { convGeometry } from '../conv-geometry';
import { convInputGradProgram, countKernels, forceConvInputGradProgram, useWebGpuConvGemm } from '.';
import { errorStats } from '../spec-helpers';

// [input shape, kernel, output channels, stride, padding]: the stem, bottleneck 1×1 (stride 1 and
// 2), 3×3 same, ResNet18's 3×3/2, and an odd size.
const CASES: Array<[[number, number, number, number], number, number, number, 'same' | 'valid']> = [
  [[2, 22, 22, 3], 7, 64, 2, 'valid'],
  [[2, 8, 8, 64], 1, 256, 1, 'valid'],
  [[2, 8, 8, 256], 1, 512, 2, 'valid'],
  [[2, 5, 5, 1024], 1, 64, 2, 'valid'],
  [[2, 8, 8, 64], 3, 64, 1, 'same'],
  [[2, 2, 2, 512], 3, 512, 1, 'same'],
  [[2, 8, 8, 64], 3, 128, 2, 'same'],
  [[3, 7, 9, 16], 3, 8, 2, 'same'],
  // Large enough for the tiled program by the size rule (≥ 262,144 gradient elements).
  [[4, 32, 32, 64], 3, 64, 1, 'same'],
  // Odd channel counts; an even kernel with 'same' padding (one row more below than above).
  [[2, 5, 6, 3], 1, 7, 1, 'valid'],
  [[2, 6, 7, 5], 2, 9, 1, 'same'],
  [[2, 28, 28, 256], 1, 128, 2, 'valid'],
];

function normal(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

async function inputGrad(i: number): Promise<Float32Array> {
  const [shape, k, co, s, pad] = CASES[i];
  const info = tf.backend_util.computeConv2DInfo(shape, [k, k, shape[3], co], s, 1, pad);
  const dyShape: [number, number, number, number] = [info.batchSize, info.outHeight, info.outWidth, co];
  const dy = tf.tensor4d(
    normal(
      dyShape.reduce((a, b) => a * b),
      10 + i,
    ),
    dyShape,
  );
  const filter = tf.tensor4d(normal(k * k * shape[3] * co, 60 + i), [k, k, shape[3], co]);
  const dx = tf.conv2dTranspose(dy, filter, shape, s, pad);
  const data = (await dx.data()) as Float32Array;
  tf.dispose([dy, filter, dx]);
  return data;
}

describe('webgpu Conv2DBackpropInput', () => {
  const ref: Float32Array[] = [];
  beforeAll(async () => {
    await initBackend('cpu');
    for (let i = 0; i < CASES.length; i++) ref.push(await inputGrad(i));
    await initBackend('webgpu');
  });

  afterEach(() => forceConvInputGradProgram(null));

  /** The geometry the program rule sees for case i (a strided 1×1 one: its stride-1 grid part). */
  function ruleGeometry(i: number): ReturnType<typeof convGeometry> {
    const [shape, k, co, s, pad] = CASES[i];
    const g = convGeometry(shape, [k, k, shape[3], co], { strides: s, pad });
    const strided1x1 = k === 1 && s > 1 && pad === 'valid';
    return strided1x1 ? convGeometry([g.n, g.oh, g.ow, g.ci], [1, 1, g.ci, co], { strides: 1, pad }) : g;
  }

  const PROGRAMS = ['naive', 'tiled', 'gemm', 'matmul', 'flip-gemm'] as const;

  it.each(CASES.map((c, i) => [JSON.stringify(c), i] as const))(
    '%s agrees with cpu to 1e-4 through each program (naive, tiled, GEMM, matmul, flipped-filter GEMM)',
    async (_n, i) => {
      const [, k, , s, pad] = CASES[i];
      // Strided 1×1 (no padding): the gradient on the stride grid, then spread with zeros.
      const spread = k === 1 && s > 1 && pad === 'valid' ? 1 : 0;
      for (const program of PROGRAMS) {
        forceConvInputGradProgram(program);
        const used = convInputGradProgram(ruleGeometry(i));
        const { result, count } = await countKernels(() => inputGrad(i));
        const { maxErr, maxRef } = errorStats(result, ref[i]);
        expect(maxRef).toBeGreaterThan(0);
        expect(maxErr / maxRef).toBeLessThan(1e-4);
        const p = Object.fromEntries(count.byProgram);
        if (used === 'matmul') {
          // One tfjs matrix-product program (which one depends on the sizes), nothing else.
          expect(count.total).toBe(1 + spread);
          expect(Object.keys(p).filter((n) => n.startsWith('MatMul'))).toHaveLength(1);
        } else {
          expect(p).toEqual({
            ...(used === 'tiled'
              ? { Conv2DDerInputMMProgram: 1 }
              : used === 'naive'
                ? { Conv2DDerInputProgram: 1 }
                : { ConvGemmProgram: 1 }),
            ...(used === 'flip-gemm' || spread
              ? { ElementwiseProgram: (used === 'flip-gemm' ? 1 : 0) + spread }
              : {}),
          });
        }
      }
    },
    60_000,
  );

  it('rules: stride 1 → matmul (1×1) or flipped-filter GEMM; strided → tiled when large, else naive', async () => {
    const geo = (x: number[], k: number, co: number, s: number, pad: 'same' | 'valid') =>
      convGeometry(x, [k, k, x[3], co], { strides: s, pad });
    expect(convInputGradProgram(geo([32, 14, 14, 1024], 1, 256, 1, 'valid'))).toBe('matmul');
    expect(convInputGradProgram(geo([32, 14, 14, 256], 3, 256, 1, 'same'))).toBe('flip-gemm');
    expect(convInputGradProgram(geo([1, 2, 2, 512], 3, 512, 1, 'same'))).toBe('flip-gemm');
    expect(convInputGradProgram(geo([32, 56, 56, 64], 3, 128, 2, 'same'))).toBe('tiled');
    expect(convInputGradProgram(geo([2, 8, 8, 64], 3, 128, 2, 'same'))).toBe('naive');
    // A forced program that does not apply falls back to the rules.
    forceConvInputGradProgram('matmul');
    expect(convInputGradProgram(geo([32, 14, 14, 256], 3, 256, 1, 'same'))).toBe('flip-gemm');
    forceConvInputGradProgram(null);
    useWebGpuConvGemm('all');
    try {
      expect(convInputGradProgram(geo([32, 14, 14, 1024], 1, 256, 1, 'valid'))).toBe('gemm');
    } finally {
      useWebGpuConvGemm('auto');
    }
    // 1×1 stride 2 (case [2, 28, 28, 256] → 128): the grid part [2, 14, 14, 256] by matmul, spread.
    const { count: strided } = await countKernels(() => inputGrad(CASES.length - 1));
    expect(strided.total).toBe(2);
    expect(strided.byProgram.get('ElementwiseProgram')).toBe(1);
  });
});
