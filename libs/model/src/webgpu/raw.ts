/**
 * Raw WebGPU work recorded into the tfjs webgpu backend's own command stream: our compute
 * pipelines with any number of read-write bindings (tfjs programs have exactly one output), and
 * buffer-to-buffer copies that gather tensors into flat buffers and scatter them back — the
 * machinery for updating all of a model's variables in one dispatch (flat-update.ts).
 *
 * Everything goes through the backend's command encoder in order with its programs, and tensors
 * we read are marked as owned by the pending command buffer (as tfjs does), so their buffers are
 * not recycled before it is submitted. Dispatches and copies are reported to `countKernels`.
 * Relies on tfjs-backend-webgpu 4.x internals (tensorMap, commandEncoder, bufferManager).
 */
import * as tf from '@tensorflow/tfjs';
import { noteRawCopies, noteRawDispatch } from './kernel-count';

/** GPUBufferUsage bits (the global exists only once Dawn is installed). */
export const USAGE = { COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;

/* Minimal structural WebGPU types (the project does not load @webgpu/types). */
export interface GpuBuffer {
  readonly size: number;
  destroy(): void;
}
interface GpuPipeline {
  getBindGroupLayout(i: number): unknown;
}
interface GpuPass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
interface GpuEncoder {
  copyBufferToBuffer(src: GpuBuffer, so: number, dst: GpuBuffer, doff: number, size: number): void;
  beginComputePass(desc?: unknown): GpuPass;
}
interface GpuDevice {
  createBuffer(desc: { size: number; usage: number }): GpuBuffer;
  createShaderModule(desc: { code: string }): unknown;
  createComputePipeline(desc: unknown): GpuPipeline;
  createBindGroup(desc: unknown): unknown;
  queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView): void };
}
type BindingResource = { buffer: GpuBuffer; offset?: number; size?: number };
interface TensorData {
  resource?: unknown;
  refCount: number;
}
export interface WebGpuBackendInternals {
  device: GpuDevice;
  tensorMap: { get(dataId: unknown): TensorData };
  commandEncoder: GpuEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: unknown): void;
  makeTensorInfo(shape: number[], dtype: string): tf.TensorInfo;
  makeUniforms(u: Array<{ type: string; data: number[] }>): BindingResource;
}

/** The backend method our tfjs-style programs run through (one output tensor per program). */
export interface WebGpuProgramRunner {
  runWebGPUProgram(
    program: unknown,
    inputs: tf.TensorInfo[],
    dtype: string,
    uniforms?: Array<{ type: string; data: number[] }>,
  ): tf.TensorInfo;
  /** Frees a tensor's GPU buffer (intermediates of multi-program kernels). */
  disposeData(dataId: unknown, force?: boolean): boolean;
}

/** A webgpu kernel function as tfjs calls it. */
export type WebGpuKernelFn = (args: {
  inputs: Record<string, tf.TensorInfo>;
  backend: WebGpuProgramRunner;
  attrs: Record<string, unknown>;
}) => tf.TensorInfo;

/**
 * Replaces the registered webgpu kernel `name` with `make(stock)`, which may fall back to the stock
 * kernel it is given. Process-wide; call once per kernel.
 * @throws Error when the webgpu backend (and so the stock kernel) is not loaded.
 */
export function replaceWebGpuKernel(name: string, make: (stock: WebGpuKernelFn) => WebGpuKernelFn): void {
  const stockCfg = tf.getKernel(name, 'webgpu');
  if (!stockCfg) throw new Error('the webgpu backend is not loaded');
  const replacement = make(stockCfg.kernelFunc as unknown as WebGpuKernelFn);
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ ...stockCfg, kernelFunc: replacement as unknown as tf.KernelFunc });
}

/** A registered webgpu kernel's function (Reshape, BatchMatMul, …), to call from inside another kernel. */
export function webGpuKernel(name: string): WebGpuKernelFn {
  const k = tf.getKernel(name, 'webgpu');
  if (!k) throw new Error(`webgpu kernel ${name} is not registered`);
  return k.kernelFunc as unknown as WebGpuKernelFn;
}

/**
 * Starts reading `t` back now and returns its values' promise (await it later). On webgpu the copy
 * is recorded and submitted at once, so it waits only for the work submitted so far — not for a
 * next step or batch recorded after it. The promise never goes unhandled if it rejects before it is
 * awaited.
 */
