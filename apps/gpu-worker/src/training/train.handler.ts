import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { WorkerConfig } from '@fundus/config';
import { RunsRepository, type PrismaClient } from '@fundus/db';
import {
  DelayedError,
  JobName,
  UnrecoverableError,
  type HandlerRegistration,
  type JobPayloads,
} from '@fundus/jobs';
import { parseRunConfig, ServiceError } from '@fundus/services';
import { medianStopDecision } from './median-stopping';
import { TrainRunner, TrainingThreadError } from './train-runner';
import type { TrainingEvent, TrainingItem, TrainingOutput } from './training-pipeline';
import { toJsonValue } from './json-value';

export interface TrainingDeps {
  prisma: PrismaClient;
  config: WorkerConfig;
  /** Aborted when the worker shuts down. */
  shutdown: AbortSignal;
}

/** How often progress reaches Postgres and the cancel flag is read, in ms. */
const POLL_MS = 1000;

/**
 * The TrainModel job: loads the run (the truth) from Postgres, trains on a worker thread, writes
 * epochs as they finish and the results at the end. A retried job resumes from the last epoch
 * checkpoint; a canceled run stops at the next batch; on SIGTERM the job goes back to the queue.
 */
export function trainingHandlers(deps: TrainingDeps): HandlerRegistration[] {
  const handler: HandlerRegistration<JobName.TrainModel> = {
    name: JobName.TrainModel,
    handle: (job, token) => trainRun(deps, job, token) as never,
  };
  return [handler as HandlerRegistration];
}

