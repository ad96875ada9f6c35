/**
 * `Conv2DBackpropInput` on webgpu. tfjs-backend-webgpu 4.x has two programs — a naive one (one
 * thread per input-gradient element looping over kh·kw·Cout; its default) and a tiled matrix-product
 * one (Conv2DDerInputMMProgram, chosen when the flag WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE is off) — and
 * on an H200 both ran the input gradient 2–3× slower than tfjs' or our *forward* programs run a
 * convolution of the same size. So stride-1 input gradients are computed as forward passes: 1×1 ones
 * as one matrix product dy·Wᵀ, k×k ones as our forward GEMM over dy with the flipped filter (see
 * ConvInputGradProgram); strided 1×1 ones on their stride grid (isStridedPointwise); the rest (other
 * strided kernels) through tfjs' tiled program when large, its naive one when small (on lavapipe the
 * tiled program was 7× slower at 32 px, batch 2: mostly empty tiles). On the H200 at 224 px, batch 32
 * this took ResNet50's input gradients from 30.9 to 18.7 ms of GPU time per step
 * (bench/gpu-train/RESULTS.md). Every program agrees with the cpu backend to 1e-4 on ResNet50's shapes
 * (conv-input-grad.spec.ts); `forceConvInputGradProgram` picks one for benches.
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
import { replaceWebGpuKernel, webGpuKernel, type WebGpuKernelFn, type WebGpuProgramRunner } from './raw';

const FLAG = 'WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE';
/** Input-gradient elements from which the tiled program is used (256 tiles of 32 × 32). */
export const TILED_INPUT_GRAD_MIN_ELEMENTS = 256 * 32 * 32;

/**
 * How an input gradient is computed:
 * - 'naive', 'tiled': tfjs' two programs;
 * - 'gemm': our implicit GEMM for the input gradient (ConvGemmProgram 'input-grad');
 * - 'matmul' (1×1, stride 1, no padding): dx = dy · Wᵀ as one tfjs matrix product (B transposed
 *   in the program: no extra pass), the program tfjs' own 1×1 forward convolutions use;
 * - 'flip-gemm' (stride 1): dx is the forward convolution of dy with the filter flipped in space and
 *   its channels swapped, W'[fy, fx, o, c] = W[kh−1−fy, kw−1−fx, c, o], padded by kh−1−padTop —
 *   one small program builds W', then our forward GEMM (conv-forward.ts), which reads its operands
 *   the way the forward pass does.
 */
export type ConvInputGradProgram = 'naive' | 'tiled' | 'gemm' | 'matmul' | 'flip-gemm';

let forced: ConvInputGradProgram | null = null;

/**
 * Forces one program for every call where it applies (benches comparing them; 'matmul' and
 * 'flip-gemm' fall back to the rules where they do not); null restores the rules.
 */
export function forceConvInputGradProgram(program: ConvInputGradProgram | null): void {
  forced = program;
}

/** A 1×1 kernel without padding: a matrix product at every pixel it reads. */
const unpaddedOneByOne = (g: ConvGeometry): boolean =>
  g.kh === 1 && g.kw === 1 && g.padTop === 0 && g.padLeft === 0;
const isPointwise = (g: ConvGeometry): boolean => unpaddedOneByOne(g) && g.sh === 1 && g.sw === 1;
const applies = (p: ConvInputGradProgram, g: ConvGeometry): boolean =>
  p === 'matmul' ? isPointwise(g) : p === 'flip-gemm' ? g.sh === 1 && g.sw === 1 : true;

/**
 * The program for the input gradient of a convolution of geometry `g` (the forward convolution's):
 * forced where it applies; our GEMM everywhere in ConvGemmMode 'all'; otherwise, for stride 1,
 * 'matmul' for 1×1 kernels and 'flip-gemm' for larger ones; for strides, tiled from
 * TILED_INPUT_GRAD_MIN_ELEMENTS gradient elements, else naive. (Strided 1×1 convolutions are
 * computed as a stride-1 one on the stride grid first: see isStridedPointwise.)
 */
