/**
 * `Conv2DBackpropInput` on webgpu: tfjs-backend-webgpu 4.x has two programs — a naive one (one
 * thread per input-gradient element looping over kh·kw·Cout; its default) and a tiled matrix-product
 * one (Conv2DDerInputMMProgram, channels-last, chosen when the flag WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE
 * is off). Both agree with the cpu backend to < 1e-6 relative on ResNet50's shapes
 * (conv-input-grad.spec.ts). This wrapper picks the tiled program for large gradients — every
 * ResNet50 layer at 224 px, batch 32, where 32×32 tiles fill a GPU — and the naive one for small
 * ones (on lavapipe the tiled program was 7× slower at 32 px, batch 2: mostly empty tiles).
 * Which is faster on a real GPU per shape is measured by bench/gpu-train `--conv-kernels`, which
 * also times our implicit GEMM (`ConvGemmProgram` 'input-grad', used while `useWebGpuConvGemm(true)`).
 */
import * as tf from '@tensorflow/tfjs';
import { convGeometry } from '../conv-geometry';
import { runConvGemm, webGpuConvGemmEnabled } from './conv-forward';
import { replaceWebGpuKernel } from './raw';

const FLAG = 'WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE';
/** Input-gradient elements from which the tiled program is used (256 tiles of 32 × 32). */
export const TILED_INPUT_GRAD_MIN_ELEMENTS = 256 * 32 * 32;

/** tfjs' naive or tiled program, or our implicit GEMM (conv-forward.ts, opt-in). */
export type ConvInputGradProgram = 'naive' | 'tiled' | 'gemm';

let forced: ConvInputGradProgram | null = null;

/** Forces one program for every call (benches comparing them); null restores the rules. */
export function forceConvInputGradProgram(program: ConvInputGradProgram | null): void {
  forced = program;
}

/**
 * The program used for an input gradient of `inputShape` (NHWC): forced, else our GEMM while
 * `useWebGpuConvGemm(true)`, else tiled from TILED_INPUT_GRAD_MIN_ELEMENTS elements, else naive.
 */
export function convInputGradProgram(inputShape: number[]): ConvInputGradProgram {
  if (forced) return forced;
  if (webGpuConvGemmEnabled()) return 'gemm';
  return tf.util.sizeFromShape(inputShape) >= TILED_INPUT_GRAD_MIN_ELEMENTS ? 'tiled' : 'naive';
}

let registered = false;

/** Wraps the stock webgpu kernel with the size rule above. Idempotent; needs the webgpu backend. */
export function registerWebGpuConvInputGradient(): void {
  if (registered) return;
  replaceWebGpuKernel('Conv2DBackpropInput', (stock) => (args) => {
    const program = convInputGradProgram(args.attrs.inputShape as number[]);
    const { dy, filter } = args.inputs;
    const { attrs } = args;
    if (
      program === 'gemm' &&
      (attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC') &&
      dy.dtype === 'float32' &&
      filter.dtype === 'float32'
    ) {
      const g = convGeometry(attrs.inputShape as number[], filter.shape, attrs);
      return runConvGemm(args.backend, dy, filter, undefined, g, false, 'input-grad');
    }
    const naive = program === 'naive';
    const env = tf.env();
    const before = env.getBool(FLAG);
    env.set(FLAG, naive);
    try {
      return stock(args);
    } finally {
      env.set(FLAG, before);
    }
  });
  registered = true;
}
