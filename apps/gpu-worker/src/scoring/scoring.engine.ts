import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import {
  DbError,
  ModelsRepository,
  PredictionsRepository,
  predictionKey,
  SCORING_TERMINAL,
  ScoringJobsRepository,
  type ModelVersion,
  type NewPrediction,
  type ScoringItem,
  type ScoringJob,
} from '@fundus/db';
import { JobName } from '@fundus/jobs';
import type { BackendName } from '@fundus/model';
import { isStorageError, type ObjectInfo } from '@fundus/storage';
import { InferenceBatcher } from './batcher';
import { DecodePool } from './decode-pool';
import { ModelCache, type LoadedModel } from './model-cache';
import { csvHeader, csvLine } from './results-csv';
import {
  CHUNK_SIZE_SETTING,
  DEFAULT_BATCH_SIZE,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_PREFETCH,
  resultsKey,
  ScoringError,
  type ScoringDeps,
} from './scoring.types';

/** What PlanScoring did. */
export interface PlanOutcome {
  scoringJobId: string;
  status: ScoringJob['status'];
  totalKeys: number;
  skipped: number;
  chunks: number;
}

/** What ScoreChunk did. */
export interface ChunkOutcome {
  scoringJobId: string;
  chunk: number;
  /**
   * `scored`: predictions committed now; `already-done`: a retry of a committed chunk; `skipped`: the
   * job is not running (canceled or finished before the chunk, or canceled while it ran: nothing is
   * committed then).
   */
  outcome: 'scored' | 'already-done' | 'skipped';
  /** Rows of this chunk by outcome (before de-duplication against existing rows). */
  scored: number;
  ungradable: number;
  failed: number;
  /** True when this call finished the whole job (wrote the CSV). */
  finishedJob: boolean;
}

/** How many started images apart a running chunk checks whether its job was canceled. */
const CANCEL_CHECK_EVERY = 8;

/** Object names that are never images: hidden files (`.DS_Store`, our own `.fundus-*` folders). */
function isCandidate(o: ObjectInfo): boolean {
  const base = o.key.slice(o.key.lastIndexOf('/') + 1);
  return base.length > 0 && !base.startsWith('.') && !o.key.split('/').some((p) => p.startsWith('.fundus-'));
}

/** `"<md5 hex>"` ETags are the MD5 of the bytes (single-part uploads, the local store). */
const MD5_ETAG = /^"?([0-9a-f]{32})"?$/;

/** One item after fetch and preprocessing: a tensor to score, or a finished row. */
type Prepared =
  | { kind: 'tensor'; key: string; etag: string; data: Float32Array }
  | { kind: 'row'; row: Omit<NewPrediction, 'modelVersionId' | 'scoringJobId'> };

/**
 * The scoring work behind the PlanScoring, ScoreChunk and NightlyRescore jobs, as a pipeline:
 * this thread fetches images and keeps BullMQ's job locks renewed; a pool of decode threads
 * (decode-pool.ts, SCORING_DECODE_THREADS, default a quarter of the cores) decodes, crops and
 * quality-gates them; one inference thread (inference-thread.ts, models cached there; ONNX Runtime
 * with SCORING_ORT_THREADS intra-op threads, default one per core) runs forward passes that a
 * batcher per model fills from every chunk in flight. All three stages overlap. A chunk of 64 keys
 * takes seconds, not minutes, on CPU.
 */
export class ScoringEngine {
  readonly jobs: ScoringJobsRepository;
  readonly predictions: PredictionsRepository;
  readonly models: ModelsRepository;
  readonly cache: ModelCache;
  private readonly chunkSize: number;
  private readonly batchSize: number;
  private readonly prefetch: number;
  /** Forward passes run by the batchers and the images in them (benches, logs). */
  readonly passStats = { passes: 0, images: 0 };
  /** Decode, crop and quality gate off the main thread (SCORING_DECODE_THREADS). */
  readonly decoder: DecodePool;
  private readonly batchers = new WeakMap<LoadedModel, InferenceBatcher>();

