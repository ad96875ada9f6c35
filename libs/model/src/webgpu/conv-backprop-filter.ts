/**
 * `Conv2DBackpropFilter` for the tfjs `webgpu` backend as ONE implicit-GEMM program (plus one
 * program summing split partials when the inner dimension is split), in place of the stock kernel.
 *
 * dW[kh, kw, Cin, Cout] is a matrix product: rows r = (fy, fx, c) of the filter, columns the output
 * channels, and the inner dimension p = (n, oy, ox) over every output position:
 *   dW[r, o] = Σ_p x[n, oy·sh + fy − padTop, ox·sw + fx − padLeft, c] · dy[n, oy, ox, o]
 * (zero where the input index falls in the padding). The input is read in place through that index
 * (no im2col, transpose or slice copy). Tiles of 64 rows × 64 columns per 256-thread workgroup, 4 × 4
 * outputs per thread, 16 inner steps staged in workgroup memory with coalesced loads (consecutive
 * threads read consecutive channels of x and dy).
 *
 * The inner dimension is long (N·Ho·Wo: 100k at 224 px, batch 32) while a filter can be small (a
 * 64×64 1×1 filter is one tile), so the inner dimension is split into chunks — enough workgroups to
 * fill a large GPU (`filterGradPlan`) — each writing a partial [splits, rows, Cout], summed in a fixed
 * order by a second program (deterministic: no atomics). Where one chunk suffices (small images, or
 * large filters) the GEMM writes dW directly.
 *
 * The previous version composed stock kernels (matmul over the strided-sliced input for 1×1 filters;
 * a forward convolution with the batch as channels plus three transposes for k×k): few workgroups
 * for small filters, and 111 + 57 programs per ResNet50 step instead of 53 (+ 53 split sums).
 * Channels-last float32 only; other layouts and dtypes use the stock kernel.
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
import {
  bufferOf,
  CopyRecorder,
  replaceWebGpuKernel,
  webgpuBackend,
  type WebGpuKernelFn,
  type WebGpuProgramRunner,
} from './raw';

type TensorInfo = tf.TensorInfo;
type BackendLike = WebGpuProgramRunner;

/** The conv2d geometry the filter-gradient kernel needs. */
export type FilterGradGeometry = ConvGeometry;

/** Workgroups to aim for: a few per SM on an H100/H200 (132 SMs), plenty for smaller GPUs. */
const TARGET_WORKGROUPS = 512;
/** Shortest chunk of the inner dimension one workgroup sums (16 iterations). */
const MIN_CHUNK = 256;
/** Largest partial buffer (floats): 16 M floats = 64 MiB. */
const MAX_PARTIAL_FLOATS = 16 * 1024 * 1024;

/** How the inner dimension of a filter gradient is split (exported for tests and the bench). */
export interface FilterGradPlan {
  /** Filter rows kh·kw·Cin (the GEMM's M). */
  rows: number;
  /** Inner dimension N·Ho·Wo (the GEMM's K). */
  inner: number;
  /** Chunks of the inner dimension, one partial each; 1 = no second program. */
  splits: number;
  /** Inner values per chunk (a multiple of 16). */
  chunk: number;
  /** Workgroups of the GEMM program. */
  workgroups: number;
}

/** The split of a filter gradient's inner dimension for a geometry. */
export function filterGradPlan(g: FilterGradGeometry): FilterGradPlan {
  const rows = g.kh * g.kw * g.ci;
  const inner = g.n * g.oh * g.ow;
  const tiles = Math.ceil(rows / TILE) * Math.ceil(g.co / TILE);
  let splits = Math.max(
    1,
    Math.min(
      Math.ceil(TARGET_WORKGROUPS / tiles),
      Math.floor(inner / MIN_CHUNK),
      Math.floor(MAX_PARTIAL_FLOATS / Math.max(1, rows * g.co)),
    ),
  );
  const chunk = Math.max(STEP, Math.ceil(Math.ceil(inner / splits) / STEP) * STEP);
  splits = Math.max(1, Math.ceil(inner / chunk));
  return { rows, inner, splits, chunk, workgroups: tiles * splits };
}

/**
 * dW and the bias gradient Σdy as [rows + 1, Cout] (or split partials [splits, rows + 1, Cout]), an
 * implicit GEMM over x and dy; the last row is Σ over the inner dimension of dy.
 */
export class FilterGradGemmProgram {
  readonly variableNames = ['X', 'DY'];
  readonly uniforms = `${CONV_GEOMETRY_UNIFORMS} rows : i32, inner : i32, chunk : i32,`;
  readonly workgroupSize: [number, number, number] = [16, 16, 1];
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly shaderKey = 'fundus_filter_grad_gemm';

