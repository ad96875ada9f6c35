/**
 * Saving and loading models and training checkpoints through a tiny key/value interface that
 * libs/storage's ObjectStore satisfies structurally (`put`, `getBuffer`).
 *
 * Layout under a prefix `p`:
 * - `p/model.json`  tfjs layers format (topology + weightsManifest → `weights.bin`), loadable by
 *   `tf.loadLayersModel`; `userDefinedMetadata.fundus` holds our metadata.
 * - `p/weights.bin` float32 weights (trainable and batch-norm moving statistics).
 * Checkpoints add:
 * - `p/train-state.json` loop state (epoch, RNG state, history, early stopping, optimizer layout).
 * - `p/optimizer.bin` the optimizer's slot tensors, concatenated float32.
 */
import * as tf from '@tensorflow/tfjs';
import { loadWeightsByName } from './architectures';
import { ModelError } from './errors';
import type { OptimizerState } from './optimizers';
import type { TrainState } from './train';

/** The storage this module needs; libs/storage's ObjectStore fits it. */
export interface ModelStore {
  put(key: string, body: Buffer | Uint8Array | string, options?: { contentType?: string }): Promise<unknown>;
  /** Whole object; must reject when the key is absent. */
  getBuffer(key: string): Promise<Buffer>;
}

/** An in-memory ModelStore (tests, and passing models between threads as bytes). */
export class MemoryModelStore implements ModelStore {
  readonly objects = new Map<string, Buffer>();

  async put(key: string, body: Buffer | Uint8Array | string): Promise<void> {
    this.objects.set(key, typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body));
  }

  async getBuffer(key: string): Promise<Buffer> {
    const b = this.objects.get(key);
    if (!b) throw new ModelError('not-found', `no object at "${key}"`);
    return Buffer.from(b);
  }
}

/** Metadata stored with a model. */
export interface SavedModelMeta {
  format: 'fundus-model/v1';
  /** Input side in pixels. */
  inputSize: number;
  /** Anything the caller wants to keep with the model (architecture, threshold, run id…). */
  extra?: Record<string, unknown>;
}

const CHECKPOINT_FORMAT = 'fundus-checkpoint/v1';

function join(prefix: string, name: string): string {
  const p = prefix.replace(/\/+$/, '');
  return p ? `${p}/${name}` : name;
}

function toBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  const buf = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(buf);
}