async function trainRun(deps: TrainingDeps, job: Job<JobPayloads[JobName.TrainModel]>, token?: string) {
  const { prisma, config } = deps;
  const runs = new RunsRepository(prisma);
  const logger = new Logger(`train job=${job.id} run=${job.data.runId}`);
  const run = await prisma.run.findUnique({
    where: { id: job.data.runId },
    include: { dataset: { include: { items: { orderBy: { key: 'asc' } } } } },
  });
  if (!run) throw new UnrecoverableError(`run ${job.data.runId} does not exist`);
  if (run.status === 'canceled' || run.status === 'succeeded') {
    logger.log(`nothing to do: run is ${run.status}`);
    return { runId: run.id, status: run.status };
  }
  let runConfig;
  try {
    runConfig = parseRunConfig(run.config);
  } catch (err) {
    const message = err instanceof ServiceError ? err.message : String(err);
    await runs.transition(run.id, ['queued', 'running'], 'failed', {
      error: message,
      finishedAt: new Date(),
    });
    throw new UnrecoverableError(message);
  }
  const claim = await runs.claim(run.id);
  if (claim === 'gone') return { runId: run.id, status: 'canceled' };
  if (claim === 'busy') {
    // The sweep is at its parallel cap: back to the queue for a moment, without spending an attempt.
    if (!token) throw new Error('sweep at its parallel cap and no job token to delay with');
    await job.moveToDelayed(Date.now() + 2000, token);
    throw new DelayedError();
  }

  const medianStopping = run.sweepId
    ? ((await prisma.sweep.findUnique({ where: { id: run.sweepId }, select: { medianStopping: true } }))
        ?.medianStopping ?? false)
    : false;
  const runner = new TrainRunner();
  const onShutdown = () => runner.abort();
  deps.shutdown.addEventListener('abort', onShutdown);
  let canceled = false;
  let lastPoll = 0;
  const t0 = Date.now();
  let pending: Promise<unknown> = Promise.resolve();
  // Progress writes and cancel checks are throttled and serialised; events keep arriving meanwhile.
  const poll = async (percent: number, epoch: number, batch: number) => {
    const elapsed = (Date.now() - t0) / 1000;
    const eta = percent > 0 ? (elapsed * (1 - percent)) / percent : null;
    await job.updateProgress({ percent: Math.round(percent * 1000) / 10, epoch, batch, etaSeconds: eta });
    const row = await prisma.run.findUnique({ where: { id: run.id }, select: { status: true } });
    if (row?.status === 'canceled') {
      canceled = true;
      runner.abort();
      return;
    }
    await prisma.run.updateMany({
      where: { id: run.id, status: 'running' },
      data: { progress: percent, currentEpoch: epoch, etaSeconds: eta },
    });
  };
  const onEvent = (e: TrainingEvent) => {
    if (e.type === 'started') {
      logger.log(
        `training on ${e.backend}; resumed from epoch ${e.resumedFromEpoch}; ${e.skipped.length} unreadable images skipped`,
      );
      pending = pending.then(() =>
        prisma.run.update({ where: { id: run.id }, data: { backend: e.backend } }),
      );
    } else if (e.type === 'batch') {
      if (Date.now() - lastPoll < POLL_MS) return;
      lastPoll = Date.now();
      const percent = Math.min(0.99, (e.epoch - 1 + (e.batch + 1) / e.batches) / e.epochs);
      pending = pending
        .then(() => poll(percent, e.epoch, e.batch))
        .catch((err) => logger.warn(`progress: ${err.message}`));
    } else if (e.type === 'epoch') {
      pending = pending
        .then(() =>
          runs.upsertEpoch(run.id, {
            epoch: e.epoch,
            trainLoss: e.trainLoss,
            valLoss: e.valLoss,
            valAuc: e.valAuc,
            lr: e.lr,
            seconds: e.seconds,
          }),
        )
        .then(() =>
          prisma.run.updateMany({
            where: { id: run.id, status: 'running' },
            data: {
              checkpointUri: e.checkpointUri,
              checkpointEpoch: e.epoch,
              currentEpoch: e.epoch,
              progress: e.epoch / runConfig.epochs,
            },
          }),
        )
        .catch((err) => logger.error(`epoch ${e.epoch} not recorded: ${err.message}`));
      if (medianStopping) {
        pending = pending
          .then(async () => {
            const finished = await prisma.runEpoch.findMany({
              where: {
                epoch: e.epoch,
                run: { sweepId: run.sweepId, status: 'succeeded', id: { not: run.id } },
              },
              select: { valAuc: true },
            });
            const stop = medianStopDecision(
              e.valAuc,
              finished.map((f) => f.valAuc ?? Number.NaN),
            );
            if (stop) logger.log(`median stopping rule: stopping after epoch ${e.epoch}`);
            runner.verdict(e.epoch, stop);
          })
          .catch((err) => {
            logger.warn(`median stopping check failed, continuing: ${err.message}`);
            runner.verdict(e.epoch, false);
          });
      }
      logger.log(
        `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, val AUC ${e.valAuc?.toFixed(4) ?? '-'}`,
      );
    }
  };

  const items: TrainingItem[] = run.dataset.items.map((i) => ({
    key: i.key,
    etag: i.etag,
    label: i.label,
    split: i.split,
  }));
  let output: TrainingOutput;
  try {
    output = await runner.run(
      {
        runId: run.id,
        config: runConfig,
        seed: run.seed,
        items,
        dataset: {
          name: run.dataset.name,
          labelMap: run.dataset.labelMap as Record<string, number>,
          digest: run.dataset.digest,
        },
        storage: config,
        cacheDir: config.CACHE_DIR,
        cacheMaxBytes: config.CACHE_MAX_BYTES,
        backend: config.MODEL_BACKEND,
        prefix: `runs/${run.id}`,
        medianStopping,
      },
      onEvent,
    );
  } catch (err) {
    await pending;
    const aborted = err instanceof TrainingThreadError && err.code === 'aborted';
    if (aborted && canceled) {
      logger.log('canceled');
      return { runId: run.id, status: 'canceled' };
    }
    if (aborted && deps.shutdown.aborted && token) {
      // Shutting down: hand the job back; the next worker resumes from the last checkpoint.
      logger.log('worker shutting down: job released, will resume from the last checkpoint');
      await runs.transition(run.id, ['running'], 'queued');
      await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
    const message = (err as Error).message;
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    await runs.transition(run.id, ['running'], finalAttempt ? 'failed' : 'running', {
      error: message,
      ...(finalAttempt ? { finishedAt: new Date() } : {}),
    });
    logger.error(`failed${finalAttempt ? '' : ' (will retry)'}: ${message}`);
    throw err;
  } finally {
    deps.shutdown.removeEventListener('abort', onShutdown);
  }
  await pending;
  if (output.onnxError) logger.warn(`no ONNX export (scoring will use tfjs): ${output.onnxError}`);
  await recordResults(prisma, run.id, output);
  logger.log(
    `succeeded: threshold ${output.threshold.toFixed(4)}, test AUC ${output.summary.auc.toFixed(4)}`,
  );
  return { runId: run.id, status: 'succeeded' };
}

/** Results and the model version in one transaction; a retried job cannot create a second version. */
async function recordResults(prisma: PrismaClient, runId: string, out: TrainingOutput): Promise<void> {
  const s = out.summary;
  await prisma.$transaction(async (tx) => {
    const { count } = await tx.run.updateMany({
      where: { id: runId, status: 'running' },
      data: {
        status: 'succeeded',
        progress: 1,
        etaSeconds: 0,
        finishedAt: new Date(),
        backend: out.backend,
        threshold: Number.isFinite(out.threshold) ? out.threshold : 1,
        thresholdPolicy: toJsonValue({ ...out.policy, met: out.policyMet, note: out.policyNote ?? null }),
        valMetrics: toJsonValue({
          atThreshold: out.valMetrics,
          labels: out.validation.labels,
          scores: out.validation.scores,
          epochsRun: out.epochsRun,
          stoppedEarly: out.stoppedEarly,
          medianStoppedAt: out.medianStoppedAt,
        }),
        // The summary plus the raw test scores, so the dashboard can draw calibration and CIs.
        testMetrics: toJsonValue({ ...s, labels: out.test.labels, scores: out.test.scores }),
        auc: s.auc,
        sensitivity: s.test.sensitivity,
        specificity: s.test.specificity,
        valAuc: out.valAuc,
        objective: null,
        artifactUri: out.modelUri,
        reportUri: out.reportUri,
      },
    });
    if (count !== 1) return; // canceled at the last moment: nothing is promoted or versioned
    await tx.modelVersion.upsert({
      where: { runId_format: { runId, format: 'tfjs-layers' } },
      create: {
        runId,
        format: 'tfjs-layers',
        uri: out.modelUri,
        onnxUri: out.onnxUri,
        architecture: out.architecture,
        inputSize: out.inputSize,
        threshold: Number.isFinite(out.threshold) ? out.threshold : 1,
      },
      update: {},
    });
  });
}
