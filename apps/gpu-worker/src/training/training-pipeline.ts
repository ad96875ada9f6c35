/**
 * One training run, end to end, as plain async code with no Nest, BullMQ or Prisma: it runs inside a
 * worker thread (train-thread.ts) so the main thread keeps renewing the BullMQ job lock. The main
 * thread owns the database; this side reports through `emit`.
 */
import {
  TensorCache,
  createObjectStoreFromConfig,
  hashParams,
  type ObjectStore,
  type StorageEnv,
} from '@fundus/storage';
import { IMAGENET_MEAN, IMAGENET_STD, augmentUint8, normalize, preprocessToUint8 } from '@fundus/imaging';
import {
  createModel,
  evaluate,
  exportOnnx,
  initBackend,
  loadCheckpoint,
  loadPretrainedWeights,
  saveCheckpoint,
  saveModel,
  trainModel,
  type Batch,
  type BatchRequest,
  type DataSource,
  type EpochRecord,
  type TrainState,
} from '@fundus/model';
import {
  buildRunReport,
  rocAuc,
  computeRunSummary,
  reportFiles,
  selectThreshold,
  type RunReportInput,
  type ThresholdPolicy,
} from '@fundus/metrics';
import type { RunConfig } from '@fundus/services';
import type * as tf from '@tensorflow/tfjs';

export interface TrainingItem {
  key: string;
  etag: string;
  label: number;
  split: 'train' | 'val' | 'test';
}

export interface TrainingInput {
  runId: string;
  config: RunConfig;
  seed: number;
  items: TrainingItem[];
  dataset: { name: string; labelMap: Record<string, number>; digest: string };
  storage: StorageEnv;
  cacheDir: string;
  cacheMaxBytes: number;
  /** Configured backend; the run's own `config.backend` wins. */
  backend: string;
  /** Storage key prefix of this run's files: `runs/<runId>`. */
  prefix: string;
  /** The run is a trial of a sweep with median stopping: ask after every epoch whether to stop. */
  medianStopping?: boolean;
}

export type TrainingEvent =
  | { type: 'started'; backend: string; resumedFromEpoch: number; skipped: { key: string; reason: string }[] }
  | { type: 'batch'; epoch: number; batch: number; batches: number; loss: number; epochs: number }
  | {
      type: 'epoch';
      epoch: number;
      trainLoss: number;
      valLoss?: number;
      valAuc?: number;
      lr: number;
      seconds: number;
      checkpointUri: string;
    };

export interface TrainingOutput {
  backend: string;
  epochsRun: number;
  stoppedEarly: boolean;
  /** Epoch after which the sweep's median stopping rule ended training, else null. */
  medianStoppedAt: number | null;
  threshold: number;
  policy: ThresholdPolicy;
  policyMet: boolean;
  policyNote?: string;
  /** Validation labels and scores (kept so sweeps can re-choose thresholds without retraining). */
  validation: { labels: number[]; scores: number[] };
  /** Test labels and scores at the end of training (the dashboard draws calibration from them). */
  test: { labels: number[]; scores: number[] };
  valMetrics: unknown;
  /** Validation AUC of the final model (null when validation has one class). */
  valAuc: number | null;
  summary: ReturnType<typeof computeRunSummary>;
  modelUri: string;
  /** The ONNX export next to the tfjs model, or null when export failed (`onnxError` says why). */
  onnxUri: string | null;
  onnxError: string | null;
  reportUri: string;
  inputSize: number;
  architecture: string;
}

/**
 * A DataSource over preprocessed RGB bytes held in memory (filled once from the tensor cache, so
 * epoch 2 onwards reads no storage and decodes no JPEG); augmentation and normalisation per batch.
 */
class MemoryImages implements DataSource {
  readonly labels: Int32Array;
  readonly size: number;
  constructor(
    private readonly images: Uint8Array[],
    labels: number[],
    private readonly side: number,
  ) {
    this.labels = Int32Array.from(labels);
    this.size = images.length;
  }
  batch(indices: number[], request: BatchRequest): Batch {
    const per = this.side * this.side * 3;
    const x = new Float32Array(indices.length * per);
    const y = new Int32Array(indices.length);
    indices.forEach((idx, i) => {
      const rgb =
        request.augment && request.seeds
          ? augmentUint8(this.images[idx], this.side, { seed: request.seeds[i] })
          : this.images[idx];
      x.set(normalize(rgb, IMAGENET_MEAN, IMAGENET_STD), i * per);
      y[i] = this.labels[idx];
    });
    return { x, y };
  }
}

