import type { ModelVersion } from '@fundus/db';
import type { BackendInfo, BackendName } from '@fundus/model';
import type { ObjectStore } from '@fundus/storage';
import { InferenceClient } from './inference-client';
import type { OrtOptions, OrtProvider } from './ort-providers';
import { ScoringError, type ScoringLogger } from './scoring.types';

/** A model ready to score, with what the scorer needs from its version row. */
export interface LoadedModel {
  modelVersionId: string;
  /** Input side in pixels. */
  inputSize: number;
  /** Operating threshold on P(disease). */
  threshold: number;
  /** What infers: tfjs on MODEL_BACKEND, or ONNX Runtime. */
  engine: 'tfjs' | 'onnx';
  /** ONNX Runtime's execution provider (engine `onnx` only). */
  provider?: OrtProvider;
  /**
   * P(disease) in [0, 1] for n images, inferred on the inference thread.
   * @param x NHWC float32, n × inputSize × inputSize × 3 (its buffer is transferred away)
   */
  predict(x: Float32Array, batchSize: number): Promise<Float32Array>;
}

/**
 * The store key of a model version's folder: its `uri` points at the folder or at its `model.json`,
 * and must lie inside `store`.
 */
export function modelPrefix(store: ObjectStore, uri: string): string {
  let key: string;
  try {
    key = store.keyFromUri(uri.replace(/\/+$/, ''));
  } catch (err) {
    throw new ScoringError('model-unreadable', `model URI is not inside the store ${store.rootUri}`, {
      cause: err,
    });
  }
  return key.endsWith('model.json') ? key.slice(0, -'model.json'.length).replace(/\/+$/, '') : key;
}

/**
 * SCORING_ENGINE: `onnx` = ONNX Runtime for every version (its `onnxUri` graph, else the tfjs model
 * exported on first load); `tfjs` = tfjs always; `auto` = ONNX Runtime when the version has an
 * `onnxUri`, tfjs otherwise. Versions must be in `tfjs-layers` format either way.
 */
export type ScoringEngineName = 'auto' | 'tfjs' | 'onnx';

interface Entry {
  loading: Promise<LoadedModel>;
  users: number;
  evicted: boolean;
}