async function read(store: ModelStore, key: string): Promise<Buffer> {
  try {
    return await store.getBuffer(key);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError('not-found', `cannot read "${key}": ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes `model` as `prefix/model.json` + `prefix/weights.bin`.
 * @returns the keys written
 */
export async function saveModel(
  model: tf.LayersModel,
  store: ModelStore,
  prefix: string,
  extra?: Record<string, unknown>,
): Promise<{ modelKey: string; weightsKey: string }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.modelTopology || !artifacts.weightSpecs) {
    throw new ModelError('internal', 'model.save produced no topology or weight specs');
  }
  const inputSize = model.inputs[0].shape[1] as number;
  const meta: SavedModelMeta = { format: 'fundus-model/v1', inputSize, extra };
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    userDefinedMetadata: { fundus: meta },
  };
  const modelKey = join(prefix, 'model.json');
  const weightsKey = join(prefix, 'weights.bin');
  await store.put(weightsKey, toBytes(artifacts.weightData), { contentType: 'application/octet-stream' });
  await store.put(modelKey, JSON.stringify(modelJson), { contentType: 'application/json' });
  return { modelKey, weightsKey };
}

/**
 * Loads a model written by `saveModel` (or any single-shard tfjs layers model whose
 * weightsManifest paths are relative to model.json).
 * @throws ModelError `not-found` when an object is missing, `incompatible-checkpoint` when malformed.
 */
export async function loadModel(
  store: ModelStore,
  prefix: string,
): Promise<{ model: tf.LayersModel; meta?: SavedModelMeta }> {
  const raw = await read(store, join(prefix, 'model.json'));
  let json: {
    modelTopology?: object;
    weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
    userDefinedMetadata?: { fundus?: SavedModelMeta };
  };
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ModelError('incompatible-checkpoint', `"${join(prefix, 'model.json')}" is not JSON`, {
      cause: err,
    });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelError(
      'incompatible-checkpoint',
      `"${join(prefix, 'model.json')}" has no modelTopology or weightsManifest`,
    );
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) shards.push(await read(store, join(prefix, p)));
  }
  const total = shards.reduce((n, s) => n + s.length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const s of shards) {
    all.set(s, off);
    off += s.length;
  }
  try {
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: all.buffer }),
    );
    return { model, meta: json.userDefinedMetadata?.fundus };
  } catch (err) {
    throw new ModelError(
      'incompatible-checkpoint',
      `cannot build model from "${join(prefix, 'model.json')}": ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Loads weights by layer name from a tfjs layers model stored under `prefix` (model.json plus its
 * weight shards) — e.g. keras.applications.ResNet50 ImageNet weights converted with
 * tensorflowjs_converter — into `model`. Layers absent from the source (our 2-logit head) keep their
 * initial weights.
 * @returns names loaded and names left untouched
 * @throws ModelError `not-found`, `incompatible-checkpoint` (unreadable, or a shape mismatch)
 */
export async function loadPretrainedWeights(
  model: tf.LayersModel,
  store: ModelStore,
  prefix: string,
): Promise<{ loaded: string[]; missing: string[] }> {
  const key = join(prefix, 'model.json');
  let json: { weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
  try {
    json = JSON.parse((await read(store, key)).toString('utf8'));
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError('incompatible-checkpoint', `"${key}" is not JSON`, { cause: err });
  }
  if (!Array.isArray(json.weightsManifest))
    throw new ModelError('incompatible-checkpoint', `"${key}" has no weightsManifest`);
  const named: Record<string, tf.Tensor> = {};
  try {
    for (const group of json.weightsManifest) {
      const shards = await Promise.all(group.paths.map((p) => read(store, join(prefix, p))));
      const bytes = Buffer.concat(shards);
      const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      Object.assign(named, tf.io.decodeWeights(buf, group.weights));
    }
    return loadWeightsByName(model, named);
  } finally {
    tf.dispose(Object.values(named));
  }
}

interface StoredTrainState extends Omit<TrainState, 'optimizer'> {
  format: typeof CHECKPOINT_FORMAT;
  optimizer: Omit<OptimizerState, 'slots'> & { slotSizes: number[][] };
}

/**
 * Writes a resumable checkpoint: the model (as `saveModel`) plus loop and optimizer state.
 * @param state from `EpochContext.state()` or `TrainResult.state`
 */
export async function saveCheckpoint(
  model: tf.LayersModel,
  state: TrainState,
  store: ModelStore,
  prefix: string,
  extra?: Record<string, unknown>,
): Promise<void> {
  const slotSizes = state.optimizer.slots.map((s) => s.map((a) => a.length));
  const total = slotSizes.flat().reduce((a, b) => a + b, 0);
  const bin = new Float32Array(total);
  let off = 0;
  for (const s of state.optimizer.slots) {
    for (const a of s) {
      bin.set(a, off);
      off += a.length;
    }
  }
  const stored: StoredTrainState = {
    ...state,
    format: CHECKPOINT_FORMAT,
    optimizer: {
      kind: state.optimizer.kind,
      step: state.optimizer.step,
      names: state.optimizer.names,
      slotSizes,
    },
  };
  await saveModel(model, store, prefix, extra);
  await store.put(join(prefix, 'optimizer.bin'), new Uint8Array(bin.buffer), {
    contentType: 'application/octet-stream',
  });
  // Written last: its presence marks a complete checkpoint.
  await store.put(join(prefix, 'train-state.json'), JSON.stringify(stored), {
    contentType: 'application/json',
  });
}

/**
 * Reads a checkpoint written by `saveCheckpoint`; pass `model` and `state` to `trainModel`
 * as `model` and `resume`.
 * @throws ModelError `not-found`, `incompatible-checkpoint`
 */
export async function loadCheckpoint(
  store: ModelStore,
  prefix: string,
): Promise<{ model: tf.LayersModel; state: TrainState; meta?: SavedModelMeta }> {
  const raw = await read(store, join(prefix, 'train-state.json'));
  const stored = JSON.parse(raw.toString('utf8')) as StoredTrainState;
  if (stored.format !== CHECKPOINT_FORMAT) {
    throw new ModelError(
      'incompatible-checkpoint',
      `"${join(prefix, 'train-state.json')}" has format "${String(stored.format)}", expected ${CHECKPOINT_FORMAT}`,
    );
  }
  const binBuf = await read(store, join(prefix, 'optimizer.bin'));
  const bin = new Float32Array(binBuf.buffer.slice(binBuf.byteOffset, binBuf.byteOffset + binBuf.byteLength));
  const expected = stored.optimizer.slotSizes.flat().reduce((a, b) => a + b, 0);
  if (bin.length !== expected) {
    throw new ModelError(
      'incompatible-checkpoint',
      `optimizer.bin holds ${bin.length} floats, train-state.json expects ${expected}`,
    );
  }
  let off = 0;
  const slots = stored.optimizer.slotSizes.map((sizes) =>
    sizes.map((n) => {
      const a = bin.slice(off, off + n);
      off += n;
      return a;
    }),
  );
  const { model, meta } = await loadModel(store, prefix);
  const { format: _format, optimizer, ...rest } = stored;
  void _format;
  return {
    model,
    meta,
    state: {
      ...rest,
      optimizer: { kind: optimizer.kind, step: optimizer.step, names: optimizer.names, slots },
    },
  };
}
