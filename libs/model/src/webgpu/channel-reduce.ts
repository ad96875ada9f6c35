/**
 * Per-channel reductions of channels-last tensors [..., C] (viewed as [M, C]) in ONE webgpu program
 * each, without tfjs' transpose-then-reduce (two programs, one a full copy):
 * - `sum`: Σ over rows → [C] (registered as the `Sum` kernel for "all axes but the last", e.g.
 *   the bias gradient of every convolution);
 * - `stats`: batch mean and biased variance (two passes over x) → [2, C] = [mean; variance];
 * - `bn-grad`: with stats and ε, [r·Σdy(x − μ); Σdy] → [2, C] = [∂γ; ∂β] of batch norm;
 *   `bn-relu-grad` the same for ReLU(batch norm), dy masked by the saved output y > 0.
 * A workgroup of 32 channels × 8 row lanes per 32 channels: coalesced reads, per-lane sequential
 * sums, then a sum over the 8 lanes. (Parallelism is C/32 workgroups: fine for the counts and for
 * correctness; on a large GPU with few channels and many rows a split over rows would be faster.)
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;
interface WebGpuBackendLike {
  runWebGPUProgram(
    program: unknown,
    inputs: TensorInfo[],
    dtype: string,
    uniforms?: Array<{ type: string; data: number[] }>,
  ): TensorInfo;
}

export type ChannelReduceKind = 'sum' | 'stats' | 'bn-grad' | 'bn-relu-grad';

const LANES_C = 32;
const LANES_M = 8;

export class ChannelReduceProgram {
  readonly variableNames: string[];
  readonly uniforms = 'channels : i32, rows : i32, eps : f32,';
  readonly workgroupSize: [number, number, number] = [LANES_C, LANES_M, 1];
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    private readonly kind: ChannelReduceKind,
    channels: number,
  ) {
    this.variableNames =
      kind === 'sum' || kind === 'stats'
        ? ['X']
        : kind === 'bn-grad'
          ? ['DY', 'X', 'S']
          : ['DY', 'X', 'S', 'Y'];
    this.outputShape = kind === 'sum' ? [channels] : [2, channels];
    this.dispatch = [Math.ceil(channels / LANES_C), 1, 1];
    this.shaderKey = `fundus_channel_reduce_${kind}`;
  }

  getUserCode(): string {
    const loop = (body: string): string => `
        if (valid) {
          for (var m = lane; m < uniforms.rows; m = m + ${LANES_M}) {
            let i = m * uniforms.channels + c;
            ${body}
          }
        }`;
    let body: string;
    if (this.kind === 'sum') {
      body = `
        var s = 0.0;
        ${loop('s = s + X[i];')}
        let total = laneSum(s);
        if (valid && lane == 0) { setOutputAtIndex(c, total); }`;
    } else if (this.kind === 'stats') {
      body = `
        var s = 0.0;
        ${loop('s = s + X[i];')}
        let mean = laneSum(s) / f32(uniforms.rows);
        var q = 0.0;
        ${loop('let d = X[i] - mean; q = q + d * d;')}
        let variance = laneSum(q) / f32(uniforms.rows);
        if (valid && lane == 0) {
          setOutputAtIndex(c, mean);
          setOutputAtIndex(uniforms.channels + c, variance);
        }`;
    } else {
      body = `
        var mean = 0.0;
        var r = 0.0;
        if (valid) {
          mean = S[c];
          r = inverseSqrt(S[uniforms.channels + c] + uniforms.eps);
        }
        var a = 0.0;
        var b = 0.0;
        ${loop(`let g = ${this.kind === 'bn-relu-grad' ? 'select(0.0, DY[i], Y[i] > 0.0)' : 'DY[i]'}; a = a + g; b = b + g * (X[i] - mean);`)}
        let sumDy = laneSum(a);
        let sumDyXc = laneSum(b);
        if (valid && lane == 0) {
          setOutputAtIndex(c, sumDyXc * r);
          setOutputAtIndex(uniforms.channels + c, sumDy);
        }`;
    }
    return `
      var<workgroup> part : array<f32, ${LANES_C * LANES_M}>;
      fn laneSum(v : f32) -> f32 {
        part[localId.y * ${LANES_C}u + localId.x] = v;
        workgroupBarrier();
        var s = 0.0;
        for (var k = 0u; k < ${LANES_M}u; k = k + 1u) { s = s + part[k * ${LANES_C}u + localId.x]; }
        workgroupBarrier();
        return s;
      }
      fn main(index : i32) {
        let c = i32(workgroupId.x) * ${LANES_C} + i32(localId.x);
        let lane = i32(localId.y);
        let valid = c < uniforms.channels;
        ${body}
      }`;
  }
}

/** Runs a channel reduction on the webgpu backend; x (and dy) are [..., C] float32. */
export function runChannelReduce(
  backend: WebGpuBackendLike,
  kind: ChannelReduceKind,
  inputs: TensorInfo[],
  epsilon = 0,
): TensorInfo {
  const shape = inputs[0].shape;
  const channels = shape[shape.length - 1];
  const rows = shape.reduce((a, b) => a * b, 1) / Math.max(1, channels);
  return backend.runWebGPUProgram(new ChannelReduceProgram(kind, channels), inputs, 'float32', [
    { type: 'int32', data: [channels] },
    { type: 'int32', data: [rows] },
    { type: 'float32', data: [epsilon] },
  ]);
}

let registered = false;

/**
 * Replaces the webgpu `Sum` kernel for float32 sums over all axes but the last (one program instead
 * of transpose + reduce) with ≥ 32 channels or ≤ 4096 rows; every other sum goes to the stock
 * kernel. Idempotent.
 */
export function registerWebGpuChannelSum(): void {
  if (registered) return;
  const stockCfg = tf.getKernel('Sum', 'webgpu');
  if (!stockCfg) throw new Error('the webgpu backend is not loaded');
  const stock = stockCfg.kernelFunc;
  tf.unregisterKernel('Sum', 'webgpu');
  tf.registerKernel({
    ...stockCfg,
    kernelFunc: ((args: {
      inputs: { x: TensorInfo };
      backend: WebGpuBackendLike;
      attrs: Record<string, unknown>;
    }) => {
      const { x } = args.inputs;
      const r = x.shape.length;
      const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape);
      const leading =
        r >= 2 && axes.length === r - 1 && [...axes].sort((a, b) => a - b).every((a, i) => a === i);
      const channels = x.shape[r - 1];
      const rows = tf.util.sizeFromShape(x.shape) / Math.max(1, channels);
      // Few channels over many rows would leave the GPU idle (C/32 workgroups): stock kernel then.
      const worthIt = channels >= LANES_C || rows <= 4096;
      if (!leading || !worthIt || x.dtype !== 'float32' || channels === 0 || rows === 0) {
        return (stock as unknown as (a: unknown) => TensorInfo)(args);
      }
      const out = runChannelReduce(args.backend, 'sum', [x]);
      if (!args.attrs.keepDims) return out;
      // Same buffer, shape [1, …, 1, C] (a reshape: no program).
      const reshape = tf.getKernel('Reshape', 'webgpu')?.kernelFunc as unknown as (a: unknown) => TensorInfo;
      const kept = reshape({
        inputs: { x: out },
        backend: args.backend,
        attrs: { shape: [...x.shape.slice(0, r - 1).map(() => 1), x.shape[r - 1]] },
      });
      (args.backend as unknown as { disposeData(id: unknown): void }).disposeData(out.dataId);
      return kept;
    }) as unknown as tf.KernelFunc,
  });
  registered = true;
}