/**
 * Loads each model version at most once per process, onto the inference thread, and keeps the
 * `capacity` most recently used; an evicted model is unloaded once no chunk uses it any more.
 */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly thread: InferenceClient;
  /** Model versions loaded from storage so far (tests and logs). */
  loads = 0;

  constructor(
    private readonly store: ObjectStore,
    backendName: BackendName,
    private readonly capacity = 2,
    private readonly engine: ScoringEngineName = 'auto',
    /** ONNX Runtime provider and threads (SCORING_ORT_PROVIDERS, SCORING_ORT_THREADS). */
    private readonly ort: OrtOptions = { providers: 'cpu', threads: 0 },
    private readonly logger?: Pick<ScoringLogger, 'warn' | 'log'>,
  ) {
    // A restarted thread has no models: forget them all so the next use loads again.
    this.thread = new InferenceClient(backendName, () => this.entries.clear());
  }

  /** The inference thread's backend (starts the thread). */
  backendInfo(): Promise<BackendInfo> {
    return this.thread.start();
  }

  /**
   * Runs `use` with the loaded model of `mv`; concurrent callers share one load, and a failed load
   * is not cached.
   */
  async use<T>(mv: ModelVersion, use: (m: LoadedModel) => Promise<T>): Promise<T> {
    let entry = this.entries.get(mv.id);
    if (entry) {
      // Re-insert: Map order is the LRU order.
      this.entries.delete(mv.id);
    } else {
      entry = { loading: this.load(mv), users: 0, evicted: false };
      const e = entry;
      e.loading.catch(() => {
        if (this.entries.get(mv.id) === e) this.entries.delete(mv.id);
      });
    }
    this.entries.set(mv.id, entry);
    entry.users += 1;
    this.evict();
    try {
      return await use(await entry.loading);
    } finally {
      entry.users -= 1;
      if (entry.evicted && entry.users === 0) this.dispose(mv.id, entry);
    }
  }

  private async load(mv: ModelVersion): Promise<LoadedModel> {
    if (mv.format !== 'tfjs-layers') {
      throw new ScoringError(
        'unsupported-model',
        `model version ${mv.id}: format "${mv.format}" cannot be scored (tfjs-layers only; its ONNX export goes in onnxUri)`,
      );
    }
    const onnxUri = mv.onnxUri;
    const useOnnx = this.engine === 'onnx' || (this.engine === 'auto' && onnxUri != null);
    let prefix = '';
    let files: Record<string, Uint8Array> = {};
    let onnx: Uint8Array | undefined;
    if (useOnnx && onnxUri) onnx = await this.readOnnx(mv.id, onnxUri);
    else {
      prefix = modelPrefix(this.store, mv.uri);
      files = await this.readFiles(mv.id, prefix);
    }
    let inputSize: number;
    let engine: 'tfjs' | 'onnx';
    let provider: OrtProvider | undefined;
    try {
      let note: string | undefined;
      ({ inputSize, engine, provider, note } = await this.thread.load(mv.id, prefix, files, {
        engine: useOnnx ? 'onnx' : 'tfjs',
        onnx,
        ort: this.ort,
      }));
      // Once per inference thread: why ORT scores on CPU rather than the configured provider.
      if (note && this.ort.providers === 'auto') this.logger?.log(note);
      else if (note) this.logger?.warn(note);
    } catch (err) {
      if (err instanceof ScoringError && err.code === 'inference-thread') throw err;
      throw new ScoringError('model-unreadable', `model version ${mv.id}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (inputSize !== mv.inputSize) {
      await this.thread.unload(mv.id);
      throw new ScoringError(
        'unsupported-model',
        `model version ${mv.id}: model input is ${inputSize} px but the version row says ${mv.inputSize}`,
      );
    }
    this.loads += 1;
    return {
      modelVersionId: mv.id,
      inputSize: mv.inputSize,
      threshold: mv.threshold,
      engine,
      ...(provider ? { provider } : {}),
      predict: (x, batchSize) => this.thread.predict(mv.id, x, batchSize),
    };
  }

  /** The ONNX graph at `uri` (inside the store). */
  private async readOnnx(id: string, uri: string): Promise<Uint8Array> {
    try {
      return await this.store.getBuffer(this.store.keyFromUri(uri));
    } catch (err) {
      throw new ScoringError(
        'model-unreadable',
        `model version ${id}: cannot read its ONNX graph: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /** `model.json` and the weight shards it names, read from the store. */
  private async readFiles(id: string, prefix: string): Promise<Record<string, Uint8Array>> {
    const join = (name: string) => (prefix ? `${prefix}/${name}` : name);
    const files: Record<string, Uint8Array> = {};
    try {
      const json = await this.store.getBuffer(join('model.json'));
      files[join('model.json')] = json;
      const manifest =
        (JSON.parse(json.toString('utf8')) as { weightsManifest?: Array<{ paths?: string[] }> })
          .weightsManifest ?? [];
      for (const group of manifest) {
        for (const p of group.paths ?? []) files[join(p)] = await this.store.getBuffer(join(p));
      }
    } catch (err) {
      throw new ScoringError(
        'model-unreadable',
        `model version ${id}: cannot read its files: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return files;
  }

  private evict(): void {
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(id);
      entry.evicted = true;
      if (entry.users === 0) this.dispose(id, entry);
    }
  }

  private dispose(id: string, entry: Entry): void {
    entry.loading.then(
      () => this.thread.unload(id).catch(() => undefined),
      () => undefined,
    );
  }

  /** Number of model versions held. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets every model and stops the inference thread (process shutdown, tests). */
  async close(): Promise<void> {
    this.entries.clear();
    await this.thread.close();
  }
}
