/**
 * Per-channel reductions of channels-last tensors [..., C] (viewed as [M, C]) in ONE webgpu program
 * each, without tfjs' transpose-then-reduce (two programs, one a full copy):
 * - `sum`: Σ over rows → [C] (registered as the `Sum` kernel for "all axes but the last", e.g.
 *   the bias gradient of every convolution);
 * - `stats`: batch mean and biased variance (two passes over x) → [2, C] = [mean; variance];
 * - `bn-grad`: with stats and ε, [r·Σdy(x − μ); Σdy] → [2, C] = [∂γ; ∂β] of batch norm;
 *   `bn-relu-grad` the same for ReLU(batch norm), dy masked by the saved output y > 0.
 * A workgroup of 32 channels × 8 row lanes per 32 channels: coalesced reads, per-lane sums (4 rows
 * per iteration into independent accumulators, for more loads in flight), then a sum over the lanes. (Parallelism is C/32 workgroups: fine for the counts and for
 * correctness; on a large GPU with few channels and many rows a split over rows would be faster.)
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGpuProgramRunner } from './raw';

type TensorInfo = tf.TensorInfo;

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
    // Σ over this lane's rows of term(i, k) (k: a per-channel constant), 4 rows per iteration into
    // independent accumulators (more loads in flight), then over the lanes.
    let n = 0;
    const sumOf = (k = '0.0'): string => {
      const id = n++;
      return `
        var acc${id} = vec4<f32>(0.0);
        if (valid) {
          var m = lane;
          while (m + ${3 * LANES_M} < uniforms.rows) {
            acc${id} = acc${id} + vec4<f32>(
              term${id}(m * uniforms.channels + c, ${k}),
              term${id}((m + ${LANES_M}) * uniforms.channels + c, ${k}),
              term${id}((m + ${2 * LANES_M}) * uniforms.channels + c, ${k}),
              term${id}((m + ${3 * LANES_M}) * uniforms.channels + c, ${k}));
            m = m + ${4 * LANES_M};
          }
          while (m < uniforms.rows) {
            acc${id}.x = acc${id}.x + term${id}(m * uniforms.channels + c, ${k});
            m = m + ${LANES_M};
          }
        }
        let sum${id} = laneSum((acc${id}.x + acc${id}.y) + (acc${id}.z + acc${id}.w));`;
    };
    const dy = this.kind === 'bn-relu-grad' ? 'select(0.0, DY[i], Y[i] > 0.0)' : 'DY[i]';
    let terms: string[];
    let body: string;
    if (this.kind === 'sum') {
      terms = ['X[i]'];
      body = `${sumOf()}
        if (valid && lane == 0) { setOutputAtIndex(c, sum0); }`;
    } else if (this.kind === 'stats') {
      terms = ['X[i]', '(X[i] - k) * (X[i] - k)'];
      body = `${sumOf()}
        let mean = sum0 / f32(uniforms.rows);
        ${sumOf('mean')}
        let variance = sum1 / f32(uniforms.rows);
        if (valid && lane == 0) {
          setOutputAtIndex(c, mean);
          setOutputAtIndex(uniforms.channels + c, variance);
        }`;
    } else {
      terms = [dy, `${dy} * (X[i] - k)`];
      body = `
        var mean = 0.0;
        var r = 0.0;
        if (valid) {
          mean = S[c];
          r = inverseSqrt(S[uniforms.channels + c] + uniforms.eps);
        }
        ${sumOf('mean')}
        ${sumOf('mean')}
        if (valid && lane == 0) {
          setOutputAtIndex(c, sum1 * r);
          setOutputAtIndex(uniforms.channels + c, sum0);
        }`;
    }
    const fns = terms
      .map((t, id) => `fn term${id}(i : i32, k : f32) -> f32 { return ${t}; }`)
      .join('\n      ');
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
      ${fns}
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
  backend: WebGpuProgramRunner,
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
      backend: WebGpuProgramRunner;
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
