import type { WorkerConfig } from '@fundus/config';
import type { PrismaClient } from '@fundus/db';
import type { JobQueues } from '@fundus/jobs';
import type { ObjectStore } from '@fundus/storage';

/** The logging the scoring handlers need (Nest's Logger and ConsoleLogger fit). */
export interface ScoringLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the scoring handlers are built from; the worker module provides each. */
export interface ScoringDeps {
  prisma: PrismaClient;
  /** The store the images and model files live in; results CSVs are written to it too. */
  store: ObjectStore;
  queues: JobQueues;
  config: Pick<
    WorkerConfig,
    'INTAKE_PREFIX' | 'MODEL_BACKEND' | 'NIGHTLY_ENABLED' | 'NIGHTLY_CRON' | 'NIGHTLY_TZ'
  > &
    Partial<
      Pick<
        WorkerConfig,
        | 'SCORING_ENGINE'
        | 'SCORING_ORT_PROVIDERS'
        | 'SCORING_ORT_THREADS'
        | 'SCORING_DECODE_THREADS'
        | 'SCORING_BATCH_SIZE'
      >
    >;
  logger: ScoringLogger;
  /**
   * Keys per ScoreChunk job, 1–10,000. Default 64 (about 2–20 s of work per chunk on one CPU core
   * for tiny-resnet … resnet50 at small input sizes). A `scoring.chunkSize` row in the Setting
   * table overrides it at plan time.
   */
  chunkSize?: number;
  /**
   * Largest forward pass, 1–256 images. Default SCORING_BATCH_SIZE, else 8. Passes are shared by
   * the chunks scoring with the same model at once, and smaller while decoding cannot keep up
   * (batcher.ts).
   */
  batchSize?: number;
  /** Images of one chunk fetched and decoded ahead of inference, 1–256. Default 16. */
  prefetch?: number;
}

/** Setting key whose JSON number overrides the chunk size at plan time. */
export const CHUNK_SIZE_SETTING = 'scoring.chunkSize';
export const DEFAULT_CHUNK_SIZE = 64;
export const DEFAULT_BATCH_SIZE = 8;
export const DEFAULT_PREFETCH = 16;

/** Id of the BullMQ job scheduler that fires NightlyRescore (defined with the job contract). */
export { NIGHTLY_SCHEDULER_ID } from '@fundus/jobs';

/** Key of a scoring job's results CSV in the store. */
export function resultsKey(scoringJobId: string): string {
  return `scoring/${scoringJobId}/results.csv`;
}

/** Why scoring failed; `retryable` says whether trying the job again may help. */
export type ScoringErrorCode =
  | 'not-found'
  | 'unsupported-model'
  | 'model-unreadable'
  | 'invalid-config'
  /** The inference thread died (e.g. out of memory); a retry starts a new one. */
  | 'inference-thread'
  | 'inference-failed';

/** A scoring failure; those that are not `retryable` (bad model version, missing rows) fail the job at once. */
export class ScoringError extends Error {
  override readonly name = 'ScoringError';
  readonly retryable: boolean;
  constructor(
    readonly code: ScoringErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = code === 'inference-thread' || code === 'inference-failed';
  }
}
