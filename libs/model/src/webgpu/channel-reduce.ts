/**
 * Per-channel reductions of channels-last tensors [..., C] (viewed as [M, C]) in ONE webgpu program
 * each, without tfjs' transpose-then-reduce (two programs, one a full copy):
 * - `sum`: Σ over rows → [C] (registered as the `Sum` kernel for "all axes but the last", e.g.
 *   the bias gradient of every convolution);
 * - `stats`: batch mean and biased variance (two passes over x) → [2, C] = [mean; variance];
 * - `bn-grad`: with stats and ε, [r·Σdy(x − μ); Σdy] → [2, C] = [∂γ; ∂β] of batch norm;
 *   `bn-relu-grad` the same for ReLU(batch norm), dy masked by the saved output y > 0.
 * A workgroup of 32 channels × 8 row lanes per 32 channels: coalesced reads, per-lane sums (4 rows
 * per iteration into independent accumulators, for more loads in flight), then a sum over the lanes.
 * Where there are many rows and few channels the rows are split over more workgroups and a second
 * program merges the partials in a fixed order (`channelReducePlan`; no atomics, deterministic).
 */
import * as tf from '@tensorflow/tfjs';
import { takeColumnSum } from './conv-backprop-filter';
import { replaceWebGpuKernel, webGpuKernel, type WebGpuProgramRunner } from './raw';

type TensorInfo = tf.TensorInfo;

export type ChannelReduceKind = 'sum' | 'stats' | 'bn-grad' | 'bn-relu-grad';

const LANES_C = 32;
const LANES_M = 8;
/** Workgroups to aim for when splitting rows: a few per SM on an H100/H200 (132 SMs). */
const TARGET_WORKGROUPS = 512;
/** Fewest rows one workgroup reduces when rows are split. */
const MIN_SPLIT_ROWS = 512;

/** How the rows of a channel reduction are split (exported for tests and the bench). */
export interface ChannelReducePlan {
  /** Row chunks, one partial result each; 1 = a single program writes the result. */
  splits: number;
  /** Rows per chunk (the last may be shorter). */
  chunk: number;
}

/**
 * Rows are split so that (C/32 channel groups) × splits workgroups fill a large GPU — e.g. ResNet50's
 * 64-channel batch norms at 224 px, batch 32 reduce 401,408 or 100,352 rows each, which 2 workgroups
 * alone would read at a single SM's bandwidth — but never below 512 rows per chunk (so ResNet50 at
 * 32 px, batch 1 runs unsplit: one program per reduction).
 */
export function channelReducePlan(rows: number, channels: number): ChannelReducePlan {
  const groups = Math.ceil(channels / LANES_C);
  let splits = Math.max(
    1,
    Math.min(Math.ceil(TARGET_WORKGROUPS / groups), Math.floor(rows / MIN_SPLIT_ROWS)),
  );
  const chunk = Math.max(1, Math.ceil(rows / splits));
  splits = Math.max(1, Math.ceil(rows / chunk));
  return { splits, chunk };
}

/**
 * One channel reduction over a chunk of rows per workgroup row (dispatch [C/32, splits]). Unsplit,
 * it writes the final result; split, a partial per chunk that `ChannelCombineProgram` merges:
 * `sum` Σ → [splits, C]; `stats` the chunk's mean and Σ(x − chunk mean)² → [splits, 2, C] (merged
 * with Chan et al.'s pairwise formula, as accurate as two passes over all rows); `bn-grad` the two
 * raw sums → [splits, 2, C].
 */
export class ChannelReduceProgram {
  readonly variableNames: string[];
  readonly uniforms = 'channels : i32, rows : i32, eps : f32, chunk : i32,';
  readonly workgroupSize: [number, number, number] = [LANES_C, LANES_M, 1];
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;
  private readonly partial: boolean;