  constructor(g: FilterGradGeometry, plan: FilterGradPlan) {
    this.outputShape = [plan.splits, plan.rows + 1, g.co];
    this.dispatch = [Math.ceil(plan.rows / TILE), Math.ceil(g.co / TILE), plan.splits];
  }

  getUserCode(): string {
    // As/Bs: STEP rows of 64 values each (16 vec4): As[k][r], Bs[k][o].
    return `${GEMM_TILES}
      fn main(index : i32) {${GEMM_THREAD}
        let r0 = i32(workgroupId.x) * ${TILE};
        let o0 = i32(workgroupId.y) * ${TILE};
        let split = i32(workgroupId.z);
        let kBegin = split * uniforms.chunk;
        let kEnd = min(kBegin + uniforms.chunk, uniforms.inner);
        // This thread stages inner row lk, columns lc..lc+3 of both tiles; its 4 filter rows'
        // (fy, fx, c) stay the same for the whole loop.
        let lk = t / 16;
        let lc = (t % 16) * 4;
        var aFy = vec4<i32>(0);
        var aFx = vec4<i32>(0);
        var aC = vec4<i32>(0);
        var aOk = vec4<bool>(false);
        for (var j = 0; j < 4; j = j + 1) {
          let r = r0 + lc + j;
          let f = r / uniforms.ci;
          aOk[j] = r < uniforms.rows;
          aC[j] = r - f * uniforms.ci;
          aFy[j] = f / uniforms.kw;
          aFx[j] = f - aFy[j] * uniforms.kw;
        }
        let hw = uniforms.oh * uniforms.ow;${GEMM_ACCUMULATORS}
        // Σ dy per column (the bias gradient) over inner rows ty, ty + 16, …; the first row tile
        // writes it as the extra last row of the output.
        var colSum = vec4<f32>(0.0);
        // The trip count depends on uniforms only (barriers need uniform control flow; tfjs hands
        // workgroupId over through a private variable, which WGSL treats as non-uniform).
        for (var it = 0; it < uniforms.chunk / ${STEP}; it = it + 1) {
          let p = kBegin + it * ${STEP} + lk;
          var av = vec4<f32>(0.0);
          var bv = vec4<f32>(0.0);
          if (p < kEnd) {
            let b = p / hw;
            let rem = p - b * hw;
            let oy = rem / uniforms.ow;
            let ox = rem - oy * uniforms.ow;
            let iy0 = oy * uniforms.sh - uniforms.padTop;
            let ix0 = ox * uniforms.sw - uniforms.padLeft;
            for (var j = 0; j < 4; j = j + 1) {
              let iy = iy0 + aFy[j];
              let ix = ix0 + aFx[j];
              if (aOk[j] && iy >= 0 && iy < uniforms.h && ix >= 0 && ix < uniforms.w) {
                av[j] = X[((b * uniforms.h + iy) * uniforms.w + ix) * uniforms.ci + aC[j]];
              }
              let o = o0 + lc + j;
              if (o < uniforms.co) {
                bv[j] = DY[p * uniforms.co + o];
              }
            }
          }
          As[lk * 16 + lc / 4] = av;
          Bs[lk * 16 + lc / 4] = bv;${gemmMultiply('colSum = colSum + Bs[ty * 16 + tx];')}
        }
        let stride = uniforms.rows + 1;
        Bs[ty * 16 + tx] = colSum;
        workgroupBarrier();
        if (ty == 0 && r0 == 0) {
          var s = vec4<f32>(0.0);
          for (var k = 0; k < 16; k = k + 1) { s = s + Bs[k * 16 + tx]; }
          let base = (split * stride + uniforms.rows) * uniforms.co;
          for (var j = 0; j < 4; j = j + 1) {
            let o = o0 + tx * 4 + j;
            if (o < uniforms.co) {
              setOutputAtIndex(base + o, s[j]);
            }
          }
        }
${GEMM_RESULT}
        for (var i = 0; i < 4; i = i + 1) {
          let r = r0 + ty * 4 + i;
          if (r < uniforms.rows) {
            let base = (split * stride + r) * uniforms.co;
            for (var j = 0; j < 4; j = j + 1) {
              let o = o0 + tx * 4 + j;
              if (o < uniforms.co) {
                setOutputAtIndex(base + o, acc[i][j]);
              }
            }
          }
        }
      }`;
  }
}

/** out[i] = Σ_s P[s, i] over the split partials, in split order. */
export class SplitSumProgram {
  readonly variableNames = ['P'];
  readonly uniforms = 'splits : i32, total : i32,';
  readonly workgroupSize: [number, number, number] = [256, 1, 1];
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly shaderKey = 'fundus_split_sum';