function safeAuc(labels: Int32Array, scores: Float32Array): number | null {
  try {
    return rocAuc(labels, scores);
  } catch {
    return null;
  }
}

function policyOf(config: RunConfig): ThresholdPolicy {
  return config.thresholdPolicy as ThresholdPolicy;
}

async function loadImages(
  input: TrainingInput,
  store: ObjectStore,
  cache: TensorCache,
): Promise<{
  splits: Record<TrainingItem['split'], { images: Uint8Array[]; labels: number[] }>;
  skipped: { key: string; reason: string }[];
}> {
  const size = input.config.model.inputSize;
  const params = hashParams({ v: 1, size, enhance: input.config.enhance, crop: 'fov' });
  const splits = {
    train: { images: [], labels: [] },
    val: { images: [], labels: [] },
    test: { images: [], labels: [] },
  } as Record<TrainingItem['split'], { images: Uint8Array[]; labels: number[] }>;
  const skipped: { key: string; reason: string }[] = [];
  for (const item of input.items) {
    try {
      const tensor = await cache.getOrCompute({ etag: item.etag, params }, async () => {
        const pre = await preprocessToUint8(await store.getBuffer(item.key), {
          size,
          enhance: input.config.enhance,
        });
        return { data: pre.data, shape: [size, size, 3] };
      });
      splits[item.split].images.push(tensor.data as Uint8Array);
      splits[item.split].labels.push(item.label);
    } catch (err) {
      // An unreadable training image is reported, not fatal; its key is ours, its content never logged.
      skipped.push({ key: item.key, reason: (err as Error).message.split('\n')[0] });
    }
  }
  return { splits, skipped };
}

/**
 * Trains, checkpoints every epoch, chooses the threshold on VALIDATION scores by the run's policy,
 * evaluates the test split at that threshold, and writes the model and report to storage.
 * Resumes from `<prefix>/checkpoint` when one exists (a retried job).
 */
