import {
  applyNightlySchedule,
  JobName,
  NIGHTLY_SETTING_KEY,
  QueueName,
  UnrecoverableError,
  type HandlerRegistration,
  type NightlySchedule,
} from '@fundus/jobs';
import type { Job } from 'bullmq';
import { ScoringEngine } from './scoring.engine';
import { ScoringError, type ScoringDeps, type ScoringLogger } from './scoring.types';

export * from './scoring.types';
export { ScoringEngine, actualEtag, type ChunkOutcome, type PlanOutcome } from './scoring.engine';
export { ModelCache, modelPrefix, type LoadedModel, type ScoringEngineName } from './model-cache';
export { csvField, RESULTS_COLUMNS } from './results-csv';

/** True when BullMQ will not try this job again after the current attempt fails. */
function lastAttempt(job: Job, err: unknown): boolean {
  return err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * Runs a scoring job step; a ScoringError (missing row, unusable model) is not retried, and when
 * the last attempt fails the scoring job is marked failed so it does not stay `running` forever.
 */
async function guarded<T>(
  engine: ScoringEngine,
  logger: ScoringLogger,
  job: Job,
  scoringJobId: string,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const e =
      err instanceof ScoringError && !err.retryable
        ? new UnrecoverableError(`${err.code}: ${err.message}`)
        : err;
    if (lastAttempt(job, e)) {
      const message = (e as Error).message;
      if (await engine.fail(scoringJobId, `${job.name} failed: ${message}`).catch(() => false)) {
        logger.error(`scoring job ${scoringJobId}: failed in ${job.name} (bull job ${job.id}): ${message}`);
      }
    }
    throw e;
  }
}

/**
 * The handlers of the scoring and schedule queues: PlanScoring, ScoreChunk and NightlyRescore,
 * sharing one engine (and so one model cache) per worker process.
 */
export function scoringHandlers(deps: ScoringDeps, engine = new ScoringEngine(deps)): HandlerRegistration[] {
  const plan: HandlerRegistration<JobName.PlanScoring> = {
    name: JobName.PlanScoring,
    handle: (job) =>
      guarded(engine, deps.logger, job, job.data.scoringJobId, () => engine.plan(job.data.scoringJobId)),
  };
  const chunk: HandlerRegistration<JobName.ScoreChunk> = {
    name: JobName.ScoreChunk,
    handle: (job) =>
      guarded(engine, deps.logger, job, job.data.scoringJobId, () =>
        engine.scoreChunk(job.data.scoringJobId, job.data.chunk, (f) =>
          job.updateProgress(Math.round(f * 100)),
        ),
      ),
  };
  const nightly: HandlerRegistration<JobName.NightlyRescore> = {
    name: JobName.NightlyRescore,
    handle: async () => {
      const r = await engine.nightly();
      return { scoringJobId: r.scoringJobId, note: r.note ?? null, plan: r.plan ?? null };
    },
  };
  return [plan, chunk, nightly] as HandlerRegistration[];
}

/**
 * Start-up hook: registers (or updates in place) the BullMQ job scheduler that enqueues
 * NightlyRescore, when NIGHTLY_ENABLED and this worker consumes the schedule queue. A schedule
 * changed through the API (Setting 'nightly') wins over NIGHTLY_CRON / NIGHTLY_TZ, so a restart
 * does not undo it. Idempotent: every worker may call it at every start and there is still one
 * scheduler (its id is fixed). A worker with NIGHTLY_ENABLED=false leaves an existing one alone.
 * @returns whether the scheduler was registered
 */
export async function registerNightlySchedule(
  deps: Pick<ScoringDeps, 'queues' | 'config' | 'logger' | 'prisma'>,
  consumed: readonly QueueName[],
): Promise<boolean> {
  if (!deps.config.NIGHTLY_ENABLED || !consumed.includes(QueueName.Schedule)) return false;
  const setting = await deps.prisma.setting.findUnique({ where: { key: NIGHTLY_SETTING_KEY } });
  const schedule: NightlySchedule = setting
    ? (setting.value as unknown as NightlySchedule)
    : { cron: deps.config.NIGHTLY_CRON, timezone: deps.config.NIGHTLY_TZ, enabled: true };
  await applyNightlySchedule(deps.queues, schedule);
  deps.logger.log(
    schedule.enabled
      ? `nightly rescoring scheduled: "${schedule.cron}" (${schedule.timezone})${setting ? ' from the saved setting' : ''}`
      : 'nightly rescoring disabled by the saved setting',
  );
  return schedule.enabled;
}
