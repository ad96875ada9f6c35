import type { ModelVersion } from '@fundus/db';
import { initBackend, loadModel, type BackendInfo, type BackendName } from '@fundus/model';
import type { ObjectStore } from '@fundus/storage';
import type { LayersModel } from '@tensorflow/tfjs';
import { ScoringError } from './scoring.types';

/** A model ready to score, with what the scorer needs from its version row. */
export interface LoadedModel {
  modelVersionId: string;
  model: LayersModel;
  /** Input side in pixels. */
  inputSize: number;
  /** Operating threshold on P(disease). */
  threshold: number;
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

interface Entry {
  loading: Promise<LoadedModel>;
  users: number;
  evicted: boolean;
}

/**
 * Loads each model version at most once per process and keeps the `capacity` most recently used;
 * an evicted model is disposed once no chunk uses it any more. The tfjs backend is initialised on
 * first use.
 */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private backend?: Promise<BackendInfo>;
  /** Model versions loaded from storage so far (tests and logs). */
  loads = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly backendName: BackendName,
    private readonly capacity = 2,
  ) {}

  /** The initialised backend (after the first `acquire`). */
  backendInfo(): Promise<BackendInfo> | undefined {
    return this.backend;
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
      if (entry.evicted && entry.users === 0) this.dispose(entry);
    }
  }

  private async load(mv: ModelVersion): Promise<LoadedModel> {
    if (mv.format !== 'tfjs-layers') {
      throw new ScoringError(
        'unsupported-model',
        `model version ${mv.id}: format "${mv.format}" cannot be scored (tfjs-layers only)`,
      );
    }
    this.backend ??= initBackend(this.backendName);
    await this.backend;
    let model: LayersModel;
    try {
      ({ model } = await loadModel(this.store, modelPrefix(this.store, mv.uri)));
    } catch (err) {
      throw new ScoringError('model-unreadable', `model version ${mv.id}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const side = model.inputs[0].shape[1];
    if (side !== mv.inputSize) {
      model.dispose();
      throw new ScoringError(
        'unsupported-model',
        `model version ${mv.id}: model input is ${side} px but the version row says ${mv.inputSize}`,
      );
    }
    this.loads += 1;
    return { modelVersionId: mv.id, model, inputSize: mv.inputSize, threshold: mv.threshold };
  }

  private evict(): void {
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(id);
      entry.evicted = true;
      if (entry.users === 0) this.dispose(entry);
    }
  }

  private dispose(entry: Entry): void {
    entry.loading.then(
      (m) => m.model.dispose(),
      () => undefined,
    );
  }

  /** Number of model versions held. */
  get size(): number {
    return this.entries.size;
  }

  /** Disposes every cached model that no chunk is using. */
  clear(): void {
    for (const [id, entry] of this.entries) {
      this.entries.delete(id);
      entry.evicted = true;
      if (entry.users === 0) this.dispose(entry);
    }
  }
}