export function startReadback(t: tf.Tensor): Promise<tf.TypedArray> {
  const read = t.data() as Promise<tf.TypedArray>;
  read.catch(() => undefined);
  return read;
}

/** The active webgpu backend's internals. @throws Error when the backend is not webgpu. */
export function webgpuBackend(): WebGpuBackendInternals {
  if (tf.getBackend() !== 'webgpu') throw new Error(`needs the webgpu backend, not ${tf.getBackend()}`);
  return tf.backend() as unknown as WebGpuBackendInternals;
}

/**
 * Submits the commands the webgpu backend has recorded but not yet submitted (it submits every
 * WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE programs, or when something is read back), so the GPU starts on
 * them now — e.g. at the end of a training step whose loss is read later. No-op on other backends or
 * with nothing pending.
 */
export function submitWebGpuWork(): void {
  if (tf.getBackend() !== 'webgpu') return;
  const b = webgpuBackend();
  if (!b.commandEncoder) return;
  b.endComputePassEncoder();
  b.submitQueue();
}

/** The GPU buffer holding a tensor (uploaded first if its values are on the CPU), kept until submit. */
export function bufferOf(b: WebGpuBackendInternals, t: tf.TensorInfo): GpuBuffer {
  b.uploadToGPU(t.dataId);
  b.commandQueueOwnedIds.add(t.dataId as object);
  return b.tensorMap.get(t.dataId).resource as GpuBuffer;
}

/** The backend's command encoder with no compute pass open (copies need that). */
export function encoder(b: WebGpuBackendInternals): GpuEncoder {
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  return b.commandEncoder as GpuEncoder;
}

/** A counter of copies recorded by a batch of `copy` calls (reported once). */
export class CopyRecorder {
  private n = 0;
  constructor(private readonly b: WebGpuBackendInternals) {}

  copy(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    encoder(this.b).copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.n++;
  }

  /** A new float32 tensor of `shape` holding `bytes` of `src` from `srcOffset`. */
  tensorFrom(src: GpuBuffer, srcOffset: number, shape: number[]): tf.Tensor {
    return tf.engine().makeTensorFromTensorInfo(this.infoFrom(src, srcOffset, shape));
  }

  /** The same as backend data only (what a kernel returns; the engine makes the tensor). */
  infoFrom(src: GpuBuffer, srcOffset: number, shape: number[]): tf.TensorInfo {
    const info = this.b.makeTensorInfo(shape, 'float32');
    const dst = bufferOf(this.b, info);
    this.copy(src, srcOffset, dst, 0, 4 * shape.reduce((a, c) => a * c, 1));
    return info;
  }

  done(): void {
    noteRawCopies(this.n);
    this.n = 0;
  }
}

const pipelines = new WeakMap<object, Map<string, GpuPipeline>>();

function pipeline(device: GpuDevice, code: string): GpuPipeline {
  let cache = pipelines.get(device as object);
  if (!cache) pipelines.set(device as object, (cache = new Map()));
  let p = cache.get(code);
  if (!p) {
    p = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
    });
    cache.set(code, p);
  }
  return p;
}

/**
 * Records one compute dispatch of `code` (entry point `main`, bindings 0..k−1 in group 0, the last
 * being the uniforms) over `workgroups` workgroups, in the backend's command stream.
 */
export function dispatch(
  b: WebGpuBackendInternals,
  name: string,
  code: string,
  buffers: GpuBuffer[],
  uniforms: Array<{ type: 'float32' | 'uint32' | 'int32'; data: number[] }>,
  workgroups: number,
): void {
  const p = pipeline(b.device, code);
  const entries: Array<{ binding: number; resource: BindingResource }> = buffers.map((buffer, i) => ({
    binding: i,
    resource: { buffer },
  }));
  entries.push({ binding: buffers.length, resource: b.makeUniforms(uniforms) });
  const group = b.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  const pass = encoder(b).beginComputePass();
  pass.setPipeline(p);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(workgroups);
  pass.end();
  noteRawDispatch(name);
}

/** A buffer of `floats` float32 zeros owned by the caller (destroy() when done). */
export function createFlatBuffer(b: WebGpuBackendInternals, floats: number): GpuBuffer {
  return b.device.createBuffer({
    size: Math.max(16, 4 * Math.ceil(floats / 4) * 4),
    usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
  });
}

/** Submits the pending command buffer so that later queue writes cannot overtake it. */
export function flush(b: WebGpuBackendInternals): void {
  if (b.commandEncoder) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
}