  constructor(private readonly deps: ScoringDeps) {
    this.jobs = new ScoringJobsRepository(deps.prisma);
    this.predictions = new PredictionsRepository(deps.prisma);
    this.models = new ModelsRepository(deps.prisma);
    this.cache = new ModelCache(
      deps.store,
      deps.config.MODEL_BACKEND as BackendName,
      2,
      deps.config.SCORING_ENGINE ?? 'auto',
      {
        providers: deps.config.SCORING_ORT_PROVIDERS ?? 'cpu',
        // 0: one per core, so inference alone can use the whole machine (its idle threads do not spin).
        threads:
          checkedInt('ORT threads', deps.config.SCORING_ORT_THREADS ?? 0, 0, 256) || availableParallelism(),
      },
      deps.logger,
    );
    this.chunkSize = checkedInt('chunkSize', deps.chunkSize ?? DEFAULT_CHUNK_SIZE, 1, 10_000);
    this.batchSize = checkedInt(
      'batchSize',
      deps.batchSize ?? deps.config.SCORING_BATCH_SIZE ?? DEFAULT_BATCH_SIZE,
      1,
      256,
    );
    this.prefetch = checkedInt('prefetch', deps.prefetch ?? DEFAULT_PREFETCH, 1, 256);
    this.decoder = new DecodePool(
      checkedInt('decode threads', deps.config.SCORING_DECODE_THREADS ?? defaultDecodeThreads(), 0, 64),
    );
  }

  /** The chunk size for a new plan: the `scoring.chunkSize` setting when set, else the configured one. */
  async currentChunkSize(): Promise<number> {
    const row = await this.deps.prisma.setting.findUnique({ where: { key: CHUNK_SIZE_SETTING } });
    if (
      row &&
      typeof row.value === 'number' &&
      Number.isInteger(row.value) &&
      row.value >= 1 &&
      row.value <= 10_000
    ) {
      return row.value;
    }
    if (row)
      this.deps.logger.warn(
        `setting ${CHUNK_SIZE_SETTING} is not an integer in 1..10000; using ${this.chunkSize}`,
      );
    return this.chunkSize;
  }

  /**
   * Lists the job's prefix, keeps the objects whose current ETag has no prediction from the job's
   * model version, stores them as items in chunks and enqueues one ScoreChunk per chunk. Safe to
   * retry: a stored plan is kept and its chunks are enqueued again (same job ids, so once).
   */
  async plan(scoringJobId: string): Promise<PlanOutcome> {
    let job = await this.requireJob(scoringJobId);
    if (SCORING_TERMINAL.includes(job.status)) return this.planOutcome(job);
    await this.jobs.transition(job.id, ['queued'], 'running', { startedAt: new Date() });
    job = await this.jobs.get(job.id);
    if (job.status !== 'running') return this.planOutcome(job);

    if (job.chunks === 0) {
      const listed: ObjectInfo[] = [];
      for await (const o of this.deps.store.list(job.prefix)) if (isCandidate(o)) listed.push(o);
      // Sorted so chunk membership does not depend on the backend's listing order.
      listed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const have = await this.predictions.existing(job.modelVersionId, listed);
      const todo = listed.filter((o) => !have.has(predictionKey(o.key, o.etag)));
      job = await this.jobs.savePlan(job.id, {
        totalKeys: listed.length,
        skipped: listed.length - todo.length,
        items: todo.map((o) => ({ key: o.key, etag: o.etag })),
        chunkSize: await this.currentChunkSize(),
      });
    }
    if (job.chunks === 0) {
      await this.finish(job);
      job = await this.jobs.get(job.id);
    } else {
      const done = new Set(await this.jobs.doneChunks(job.id));
      for (let chunk = 0; chunk < job.chunks; chunk++) {
        if (!done.has(chunk))
          await this.deps.queues.enqueue(JobName.ScoreChunk, { scoringJobId: job.id, chunk });
      }
    }
    this.deps.logger.log(
      `scoring job ${job.id}: planned ${job.totalKeys} objects, ${job.skipped} already predicted, ${job.chunks} chunks`,
    );
    return this.planOutcome(job);
  }

