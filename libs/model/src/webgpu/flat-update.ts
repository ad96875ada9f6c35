/**
 * All of a list of variables updated by ONE compute dispatch: the variables' values are mirrored in
 * a flat buffer W (re-gathered only for variables whose tensor changed since our last write), the
 * per-variable inputs (gradients, batch statistics) are gathered into a flat buffer G by buffer
 * copies, one shader updates W and any per-element state slots in place, and each variable then
 * gets a new tensor copied out of W. Copies run no shader; the dispatch is the only program.
 */
import * as tf from '@tensorflow/tfjs';
import {
  bufferOf,
  CopyRecorder,
  createFlatBuffer,
  dispatch,
  flush,
  type GpuBuffer,
  webgpuBackend,
  type WebGpuBackendInternals,
} from './raw';

const WG = 256;
const MAX_WORKGROUPS = 4096;

/**
 * WGSL for a flat update: bindings W (0), slots (1..k), G (k+1), uniforms U (k+2) with `n`, `split`
 * (an element index, e.g. where weight decay ends) and the given f32 fields; `body` runs per index i.
 */
export function flatShader(slotNames: string[], uniformFields: string[], body: string): string {
  const slots = slotNames
    .map((s, i) => `@group(0) @binding(${i + 1}) var<storage, read_write> ${s} : array<f32>;`)
    .join('\n');
  const k = slotNames.length;
  return `
struct U { n : u32, split : u32, ${uniformFields.map((f) => `${f} : f32,`).join(' ')} }
@group(0) @binding(0) var<storage, read_write> W : array<f32>;
${slots}
@group(0) @binding(${k + 1}) var<storage, read> G : array<f32>;
@group(0) @binding(${k + 2}) var<uniform> u : U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let stride = nwg.x * ${WG}u;
  for (var i = gid.x; i < u.n; i = i + stride) {
    ${body}
  }
}`;
}

/** Flat mirror of `vars` (in this order) with `slots` zero-initialised state buffers. */
export class FlatVariables {
  readonly offsets: number[] = [];
  readonly total: number;
  private readonly b: WebGpuBackendInternals;
  private readonly w: GpuBuffer;
  private readonly g: GpuBuffer;
  readonly slots: GpuBuffer[];
  private readonly lastIds: unknown[];

  constructor(
    readonly vars: tf.Variable[],
    slots: number,
  ) {
    this.b = webgpuBackend();
    let n = 0;
    for (const v of vars) {
      if (v.dtype !== 'float32')
        throw new Error(`flat update needs float32 variables; ${v.name} is ${v.dtype}`);
      this.offsets.push(n);
      n += v.size;
    }
    this.total = n;
    this.w = createFlatBuffer(this.b, n);
    this.g = createFlatBuffer(this.b, n);
    this.slots = Array.from({ length: slots }, () => createFlatBuffer(this.b, n));
    this.lastIds = vars.map(() => undefined);
  }

  /**
   * Gathers `inputs[i]` (same size as vars[i], or [tensor, element offset] for a part of a larger
   * tensor) into G, runs `code` (from `flatShader`) once over
   * all elements with `split` and the f32 `uniforms`, and gives every variable its updated value.
   */
  update(
    name: string,
    code: string,
    inputs: Array<tf.Tensor | [tf.Tensor, number]>,
    split: number,
    uniforms: number[],
  ): void {
    const rec = new CopyRecorder(this.b);
    this.vars.forEach((v, i) => {
      if (this.lastIds[i] !== v.dataId)
        rec.copy(bufferOf(this.b, v), 0, this.w, 4 * this.offsets[i], 4 * v.size);
      const input = inputs[i];
      const [x, from] = Array.isArray(input) ? input : [input, 0];
      if (!x || (Array.isArray(input) ? x.size < from + v.size : x.size !== v.size))
        throw new Error(`flat update: input ${i} does not match ${v.name}`);
      rec.copy(bufferOf(this.b, x), 4 * from, this.g, 4 * this.offsets[i], 4 * v.size);
    });
    dispatch(
      this.b,
      name,
      code,
      [this.w, ...this.slots, this.g],
      [
        { type: 'uint32', data: [this.total] },
        { type: 'uint32', data: [split] },
        ...uniforms.map((x) => ({ type: 'float32' as const, data: [x] })),
      ],
      Math.max(1, Math.min(MAX_WORKGROUPS, Math.ceil(this.total / WG))),
    );
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        const t = rec.tensorFrom(this.w, 4 * this.offsets[i], v.shape);
        v.assign(t);
        this.lastIds[i] = v.dataId;
      });
    });
    rec.done();
  }

  /** Slot `k` as one array per variable (in `vars` order). */
  async readSlot(k: number): Promise<Float32Array[]> {
    const rec = new CopyRecorder(this.b);
    const t = rec.tensorFrom(this.slots[k], 0, [this.total]);
    rec.done();
    const all = (await t.data()) as Float32Array;
    t.dispose();
    return this.vars.map((v, i) => all.slice(this.offsets[i], this.offsets[i] + v.size));
  }

  /** Overwrites slot `k` (one array per variable, sizes already checked). */
  writeSlot(k: number, arrays: Float32Array[]): void {
    flush(this.b);
    arrays.forEach((a, i) => this.b.device.queue.writeBuffer(this.slots[k], 4 * this.offsets[i], a));
  }

  dispose(): void {
    flush(this.b);
    for (const buf of [this.w, this.g, ...this.slots]) buf.destroy();
  }
}
