/**
 * An implicit-GEMM forward convolution (`FusedConv2D`: bias, linear or ReLU) for the webgpu backend,
 * as an alternative to tfjs' own programs (Conv2DMMProgram: 32 × 32 tiles of 64 threads; or im2col +
 * matmul). Output rows m = (n, oy, ox), columns the output channels, inner dimension k = (fy, fx, c):
 *   y[m, o] = act(Σ_k x[n, oy·sh + fy − padTop, ox·sw + fx − padLeft, c] · W[fy, fx, c, o] + b[o])
 * with 64 × 64 tiles per 256-thread workgroup (4 × 4 outputs per thread, 16 inner steps staged in
 * workgroup memory: twice the reuse per global load of a 32 × 32 tile), the input read in place.
 *
 * Where it runs is ConvGemmMode (default 'auto': kernels larger than 1×1 or strided, where an H200
 * measured it faster; bench/gpu-train `--layer-profile` times every layer both ways in situ). It
 * agrees with the cpu backend to 1e-4 on ResNet50's shapes (conv-forward.spec.ts).
 */
import * as tf from '@tensorflow/tfjs';
import {
  CONV_GEOMETRY_UNIFORMS,
  convGeometry,
  convGeometryUniforms,
  type ConvGeometry,
} from '../conv-geometry';
import {
  GEMM_ACCUMULATORS,
  GEMM_RESULT,
  GEMM_THREAD,
  GEMM_TILES,
  gemmMultiply,
  STEP,
  TILE,
} from './gemm-tile';
import { replaceWebGpuKernel, type WebGpuProgramRunner } from './raw';

type TensorInfo = tf.TensorInfo;

/**
 * A convolution pass as an implicit GEMM (see the module doc), 64 × 64 output tiles:
 * - `forward`: y = act(conv(x, W) + b), rows (n, oy, ox), columns Cout, inner (fy, fx, c);
 * - `input-grad`: dx[n, iy, ix, c] = Σ dy[n, oy, ox, o] · W[fy, fx, c, o] over the (fy, fx, o) with
 *   iy = oy·sh + fy − padTop (likewise for x), i.e. rows (n, iy, ix), columns Cin, inner (fy, fx, o).
 */