  /**
   * Scores chunk `chunk` of a job: fetch, preprocess at the model's input size, quality gate,
   * infer, and commit the predictions with the job's counters in one transaction. Unreadable images
   * become rows with `error`; only infrastructure failures (storage or database unavailable) throw.
   * The call that commits the last chunk writes the results CSV and marks the job succeeded.
   */
  async scoreChunk(
    scoringJobId: string,
    chunk: number,
    onProgress?: (fraction: number) => Promise<void>,
  ): Promise<ChunkOutcome> {
    const job = await this.requireJob(scoringJobId);
    const outcome: ChunkOutcome = {
      scoringJobId,
      chunk,
      outcome: 'skipped',
      scored: 0,
      ungradable: 0,
      failed: 0,
      finishedJob: false,
    };
    if (job.status !== 'running') return outcome;
    const { items, done } = await this.jobs.chunkItems(job.id, chunk);
    if (done || items.length === 0) {
      outcome.outcome = 'already-done';
      outcome.finishedJob = await this.finishIfComplete(job);
      return outcome;
    }
    const mv = await this.requireModel(job.modelVersionId);
    const rows = await this.cache.use(mv, (m) => {
      // Inference on a GPU leaves the cores to decoding (unless SCORING_DECODE_THREADS says otherwise).
      if (m.provider && m.provider !== 'cpu' && this.deps.config.SCORING_DECODE_THREADS === undefined)
        this.decoder.grow(Math.min(64, Math.max(1, availableParallelism() - 1)));
      return this.predict(job, m, items, onProgress);
    });
    // Canceled while scoring (the lanes stop early, see predict): commit nothing.
    if (rows === null || !(await this.stillRunning(job.id))) return outcome;
    for (const r of rows) {
      if (r.error) outcome.failed += 1;
      else if (r.ungradable) outcome.ungradable += 1;
      else outcome.scored += 1;
    }
    const committed = await this.jobs.commitChunk(job.id, chunk, async (tx) => {
      const c = await this.predictions.insertNew(rows, tx);
      return {
        scored: c.scored,
        ungradable: c.ungradable,
        failed: c.failed,
        skipped: items.length - c.created,
      };
    });
    outcome.outcome = committed.firstTime ? 'scored' : 'already-done';
    outcome.finishedJob = await this.finishIfComplete(committed.job);
    return outcome;
  }

  /**
   * Per item: a scored, ungradable or error row, in item order. Throws only for retryable
   * infrastructure errors.
   *
   * Pipelined: `prefetch` lanes each fetch an image and prepare it on the decode pool (several
   * threads), hand the tensor to the model's batcher and go on to the next image without waiting
   * for the forward pass; at most `2 × batchSize` of this chunk's tensors wait for the model. The
   * batcher is shared by every chunk scoring with the same model in this process, so passes fill
   * across chunk boundaries and the inference thread always has the next batch queued.
   */
  private async predict(
    job: ScoringJob,
    m: LoadedModel,
    items: ScoringItem[],
    onProgress?: (fraction: number) => Promise<void>,
  ): Promise<NewPrediction[] | null> {
    const base = { modelVersionId: job.modelVersionId, scoringJobId: job.id };
    const batcher = this.batcherFor(m);
    const out = new Array<NewPrediction | undefined>(items.length);
    const inferring = new Set<Promise<void>>();
    const maxQueued = 2 * this.batchSize;
    let next = 0;
    let finished = 0;
    let failed = false;
    // A cancel is noticed within CANCEL_CHECK_EVERY started images; the lanes then take no more.
    let canceled = false;
    let checking: Promise<void> | null = null;
    const checkCancel = () =>
      (checking ??= this.stillRunning(job.id).then((running) => {
        canceled ||= !running;
        checking = null;
      }));
    const completed = async () => {
      finished += 1;
      if (onProgress) await onProgress(finished / items.length);
    };
    const lane = async () => {
      while (!failed && !canceled && next < items.length) {
        if (next > 0 && next % CANCEL_CHECK_EVERY === 0) {
          await checkCancel();
          if (canceled) break;
        }
        const i = next++;
        const p = await this.prepare(items[i], m.inputSize);
        if (p.kind === 'row') {
          out[i] = { ...base, ...p.row };
          await completed();
          continue;
        }
        while (inferring.size >= maxQueued) await Promise.race(inferring);
        const scored: Promise<void> = batcher.predict(p.data).then(async (probability) => {
          out[i] = {
            ...base,
            key: p.key,
            etag: p.etag,
            probability,
            label: probability >= m.threshold ? 1 : 0,
            threshold: m.threshold,
          };
          inferring.delete(scored);
          await completed();
        });
        // Rethrown where awaited below; keeps a failure from being "unhandled" meanwhile.
        scored.catch(() => undefined);
        inferring.add(scored);
      }
    };
    const lanes = Array.from({ length: Math.min(this.prefetch, items.length) }, () =>
      lane().catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    );
    try {
      await Promise.all(lanes);
    } finally {
      // Settle what is still in flight before the chunk fails or commits.
      await Promise.allSettled(lanes);
    }
    await Promise.all(inferring);
    if (canceled) return null;
    const rows = out.filter((r): r is NewPrediction => r !== undefined);
    if (rows.length !== items.length)
      throw new Error(`scoring: ${items.length - rows.length} of ${items.length} items have no row`);
    return rows;
  }