export function convInputGradProgram(g: ConvGeometry): ConvInputGradProgram {
  if (forced && applies(forced, g)) return forced;
  if (webGpuConvGemmEnabled()) return 'gemm';
  if (isPointwise(g)) return 'matmul';
  if (g.sh === 1 && g.sw === 1) return 'flip-gemm';
  return g.n * g.h * g.w * g.ci >= TILED_INPUT_GRAD_MIN_ELEMENTS ? 'tiled' : 'naive';
}

/** dx = dy · Wᵀ for a 1×1 stride-1 convolution: [N·H·W, Cout] × [Cin, Cout]ᵀ, one matmul program. */
function pointwiseInputGrad(
  backend: WebGpuProgramRunner,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const reshape = webGpuKernel('Reshape');
  const rows = g.n * g.h * g.w;
  const a = reshape({ inputs: { x: dy }, backend, attrs: { shape: [1, rows, g.co] } });
  const b = reshape({ inputs: { x: filter }, backend, attrs: { shape: [1, g.ci, g.co] } });
  try {
    const prod = webGpuKernel('BatchMatMul')({
      inputs: { a, b },
      backend,
      attrs: { transposeA: false, transposeB: true },
    });
    try {
      return reshape({ inputs: { x: prod }, backend, attrs: { shape: [g.n, g.h, g.w, g.ci] } });
    } finally {
      backend.disposeData(prod.dataId);
    }
  } finally {
    backend.disposeData(a.dataId);
    backend.disposeData(b.dataId);
  }
}

/** The input gradient of a stride-1 convolution as the forward GEMM of dy with the flipped filter. */
function flippedFilterInputGrad(
  backend: WebGpuProgramRunner,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const flip = new ElementwiseProgram(
    [g.kh, g.kw, g.co, g.ci],
    ['W'],
    `${CONV_GEOMETRY_UNIFORMS} kh : i32,`,
    `let c = index % uniforms.ci;
          let p = index / uniforms.ci;
          let o = p % uniforms.co;
          let q = p / uniforms.co;
          let fx = q % uniforms.kw;
          let fy = q / uniforms.kw;
          let r = W[(((uniforms.kh - 1 - fy) * uniforms.kw + (uniforms.kw - 1 - fx)) * uniforms.ci + c) * uniforms.co + o];`,
    'fundus_flip_filter',
  );
  const flipped = backend.runWebGPUProgram(flip, [filter], 'float32', convGeometryUniforms(g, g.kh));
  try {
    // The forward convolution of dy [N, Ho, Wo, Cout] by W' [kh, kw, Cout, Cin] onto [N, H, W, Cin].
    const fwd: ConvGeometry = {
      n: g.n,
      h: g.oh,
      w: g.ow,
      ci: g.co,
      kh: g.kh,
      kw: g.kw,
      co: g.ci,
      oh: g.h,
      ow: g.w,
      sh: 1,
      sw: 1,
      padTop: g.kh - 1 - g.padTop,
      padLeft: g.kw - 1 - g.padLeft,
    };
    return runConvGemm(backend, dy, flipped, undefined, fwd, false, 'forward');
  } finally {
    backend.disposeData(flipped.dataId);
  }
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
  return unpaddedOneByOne(g) && (g.sh > 1 || g.sw > 1);
}

/** dx [N, H, W, Cin] from the grid values `dense` [N, Ho, Wo, Cin]: dense at (oy·sh, ox·sw), else 0. */
function spreadOnStrideGrid(
  backend: WebGpuProgramRunner,
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
    // Stock programs for NCHW or non-float32 (the naive program is tfjs' default).
    const inputGrad: WebGpuKernelFn = (args) => {
      const { dy, filter } = args.inputs;
      const { attrs } = args;
      const nhwc = attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';
      const f32 = dy.dtype === 'float32' && filter.dtype === 'float32';
      const inputShape = attrs.inputShape as number[];
      const g = convGeometry(inputShape, filter.shape, attrs);
      if (nhwc && f32 && isStridedPointwise(g) && g.n * g.oh * g.ow * g.ci > 0) {
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
      const program = nhwc && f32 ? convInputGradProgram(g) : 'naive';
      if (program === 'gemm') return runConvGemm(args.backend, dy, filter, undefined, g, false, 'input-grad');
      if (program === 'matmul') return pointwiseInputGrad(args.backend, dy, filter, g);
      if (program === 'flip-gemm') return flippedFilterInputGrad(args.backend, dy, filter, g);
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