  constructor(
    private readonly kind: ChannelReduceKind,
    channels: number,
    splits = 1,
  ) {
    this.variableNames =
      kind === 'sum' || kind === 'stats'
        ? ['X']
        : kind === 'bn-grad'
          ? ['DY', 'X', 'S']
          : ['DY', 'X', 'S', 'Y'];
    this.partial = splits > 1;
    const rowsOut = kind === 'sum' ? 1 : 2;
    this.outputShape = this.partial
      ? [splits, rowsOut, channels]
      : rowsOut === 1
        ? [channels]
        : [2, channels];
    this.dispatch = [Math.ceil(channels / LANES_C), splits, 1];
    this.shaderKey = `fundus_channel_reduce_${kind}_${this.partial ? 'partial' : 'whole'}`;
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
          var m = rowBegin + lane;
          while (m + ${3 * LANES_M} < rowEnd) {
            acc${id} = acc${id} + vec4<f32>(
              term${id}(m * uniforms.channels + c, ${k}),
              term${id}((m + ${LANES_M}) * uniforms.channels + c, ${k}),
              term${id}((m + ${2 * LANES_M}) * uniforms.channels + c, ${k}),
              term${id}((m + ${3 * LANES_M}) * uniforms.channels + c, ${k}));
            m = m + ${4 * LANES_M};
          }
          while (m < rowEnd) {
            acc${id}.x = acc${id}.x + term${id}(m * uniforms.channels + c, ${k});
            m = m + ${LANES_M};
          }
        }
        let sum${id} = laneSum((acc${id}.x + acc${id}.y) + (acc${id}.z + acc${id}.w));`;
    };
    const dy = this.kind === 'bn-relu-grad' ? 'select(0.0, DY[i], Y[i] > 0.0)' : 'DY[i]';
    // Output slots: unsplit [C] or [2, C]; split [splits, 1 or 2, C].
    const at = (row: number): string =>
      this.partial
        ? `(split * ${this.kind === 'sum' ? 1 : 2} + ${row}) * uniforms.channels + c`
        : `${row} * uniforms.channels + c`;
    let terms: string[];
    let body: string;
    if (this.kind === 'sum') {
      terms = ['X[i]'];
      body = `${sumOf()}
        if (valid && lane == 0) { setOutputAtIndex(${at(0)}, sum0); }`;
    } else if (this.kind === 'stats') {
      terms = ['X[i]', '(X[i] - k) * (X[i] - k)'];
      body = `${sumOf()}
        let mean = sum0 / f32(rowEnd - rowBegin);
        ${sumOf('mean')}
        if (valid && lane == 0) {
          setOutputAtIndex(${at(0)}, mean);
          setOutputAtIndex(${at(1)}, ${this.partial ? 'sum1' : 'sum1 / f32(uniforms.rows)'});
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
          setOutputAtIndex(${at(0)}, ${this.partial ? 'sum1' : 'sum1 * r'});
          setOutputAtIndex(${at(1)}, sum0);
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
        let split = i32(workgroupId.y);
        let rowBegin = split * uniforms.chunk;
        let rowEnd = min(rowBegin + uniforms.chunk, uniforms.rows);
        let valid = c < uniforms.channels;
        ${body}
      }`;
  }
}

/** Merges the partials of a split `ChannelReduceProgram` into its unsplit result, one thread per channel. */
export class ChannelCombineProgram {
  readonly variableNames: string[];
  readonly uniforms = 'channels : i32, rows : i32, eps : f32, chunk : i32, splits : i32,';
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [0] };
  readonly dispatch: [number, number, number];
  readonly shaderKey: string;

  constructor(
    private readonly kind: ChannelReduceKind,
    channels: number,
  ) {
    this.variableNames = kind === 'sum' || kind === 'stats' ? ['P'] : ['P', 'S'];
    this.outputShape = kind === 'sum' ? [channels] : [2, channels];
    this.dispatch = [Math.ceil(channels / 64), 1, 1];
    this.shaderKey = `fundus_channel_combine_${kind === 'bn-relu-grad' ? 'bn-grad' : kind}`;
  }

  getUserCode(): string {
    const C = 'uniforms.channels';
    let body: string;
    if (this.kind === 'sum') {
      body = `
        var s = 0.0;
        for (var k = 0; k < uniforms.splits; k = k + 1) { s = s + P[k * ${C} + c]; }
        setOutputAtIndex(c, s);`;
    } else if (this.kind === 'stats') {
      body = `
        var total = 0.0;
        for (var k = 0; k < uniforms.splits; k = k + 1) {
          total = total + f32(min(uniforms.chunk, uniforms.rows - k * uniforms.chunk)) * P[2 * k * ${C} + c];
        }
        let mean = total / f32(uniforms.rows);
        var m2 = 0.0;
        for (var k = 0; k < uniforms.splits; k = k + 1) {
          let d = P[2 * k * ${C} + c] - mean;
          m2 = m2 + P[(2 * k + 1) * ${C} + c] + f32(min(uniforms.chunk, uniforms.rows - k * uniforms.chunk)) * d * d;
        }
        setOutputAtIndex(c, mean);
        setOutputAtIndex(${C} + c, m2 / f32(uniforms.rows));`;
    } else {
      body = `
        var g = 0.0;
        var b = 0.0;
        for (var k = 0; k < uniforms.splits; k = k + 1) {
          g = g + P[2 * k * ${C} + c];
          b = b + P[(2 * k + 1) * ${C} + c];
        }
        setOutputAtIndex(c, g * inverseSqrt(S[${C} + c] + uniforms.eps));
        setOutputAtIndex(${C} + c, b);`;
    }
    return `
      fn main(index : i32) {
        let c = index;
        if (c < uniforms.channels) {
          ${body}
        }
      }`;
  }
}

/**
 * Runs a channel reduction on the webgpu backend; x (and dy) are [..., C] float32. One program, or
 * two (partials + merge) where `channelReducePlan` splits the rows.
 */
export function runChannelReduce(
  backend: WebGpuProgramRunner,
  kind: ChannelReduceKind,
  inputs: TensorInfo[],
  epsilon = 0,
): TensorInfo {
  const shape = inputs[0].shape;
  const channels = shape[shape.length - 1];
  const rows = shape.reduce((a, b) => a * b, 1) / Math.max(1, channels);
  const { splits, chunk } = channelReducePlan(rows, channels);
  const uniforms = [
    { type: 'int32', data: [channels] },
    { type: 'int32', data: [rows] },
    { type: 'float32', data: [epsilon] },
    { type: 'int32', data: [chunk] },
  ];
  const partial = backend.runWebGPUProgram(
    new ChannelReduceProgram(kind, channels, splits),
    inputs,
    'float32',
    uniforms,
  );
  if (splits === 1) return partial;
  const merged = backend.runWebGPUProgram(
    new ChannelCombineProgram(kind, channels),
    kind === 'sum' || kind === 'stats' ? [partial] : [partial, inputs[2]],
    'float32',
    [...uniforms, { type: 'int32', data: [splits] }],
  );
  backend.disposeData(partial.dataId);
  return merged;
}

let registered = false;

/**
 * Replaces the webgpu `Sum` kernel for float32 sums over all axes but the last (one program instead
 * of transpose + reduce) with ≥ 32 channels or ≤ 4096 rows; every other sum goes to the stock
 * kernel. Idempotent.
 */
export function registerWebGpuChannelSum(): void {
  if (registered) return;
  replaceWebGpuKernel('Sum', (stock) => (args) => {
    const { x } = args.inputs;
    const r = x.shape.length;
    const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape);
    const leading =
      r >= 2 && axes.length === r - 1 && [...axes].sort((a, b) => a - b).every((a, i) => a === i);
    const channels = x.shape[r - 1];
    const rows = tf.util.sizeFromShape(x.shape) / Math.max(1, channels);
    // Few channels over many rows would leave the GPU idle (C/32 workgroups): stock kernel then.
    const worthIt = channels >= LANES_C || rows <= 4096;
    // The bias gradient of a convolution: its filter gradient computed it on the side.
    const cached = leading && x.dtype === 'float32' ? takeColumnSum(x) : null;
    if (!cached && (!leading || !worthIt || x.dtype !== 'float32' || channels === 0 || rows === 0)) {
      return stock(args);
    }
    const out = cached ?? runChannelReduce(args.backend, 'sum', [x]);
    if (!args.attrs.keepDims) return out;
    // Same buffer, shape [1, …, 1, C] (a reshape: no program).
    const kept = webGpuKernel('Reshape')({
      inputs: { x: out },
      backend: args.backend,
      attrs: { shape: [...x.shape.slice(0, r - 1).map(() => 1), x.shape[r - 1]] },
    });
    args.backend.disposeData(out.dataId);
    return kept;
  });
  registered = true;
}