  /** The model's batcher, shared by the chunks that score with it at the same time. */
  private batcherFor(m: LoadedModel): InferenceBatcher {
    let b = this.batchers.get(m);
    if (!b) {
      b = new InferenceBatcher(
        m.inputSize * m.inputSize * 3,
        (x, n) => {
          this.passStats.passes += 1;
          this.passStats.images += n;
          return m.predict(x, this.batchSize);
        },
        this.batchSize,
      );
      this.batchers.set(m, b);
    }
    return b;
  }

  /** Reads and preprocesses one item; throws only for retryable infrastructure errors. */
  private async prepare(it: ScoringItem, size: number): Promise<Prepared> {
    let buf: Buffer;
    try {
      buf = await this.deps.store.getBuffer(it.key);
    } catch (err) {
      if (isStorageError(err, 'not-found')) {
        return {
          kind: 'row',
          row: { key: it.key, etag: it.etag, error: 'not-found: the object was deleted after planning' },
        };
      }
      throw err;
    }
    // The object may have been replaced since it was listed: key the row by what was scored.
    const etag = actualEtag(it.etag, buf);
    const r = await this.decoder.prepare(buf, size);
    switch (r.kind) {
      case 'tensor':
        return { kind: 'tensor', key: it.key, etag, data: r.data };
      case 'ungradable':
        return { kind: 'row', row: { key: it.key, etag, ungradable: true, reason: r.reasons.join(',') } };
      case 'imaging-error':
        return { kind: 'row', row: { key: it.key, etag, error: `${r.code}: ${r.message}` } };
    }
  }

  /** Stops the inference thread and the decode threads (process shutdown, tests, benches). */
  async close(): Promise<void> {
    await this.cache.close();
    await this.decoder.close();
  }

  /**
   * When every chunk is committed and the job still runs: write the CSV, mark succeeded. The CSV
   * lists the predictions for the objects this job planned (new or changed ones); objects skipped
   * because their ETag already had a prediction are only counted in `skipped`.
   */
  private async finishIfComplete(job: ScoringJob): Promise<boolean> {
    if (job.status !== 'running' || job.chunks === 0 || job.chunksDone < job.chunks) return false;
    return this.finish(job);
  }

  private async finish(job: ScoringJob): Promise<boolean> {
    const key = resultsKey(job.id);
    const predictions = this.predictions;
    async function* lines() {
      yield csvHeader();
      for await (const page of predictions.forScoringJob(job.id, job.modelVersionId))
        yield page.map(csvLine).join('');
    }
    await this.deps.store.put(key, Readable.from(lines()), { contentType: 'text/csv' });
    const finished = await this.jobs.transition(job.id, ['running'], 'succeeded', {
      resultsUri: this.deps.store.uriFor(key),
      finishedAt: new Date(),
    });
    if (finished) {
      const j = await this.jobs.get(job.id);
      this.deps.logger.log(
        `scoring job ${j.id}: succeeded — ${j.scored} scored, ${j.ungradable} ungradable, ${j.failed} unreadable, ${j.skipped} skipped`,
      );
    }
    return finished;
  }

