/**
 * Conv2DBackpropInput on webgpu after `initBackend('webgpu')` — tfjs' naive program for small input
 * gradients, its tiled matrix-product program for large ones (conv-input-grad.ts) — against the `cpu`
 * backend on ResNet50's convolution shapes, each case through both programs.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Rng } from '../rng';
import { convInputGradProgram, countKernels, forceConvInputGradProgram } from '.';
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

  it.each(CASES.map((c, i) => [JSON.stringify(c), i] as const))(
    '%s agrees with cpu to 1e-4 through each program (naive, tiled, our GEMM)',
    async (_n, i) => {
      for (const program of ['naive', 'tiled', 'gemm'] as const) {
        forceConvInputGradProgram(program);
        const { result, count } = await countKernels(() => inputGrad(i));
        const { maxErr, maxRef } = errorStats(result, ref[i]);
        expect(maxRef).toBeGreaterThan(0);
        expect(maxErr / maxRef).toBeLessThan(1e-4);
        const [, k, , s, pad] = CASES[i];
        // Strided 1×1 (no padding): the gradient on the stride grid, then spread with zeros.
        const spread = k === 1 && s > 1 && pad === 'valid' ? { ElementwiseProgram: 1 } : {};
        expect(Object.fromEntries(count.byProgram)).toEqual({
          ...(program === 'tiled'
            ? { Conv2DDerInputMMProgram: 1 }
            : program === 'gemm'
              ? { ConvGemmProgram: 1 }
              : { Conv2DDerInputProgram: 1 }),
          ...spread,
        });
      }
    },
    60_000,
  );

  it('picks the tiled program for large gradients (all of ResNet50 at 224 px, batch 32), naive for small', async () => {
    expect(convInputGradProgram([32, 7, 7, 512])).toBe('tiled'); // the smallest at 224 px, batch 32
    expect(convInputGradProgram([1, 16, 16, 64])).toBe('naive'); // 32 px, batch 1
    const big = CASES.length - 2;
    const { count } = await countKernels(() => inputGrad(big));
    expect(Object.fromEntries(count.byProgram)).toEqual({ Conv2DDerInputMMProgram: 1 });
    const { count: small } = await countKernels(() => inputGrad(1));
    expect(Object.fromEntries(small.byProgram)).toEqual({ Conv2DDerInputProgram: 1 });
    // 1×1 stride 2: the rule sees the grid gradient [2, 14, 14, 256] (naive), not [2, 28, 28, 256].
    const { count: strided } = await countKernels(() => inputGrad(CASES.length - 1));
    expect(Object.fromEntries(strided.byProgram)).toEqual({
      Conv2DDerInputProgram: 1,
      ElementwiseProgram: 1,
    });
  });
});
