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
 * Strided 1×1 convolutions (no padding) take a shortcut: see `isStridedPointwise`.
 */
import * as tf from '@tensorflow/tfjs';
import {
  CONV_GEOMETRY_UNIFORMS,
  convGeometry,
  convGeometryUniforms,
  type ConvGeometry,
} from '../conv-geometry';
import { runConvGemm, webGpuConvGemmEnabled } from './conv-forward';
import { ElementwiseProgram } from './fused-adam';
import { replaceWebGpuKernel, type WebGpuKernelFn } from './raw';

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

/**
 * A 1×1 convolution with stride > 1 and no padding reads only the input pixels on its stride grid,
 * so its input gradient is zero everywhere else: at stride 2 three quarters of it. The stock
 * programs (and our GEMM) still run the whole (fy, fx, o) loop for every input pixel; here the
 * gradient at the grid pixels — a stride-1 1×1 input gradient on [N, Ho, Wo, Cin] — is computed
 * first (a quarter of the work at stride 2), then spread onto the grid with zeros elsewhere (one
 * elementwise program). ResNet50 has six such layers (the stride-2 1×1 convolutions of stages 3–5).
 */
export function isStridedPointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.padTop === 0 && g.padLeft === 0 && (g.sh > 1 || g.sw > 1);
}

/** dx [N, H, W, Cin] from the grid values `dense` [N, Ho, Wo, Cin]: dense at (oy·sh, ox·sw), else 0. */
function spreadOnStrideGrid(
  backend: Parameters<WebGpuKernelFn>[0]['backend'],
  dense: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const prog = new ElementwiseProgram(
    [g.n, g.h, g.w, g.ci],
    ['D'],
    CONV_GEOMETRY_UNIFORMS,
    `let c = index % uniforms.ci;
          let p = index / uniforms.ci;
          let ix = p % uniforms.w;
          let q = p / uniforms.w;
          let iy = q % uniforms.h;
          let n = q / uniforms.h;
          var r = 0.0;
          if (iy % uniforms.sh == 0 && ix % uniforms.sw == 0) {
            let oy = iy / uniforms.sh;
            let ox = ix / uniforms.sw;
            if (oy < uniforms.oh && ox < uniforms.ow) {
              r = D[((n * uniforms.oh + oy) * uniforms.ow + ox) * uniforms.ci + c];
            }
          }`,
    'fundus_stride_grid_spread',
  );
  return backend.runWebGPUProgram(prog, [dense], 'float32', convGeometryUniforms(g));
}

let registered = false;

/** Wraps the stock webgpu kernel with the rules above. Idempotent; needs the webgpu backend. */
export function registerWebGpuConvInputGradient(): void {
  if (registered) return;
  replaceWebGpuKernel('Conv2DBackpropInput', (stock) => {
    const inputGrad: WebGpuKernelFn = (args) => {
      const { dy, filter } = args.inputs;
      const { attrs } = args;
      const nhwc = attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';
      const f32 = dy.dtype === 'float32' && filter.dtype === 'float32';
      const inputShape = attrs.inputShape as number[];
      if (nhwc && f32 && filter.shape[0] === 1 && filter.shape[1] === 1) {
        const g = convGeometry(inputShape, filter.shape, attrs);
        if (isStridedPointwise(g) && g.n * g.oh * g.ow * g.ci > 0) {
          const dense = inputGrad({
            ...args,
            attrs: { ...attrs, strides: [1, 1], pad: 'valid', inputShape: [g.n, g.oh, g.ow, g.ci] },
          });
          try {
            return spreadOnStrideGrid(args.backend, dense, g);
          } finally {
            args.backend.disposeData(dense.dataId);
          }
        }
      }
      const program = convInputGradProgram(inputShape);
      if (program === 'gemm' && nhwc && f32) {
        const g = convGeometry(inputShape, filter.shape, attrs);
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
    };
    return inputGrad;
  });
  registered = true;
}