  /**
   * Marks the job failed (when still queued or running) with `error`; used when a job's attempts
   * are exhausted or the failure cannot be retried.
   */
  async fail(scoringJobId: string, error: string): Promise<boolean> {
    return this.jobs.transition(scoringJobId, ['queued', 'running'], 'failed', {
      error: error.slice(0, 2000),
      finishedAt: new Date(),
    });
  }

  /**
   * Nightly: creates a scoring job for the champion over the intake prefix and plans it, so only
   * objects whose current ETag has no prediction from the champion are scored. Without a champion
   * it does nothing. A planned nightly job of the same champion still running (started < 24 h ago)
   * makes this run a no-op; one that a failed earlier attempt created but did not plan is reused.
   */
  async nightly(): Promise<{ scoringJobId: string | null; note?: string; plan?: PlanOutcome }> {
    const champion = await this.models.champion();
    if (!champion) {
      const note = 'no champion model version: nothing to rescore';
      this.deps.logger.log(`nightly rescoring: ${note}`);
      return { scoringJobId: null, note };
    }
    const prefix = this.deps.config.INTAKE_PREFIX;
    const open = await this.deps.prisma.scoringJob.findFirst({
      where: {
        trigger: 'nightly',
        modelVersionId: champion.id,
        prefix,
        status: { in: ['queued', 'running'] },
      },
      orderBy: { createdAt: 'desc' },
    });
    const planned = open !== null && (open.chunks > 0 || open.totalKeys > 0);
    if (
      open &&
      planned &&
      open.status === 'running' &&
      (open.startedAt?.getTime() ?? 0) > Date.now() - 24 * 3600_000
    ) {
      const note = `nightly scoring job ${open.id} is still running`;
      this.deps.logger.warn(`nightly rescoring: ${note}; not starting another`);
      return { scoringJobId: open.id, note };
    }
    // A job an earlier attempt created but did not get to plan is planned now rather than doubled.
    const job =
      open && !planned
        ? open
        : await this.jobs.create({ modelVersionId: champion.id, prefix, trigger: 'nightly' });
    this.deps.logger.log(`nightly rescoring: scoring job ${job.id} with champion ${champion.id}`);
    return { scoringJobId: job.id, plan: await this.plan(job.id) };
  }

  private planOutcome(job: ScoringJob): PlanOutcome {
    return {
      scoringJobId: job.id,
      status: job.status,
      totalKeys: job.totalKeys,
      skipped: job.skipped,
      chunks: job.chunks,
    };
  }

  /** Whether the job is still running (a cancel or another worker's failure ends it). */
  private async stillRunning(id: string): Promise<boolean> {
    return (await this.requireJob(id)).status === 'running';
  }

  private async requireJob(id: string): Promise<ScoringJob> {
    try {
      return await this.jobs.get(id);
    } catch (err) {
      if (err instanceof DbError && err.code === 'not-found')
        throw new ScoringError('not-found', err.message, { cause: err });
      throw err;
    }
  }

  private async requireModel(id: string): Promise<ModelVersion> {
    const mv = await this.models.find(id);
    if (!mv) throw new ScoringError('not-found', `model version ${id} does not exist`);
    return mv;
  }
}

/** Decode threads when SCORING_DECODE_THREADS is unset: a quarter of the cores, at least one. */
export function defaultDecodeThreads(): number {
  return Math.max(1, Math.round(availableParallelism() / 4));
}

/** The planned ETag, or the MD5 ETag of `buf` when the planned one is an MD5 ETag of other bytes. */
export function actualEtag(planned: string, buf: Buffer): string {
  const m = MD5_ETAG.exec(planned);
  if (!m) return planned;
  const md5 = createHash('md5').update(buf).digest('hex');
  return md5 === m[1] ? planned : `"${md5}"`;
}

function checkedInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ScoringError(
      'invalid-config',
      `scoring ${name} must be an integer in ${min}..${max}, got ${v}`,
    );
  }
  return v;
}