export class ConvGemmProgram {
  readonly variableNames: string[];
  readonly uniforms = `${CONV_GEOMETRY_UNIFORMS} rows : i32, inner : i32,`;
  readonly workgroupSize: [number, number, number] = [16, 16, 1];
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    g: ConvGeometry,
    private readonly hasBias: boolean,
    private readonly relu: boolean,
    private readonly kind: 'forward' | 'input-grad' = 'forward',
  ) {
    const forward = kind === 'forward';
    this.variableNames = forward ? (hasBias ? ['X', 'W', 'B'] : ['X', 'W']) : ['X', 'W'];
    this.outputShape = forward ? [g.n, g.oh, g.ow, g.co] : [g.n, g.h, g.w, g.ci];
    const rows = forward ? g.n * g.oh * g.ow : g.n * g.h * g.w;
    this.dispatch = [Math.ceil(rows / TILE), Math.ceil((forward ? g.co : g.ci) / TILE), 1];
    this.shaderKey = `fundus_conv_gemm_${kind}_${hasBias}_${relu}`;
  }

  getUserCode(): string {
    const bias = this.hasBias ? ' + B[o]' : '';
    const act = this.relu ? 'max(v, 0.0)' : 'v';
    const forward = this.kind === 'forward';
    // Columns of the output (Cout forward, Cin for the input gradient) and how A and B are read.
    const cols = forward ? 'uniforms.co' : 'uniforms.ci';
    const rowCoords = forward
      ? `let hw = uniforms.oh * uniforms.ow;
        let b = m / hw;
        let rem = m - b * hw;
        let oy = rem / uniforms.ow;
        let ox = rem - oy * uniforms.ow;
        let iy0 = oy * uniforms.sh - uniforms.padTop;
        let ix0 = ox * uniforms.sw - uniforms.padLeft;
        let kwc = uniforms.kw * uniforms.ci;`
      : `let hw = uniforms.h * uniforms.w;
        let b = m / hw;
        let rem = m - b * hw;
        let iy = rem / uniforms.w;
        let ix = rem - iy * uniforms.w;
        let ty0 = iy + uniforms.padTop;
        let tx0 = ix + uniforms.padLeft;
        let kwc = uniforms.kw * uniforms.co;`;
    // A[m, k]: the input patch value (forward) or the output gradient that reaches dx row m.
    const aValue = forward
      ? `let fy = k / kwc;
              let r = k - fy * kwc;
              let fx = r / uniforms.ci;
              let c = r - fx * uniforms.ci;
              let iy = iy0 + fy;
              let ix = ix0 + fx;
              if (iy >= 0 && iy < uniforms.h && ix >= 0 && ix < uniforms.w) {
                v = X[((b * uniforms.h + iy) * uniforms.w + ix) * uniforms.ci + c];
              }`
      : `let fy = k / kwc;
              let r = k - fy * kwc;
              let fx = r / uniforms.co;
              let o = r - fx * uniforms.co;
              let py = ty0 - fy;
              let px = tx0 - fx;
              if (py >= 0 && px >= 0 && py % uniforms.sh == 0 && px % uniforms.sw == 0) {
                let oy = py / uniforms.sh;
                let ox = px / uniforms.sw;
                if (oy < uniforms.oh && ox < uniforms.ow) {
                  v = X[((b * uniforms.oh + oy) * uniforms.ow + ox) * uniforms.co + o];
                }
              }`;
    // B[k, col]: forward W[(fy, fx, c), o] is contiguous along o (threads along columns); for the
    // input gradient W[fy, fx, c, o] with k = (fy, fx, o) is contiguous along k (threads along k).
    // Each thread holds its 4 A and 4 B values of the next STEP in registers (aReg, bReg): they are
    // loaded from global memory while the current STEP's multiply-adds run, and stored to workgroup
    // memory after the next barrier (one tile of prefetch instead of a stall per STEP).
    const bLoad = (k0: string): string =>
      forward
        ? `{
            let kb = ${k0} + t / 16;
            bReg = vec4<f32>(0.0);
            if (kb < uniforms.inner) {
              for (var j = 0; j < 4; j = j + 1) {
                let o = n0 + bn + j;
                if (o < uniforms.co) {
                  bReg[j] = W[kb * uniforms.co + o];
                }
              }
            }
          }`
        : `{
            let kb = ${k0} + kl;
            var fyb = 0;
            var fxb = 0;
            var ob = 0;
            if (kb < uniforms.inner) {
              fyb = kb / kwc;
              let rb = kb - fyb * kwc;
              fxb = rb / uniforms.co;
              ob = rb - fxb * uniforms.co;
            }
            for (var j = 0; j < 4; j = j + 1) {
              let c = n0 + t / 16 + 16 * j;
              var v = 0.0;
              if (kb < uniforms.inner && c < uniforms.ci) {
                v = W[((fyb * uniforms.kw + fxb) * uniforms.ci + c) * uniforms.co + ob];
              }
              bReg[j] = v;
            }
          }`;
    const bStore = forward
      ? `Bs[(t / 16) * 16 + bn / 4] = bReg;`
      : `for (var j = 0; j < 4; j = j + 1) {
            let nl = t / 16 + 16 * j;
            Bs[kl * 16 + nl / 4][nl % 4] = bReg[j];
          }`;
    const aLoad = (k0: string): string => `for (var j = 0; j < 4; j = j + 1) {
            let k = ${k0} + ak + j;
            var v = 0.0;
            if (mOk && k < uniforms.inner) {
              ${aValue}
            }
            aReg[j] = v;
          }`;
    return `${GEMM_TILES}
      fn main(index : i32) {${GEMM_THREAD}
        let m0 = i32(workgroupId.x) * ${TILE};
        let n0 = i32(workgroupId.y) * ${TILE};
        // A: this thread stages row am, inner columns ak..ak+3.
        let am = t / 4;
        let ak = (t % 4) * 4;
        let m = m0 + am;
        let mOk = m < uniforms.rows;
        // B: columns bn..bn+3 of inner row t / 16 (forward), or inner row kl (input gradient).
        let bn = (t % 16) * 4;
        let kl = t % 16;
        ${rowCoords}${GEMM_ACCUMULATORS}
        var aReg = vec4<f32>(0.0);
        var bReg = vec4<f32>(0.0);
        ${aLoad('0')}
        ${bLoad('0')}
        // Trip count from uniforms only (barriers need uniform control flow).
        let steps = (uniforms.inner + ${STEP - 1}) / ${STEP};
        for (var it = 0; it < steps; it = it + 1) {
          for (var j = 0; j < 4; j = j + 1) {
            As[(ak + j) * 16 + am / 4][am % 4] = aReg[j];
          }
          ${bStore}${gemmMultiply(`if (it + 1 < steps) {
            let kn = (it + 1) * ${STEP};
            ${aLoad('kn')}
            ${bLoad('kn')}
          }`)}
        }${GEMM_RESULT}
        for (var i = 0; i < 4; i = i + 1) {
          let row = m0 + ty * 4 + i;
          if (row < uniforms.rows) {
            for (var j = 0; j < 4; j = j + 1) {
              let o = n0 + tx * 4 + j;
              if (o < ${cols}) {
                let v = acc[i][j]${forward ? bias : ''};
                setOutputAtIndex(row * ${cols} + o, ${forward ? act : 'v'});
              }
            }
          }
        }
      }`;
  }
}

