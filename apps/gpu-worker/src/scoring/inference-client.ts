import type { Worker } from 'node:worker_threads';
import type { BackendInfo, BackendName } from '@fundus/model';
import { spawnThread } from './decode-pool';
import type { OrtOptions, OrtProvider } from './ort-providers';
import { ScoringError } from './scoring.types';

interface Reply {
  req: number;
  ok: boolean;
  result?: unknown;
  error?: { name: string; code?: string; message: string };
}

/**
 * The main-thread side of inference-thread.ts: one worker thread per process, started on first
 * use; requests are matched to replies by number. If the thread dies, pending requests fail with
 * ScoringError `inference-thread` and the next request starts a new thread (models are loaded again
 * by the cache, which drops its entries through `onRestart`).
 */
export class InferenceClient {
  private worker?: Worker;
  private ready?: Promise<BackendInfo>;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly backend: BackendName,
    private readonly onRestart: () => void = () => undefined,
  ) {}

  /** Starts the thread and initialises its backend (once). */
  start(): Promise<BackendInfo> {
    if (!this.ready) {
      this.worker = this.spawn();
      this.ready = this.call<BackendInfo>({ kind: 'init', backend: this.backend });
    }
    return this.ready;
  }

  /**
   * Loads a model under `id` from its files (`prefix/model.json`, shards) or, with `onnx` bytes, from
   * an ONNX graph; `engine: 'onnx'` runs it on ONNX Runtime (provider and threads from `ort`),
   * exporting tfjs files once.
   * @returns its input side, the engine that holds it, ORT's provider, and why ORT fell back to CPU
   *   (`note`, the first time only)
   */
  async load(
    id: string,
    prefix: string,
    files: Record<string, Uint8Array>,
    opts: { engine?: 'tfjs' | 'onnx'; onnx?: Uint8Array; ort?: OrtOptions } = {},
  ): Promise<{ inputSize: number; engine: 'tfjs' | 'onnx'; provider?: OrtProvider; note?: string }> {
    await this.start();
    return this.call({ kind: 'load', id, prefix, files, ...opts });
  }

  /**
   * P(disease) for `x` (NHWC float32, n × S × S × 3); `x`'s buffer is transferred to the thread and
   * must not be used afterwards.
   */
  async predict(id: string, x: Float32Array, batchSize: number): Promise<Float32Array> {
    await this.start();
    return this.call({ kind: 'predict', id, x, batchSize }, [x.buffer as ArrayBuffer]);
  }

  async unload(id: string): Promise<void> {
    if (!this.ready) return;
    await this.call({ kind: 'unload', id });
  }

  /** Stops the thread. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    await w?.terminate();
  }

  private spawn(): Worker {
    // Same extension as this file: .ts under tsx or jest, .js once built (spawnThread).
    const worker = spawnThread('inference-thread');
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.req);
      if (!p) return;
      this.pending.delete(m.req);
      if (m.ok) p.resolve(m.result);
      else
        p.reject(
          new ScoringError(
            m.error?.code === 'not-loaded' ? 'model-unreadable' : 'inference-failed',
            m.error?.message ?? 'inference failed',
          ),
        );
    });
    const fail = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.ready = undefined;
      for (const [, p] of this.pending) p.reject(new ScoringError('inference-thread', why));
      this.pending.clear();
      this.onRestart();
    };
    worker.on('error', (err) => fail(`inference thread failed: ${err.message}`));
    worker.on('exit', (code) => fail(`inference thread exited with code ${code}`));
    // The thread keeps the process alive only while it has work.
    worker.unref();
    return worker;
  }

  private call<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    const worker = this.worker;
    if (!worker)
      return Promise.reject(new ScoringError('inference-thread', 'inference thread is not running'));
    const req = this.next++;
    if (this.pending.size === 0) worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(req, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...msg, req }, transfer);
    }).finally(() => {
      if (this.pending.size === 0 && this.worker === worker) worker.unref();
    });
  }
}