export async function runTraining(
  input: TrainingInput,
  emit: (event: TrainingEvent) => void,
  signal: AbortSignal,
  /** Median stopping (sweeps): asked after each epoch's checkpoint; true stops training there. */
  shouldStop?: (epoch: number) => boolean,
): Promise<TrainingOutput> {
  const { config } = input;
  const backend = await initBackend((config.backend ?? input.backend) as never);
  const store = createObjectStoreFromConfig(input.storage);
  const cache = await TensorCache.open({ dir: input.cacheDir, maxBytes: input.cacheMaxBytes });
  const checkpointPrefix = `${input.prefix}/checkpoint`;
  let onnxError: string | null = null;
  try {
    const { splits, skipped } = await loadImages(input, store, cache);
    const size = config.model.inputSize;
    const train = new MemoryImages(splits.train.images, splits.train.labels, size);
    const val = new MemoryImages(splits.val.images, splits.val.labels, size);
    const test = new MemoryImages(splits.test.images, splits.test.labels, size);
    if (train.size === 0 || val.size === 0 || test.size === 0) {
      throw new Error(`every split needs images: train ${train.size}, val ${val.size}, test ${test.size}`);
    }

    let model: tf.LayersModel;
    let resume: TrainState | undefined;
    if (await store.stat(`${checkpointPrefix}/train-state.json`)) {
      const cp = await loadCheckpoint(store, checkpointPrefix);
      model = cp.model;
      resume = cp.state;
    } else {
      model = createModel({
        architecture: config.model.architecture,
        inputSize: size,
        seed: input.seed,
        widths: config.model.widths,
      });
      if (config.model.pretrainedUri) {
        await loadPretrainedWeights(model, store, store.keyFromUri(config.model.pretrainedUri));
      }
    }
    emit({ type: 'started', backend: backend.backend, resumedFromEpoch: resume?.epochsDone ?? 0, skipped });

    // Our own controller: a median stop ends training after a whole epoch and still evaluates;
    // a cancel or shutdown (the caller's signal) ends the run.
    const inner = new AbortController();
    const onOuterAbort = () => inner.abort();
    signal.addEventListener('abort', onOuterAbort);
    const history: EpochRecord[] = [...(resume?.history ?? [])];
    let medianStopAt: number | null = null;
    let stoppedEarly = false;
    try {
      const result = await trainModel({
        model,
        train,
        val,
        resume,
        signal: inner.signal,
        config: {
          loss: config.loss,
          optimizer: config.optimizer,
          learningRate: config.learningRate,
          weightDecay: config.weightDecay,
          schedule: config.schedule,
          epochs: config.epochs,
          batchSize: config.batchSize,
          seed: input.seed,
          augment: config.augment,
          classBalancedSampling: config.classBalancedSampling,
          earlyStopping: config.earlyStopping,
        },
        callbacks: {
          onBatchEnd: (b) =>
            emit({
              type: 'batch',
              epoch: b.epoch,
              batch: b.batch,
              batches: b.batches,
              loss: b.loss,
              epochs: config.epochs,
            }),
          onEpochEnd: async (record, ctx) => {
            await saveCheckpoint(model, await ctx.state(), store, checkpointPrefix, { runId: input.runId });
            emit({
              type: 'epoch',
              epoch: record.epoch,
              trainLoss: record.trainLoss,
              valLoss: record.valLoss,
              valAuc: record.valAuc,
              lr: record.learningRate,
              seconds: record.seconds,
              checkpointUri: store.uriFor(checkpointPrefix),
            });
            history.push(record);
            if (record.epoch < config.epochs && shouldStop?.(record.epoch)) {
              medianStopAt = record.epoch;
              inner.abort();
            }
          },
        },
      });
      stoppedEarly = result.stoppedEarly;
    } catch (err) {
      const aborted = (err as { code?: string }).code === 'aborted';
      if (!(aborted && medianStopAt !== null && !signal.aborted)) throw err;
      stoppedEarly = true;
    } finally {
      signal.removeEventListener('abort', onOuterAbort);
    }

    const valEval = await evaluate(model, val, { batchSize: config.batchSize, signal });
    const testEval = await evaluate(model, test, { batchSize: config.batchSize, signal });
    const policy = policyOf(config);
    // The operating point comes from validation data only; the test split is evaluated at it.
    const selection = selectThreshold(valEval.labels, valEval.scores, policy);
    const count = (labels: number[]) => ({
      normal: labels.filter((l) => l === 0).length,
      disease: labels.filter((l) => l === 1).length,
    });
    const reportInput: RunReportInput = {
      runId: input.runId,
      config: { ...config, seed: input.seed, backend: backend.backend } as Record<string, unknown>,
      dataset: {
        name: input.dataset.name,
        labelMap: input.dataset.labelMap,
        digest: input.dataset.digest,
        splits: {
          train: count(splits.train.labels),
          validation: count(splits.val.labels),
          test: count(splits.test.labels),
        },
      },
      epochs: history.map((h) => ({
        epoch: h.epoch,
        trainLoss: h.trainLoss,
        valLoss: h.valLoss,
        valAuc: h.valAuc,
      })),
      test: { labels: testEval.labels, scores: testEval.scores },
      threshold: selection,
    };
    const report = await buildRunReport(reportInput);
    const reportPrefix = `${input.prefix}/report`;
    for (const file of reportFiles(report, report.summary)) {
      await store.put(`${reportPrefix}/${file.path}`, file.body, { contentType: file.contentType });
    }
    const modelPrefix = `${input.prefix}/model`;
    await saveModel(model, store, modelPrefix, { runId: input.runId, threshold: selection.threshold });
    // The version also holds an ONNX export (batch norm folded, dynamic batch) for ONNX Runtime
    // scoring on CPU hosts. A model the exporter cannot express is still usable through tfjs.
    let onnxUri: string | null = null;
    try {
      const onnxKey = `${modelPrefix}/model.onnx`;
      await store.put(onnxKey, Buffer.from(exportOnnx(model)), { contentType: 'application/octet-stream' });
      onnxUri = store.uriFor(onnxKey);
    } catch (err) {
      onnxError = (err as Error).message;
    }
    model.dispose();
    return {
      backend: backend.backend,
      epochsRun: history.length,
      stoppedEarly,
      medianStoppedAt: medianStopAt,
      threshold: selection.threshold,
      policy,
      policyMet: selection.met,
      policyNote: selection.reason,
      validation: { labels: Array.from(valEval.labels), scores: Array.from(valEval.scores) },
      test: { labels: Array.from(testEval.labels), scores: Array.from(testEval.scores) },
      valMetrics: selection.metrics,
      valAuc: safeAuc(valEval.labels, valEval.scores),
      summary: report.summary,
      modelUri: store.uriFor(modelPrefix),
      onnxUri,
      onnxError,
      reportUri: store.uriFor(`${reportPrefix}/report.html`),
      inputSize: size,
      architecture: config.model.architecture,
    };
  } finally {
    await store.close();
  }
}