/**
 * Runs a GEMM convolution pass. Forward: x [N, H, W, Cin], filter [kh, kw, Cin, Cout], bias [Cout]
 * or none. Input gradient: x is dy [N, Ho, Wo, Cout], no bias; the result is [N, H, W, Cin].
 */
export function runConvGemm(
  backend: WebGpuProgramRunner,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  g: ConvGeometry,
  relu: boolean,
  kind: 'forward' | 'input-grad' = 'forward',
): TensorInfo {
  const forward = kind === 'forward';
  return backend.runWebGPUProgram(
    new ConvGemmProgram(g, bias != null, relu, kind),
    bias ? [x, filter, bias] : [x, filter],
    'float32',
    convGeometryUniforms(
      g,
      forward ? g.n * g.oh * g.ow : g.n * g.h * g.w,
      forward ? g.kh * g.kw * g.ci : g.kh * g.kw * g.co,
    ),
  );
}

/**
 * Where our GEMM runs instead of tfjs' programs: 'off' (nowhere), 'all' (every forward convolution
 * and, in conv-input-grad.ts, every input gradient), 'auto' (the default: forward convolutions with
 * a kernel larger than 1×1 or a stride — measured faster in situ on an H200 at 224 px, batch 32, for
 * every such ResNet50 layer, e.g. 3×3/256 at 14×14: 0.48 vs 0.66 ms — while tfjs' matrix-product
 * program stays faster for 1×1 stride-1 ones; bench/gpu-train/RESULTS.md).
 */
export type ConvGemmMode = 'off' | 'all' | 'auto';

const envMode = typeof process !== 'undefined' ? process.env?.FUNDUS_WEBGPU_CONV_GEMM : undefined;
let mode: ConvGemmMode = envMode === '1' ? 'all' : envMode === '0' ? 'off' : 'auto';
let registered = false;

/**
 * Sets where the GEMM convolutions run (see ConvGemmMode), process-wide; `true` is 'all', `false`
 * 'off'. FUNDUS_WEBGPU_CONV_GEMM=1 / =0 in the environment start the process in 'all' / 'off'.
 */
export function useWebGpuConvGemm(on: boolean | ConvGemmMode): void {
  mode = on === true ? 'all' : on === false ? 'off' : on;
}

/** True in 'all' mode: every eligible forward convolution and input gradient runs our GEMM. */
export function webGpuConvGemmEnabled(): boolean {
  return mode === 'all';
}

/** The current ConvGemmMode. */
export function webGpuConvGemmMode(): ConvGemmMode {
  return mode;
}

/** Whether a forward convolution of geometry `g` runs our GEMM in the current mode. */
export function forwardConvUsesGemm(g: ConvGeometry): boolean {
  return mode === 'all' || (mode === 'auto' && (g.kh * g.kw > 1 || g.sh > 1 || g.sw > 1));
}

/**
 * Wraps the webgpu `FusedConv2D` kernel: channels-last float32 convolutions with dilation 1, an
 * optional bias and a linear or ReLU activation that the mode selects (forwardConvUsesGemm) run
 * `ConvGemmProgram`; everything else the stock kernel. Idempotent; needs the webgpu backend.
 */
export function registerWebGpuConvGemm(): void {
  if (registered) return;
  replaceWebGpuKernel('FusedConv2D', (stock) => (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const { attrs } = args;
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    const dil = attrs.dilations as number | number[] | undefined;
    const dilated = dil != null && (Array.isArray(dil) ? dil.some((d) => d !== 1) : dil !== 1);
    if (
      mode === 'off' ||
      preluActivationWeights ||
      (activation !== 'linear' && activation !== 'relu') ||
      dilated ||
      (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') ||
      x.dtype !== 'float32' ||
      filter.dtype !== 'float32' ||
      (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1))
    ) {
      return stock(args);
    }
    const g = convGeometry(x.shape, filter.shape, attrs);
    if (!forwardConvUsesGemm(g)) return stock(args);
    if (g.n * g.oh * g.ow === 0 || g.co === 0 || (bias && bias.shape[0] !== g.co)) return stock(args);
    return runConvGemm(args.backend, x, filter, bias, g, activation === 'relu');
  });
  registered = true;
}