  constructor(total: number) {
    this.outputShape = [total];
    this.dispatch = [Math.ceil(total / 256), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.total) {
          var s = 0.0;
          for (var k = 0; k < uniforms.splits; k = k + 1) {
            s = s + P[k * uniforms.total + index];
          }
          setOutputAtIndex(index, s);
        }
      }`;
  }
}

/**
 * The bias gradient Σdy that the last filter gradient computed on the side, keyed by dy: tfjs' fused
 * conv2d gradient asks for dx, then dW, then Σ over dy's leading axes (the bias gradient) from the
 * `Sum` kernel, which takes it from here instead of reading dy again. Backend data only (no engine
 * tensor) until taken; replaced (and freed) by the next filter gradient.
 */
let pendingColumnSum: { dy: TensorInfo; sum: TensorInfo; backend: BackendLike } | null = null;

function dropPendingColumnSum(): void {
  const p = pendingColumnSum;
  pendingColumnSum = null;
  // (After a backend switch the old backend's data went with it.)
  if (p && (tf.backend() as unknown) === p.backend) p.backend.disposeData(p.sum.dataId);
}

/**
 * Σ over all leading axes of `x` if the last filter gradient already computed it (x is that
 * gradient's dy, or a reshape of it with the same channels): backend data of shape [C], now owned
 * by the caller; otherwise null.
 */
export function takeColumnSum(x: TensorInfo): TensorInfo | null {
  const p = pendingColumnSum;
  if (!p || p.dy.dataId !== x.dataId || (tf.backend() as unknown) !== p.backend) return null;
  const channels = x.shape[x.shape.length - 1];
  if (channels !== p.sum.shape[0] || tf.util.sizeFromShape(x.shape) !== tf.util.sizeFromShape(p.dy.shape))
    return null;
  pendingColumnSum = null;
  return p.sum;
}

/** Runs the filter gradient on the webgpu backend: dW as [kh, kw, Cin, Cout] (Σdy kept aside). */
export function runFilterGradient(
  backend: BackendLike,
  x: TensorInfo,
  dy: TensorInfo,
  g: FilterGradGeometry,
): TensorInfo {
  const plan = filterGradPlan(g);
  const gemm = backend.runWebGPUProgram(
    new FilterGradGemmProgram(g, plan),
    [x, dy],
    'float32',
    convGeometryUniforms(g, plan.rows, plan.inner, plan.chunk),
  );
  const total = (plan.rows + 1) * g.co;
  let flat = gemm;
  if (plan.splits > 1) {
    flat = backend.runWebGPUProgram(new SplitSumProgram(total), [gemm], 'float32', [
      { type: 'int32', data: [plan.splits] },
      { type: 'int32', data: [total] },
    ]);
    backend.disposeData(gemm.dataId);
  }
  // dW and Σdy out of [rows + 1, Cout] by two buffer copies (no shader).
  const b = webgpuBackend();
  const rec = new CopyRecorder(b);
  const src = bufferOf(b, flat);
  const dw = rec.infoFrom(src, 0, [g.kh, g.kw, g.ci, g.co]);
  const sum = rec.infoFrom(src, 4 * plan.rows * g.co, [g.co]);
  rec.done();
  backend.disposeData(flat.dataId);
  dropPendingColumnSum();
  pendingColumnSum = { dy, sum, backend };
  return dw;
}

let registered = false;
let stockKernel: WebGpuKernelFn | null = null;

/**
 * The stock tfjs kernel this module replaced (for benchmarks comparing the two), or null before
 * `registerWebGpuConvFilterGradient`.
 */
export function stockConvFilterGradient(): tf.KernelFunc | null {
  return stockKernel as unknown as tf.KernelFunc | null;
}

/**
 * Registers the implicit-GEMM `Conv2DBackpropFilter` for the `webgpu` backend in place of the stock
 * one (process-wide; call after `@tensorflow/tfjs-backend-webgpu` is imported). Idempotent.
 * @throws Error when the webgpu backend's kernels are not registered.
 */
export function registerWebGpuConvFilterGradient(): void {
  if (registered) return;
  replaceWebGpuKernel('Conv2DBackpropFilter', (stock) => {
    stockKernel = stock;
    return (args) => {
      const { x, dy } = args.inputs;
      const { attrs } = args;
      if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') return stock(args);
      if (x.dtype !== 'float32' || dy.dtype !== 'float32') return stock(args);
      const g = convGeometry(x.shape, attrs.filterShape as number[], attrs);
      if (g.n * g.oh * g.ow === 0 || g.kh * g.kw * g.ci * g.co === 0) return stock(args);
      return runFilterGradient(args.backend, x, dy, g);
    };
  });
  registered = true;
}
