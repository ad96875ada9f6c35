import {
  DbError,
  ModelsRepository,
  SCORING_TERMINAL,
  ScoringJobsRepository,
  type ModelVersion,
  type PrismaClient,
  type ScoringJob,
} from '@fundus/db';
import { JobName, JobQueues, QueueName, toJobsOptions } from '@fundus/jobs';
import { isStorageError, validatePrefix } from '@fundus/storage';
import { ServiceError } from './run-config';

/** Who asks (for `createdBy` / audit); absent for system actions. */
export interface Actor {
  id?: string | null;
}

function rethrow(err: unknown): never {
  if (err instanceof DbError) {
    const code = err.code === 'not-found' ? 'not-found' : 'invalid-state';
    throw new ServiceError(code, err.message);
  }
  throw err;
}

/**
 * Scoring jobs and the champion model, for the API and the CLI. Writes go to Postgres first, then
 * the job is enqueued with its deterministic id, so a double submit enqueues once and a worker
 * always finds the row it is told about.
 */
export class ScoringService {
  private readonly jobs: ScoringJobsRepository;
  private readonly models: ModelsRepository;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly queues: JobQueues,
  ) {
    this.jobs = new ScoringJobsRepository(prisma);
    this.models = new ModelsRepository(prisma);
  }

  /**
   * Creates a scoring job of `modelVersionId` over the storage prefix `prefix` (e.g. `intake/`,
   * `''` for the whole store) and enqueues its planning.
   * @throws ServiceError `not-found` (no such model version), `invalid` (bad prefix)
   */
  async createScoringJob(modelVersionId: string, prefix: string, actor: Actor = {}): Promise<ScoringJob> {
    try {
      validatePrefix(prefix);
    } catch (err) {
      if (isStorageError(err)) throw new ServiceError('invalid', err.message);
      throw err;
    }
    const mv = await this.models.find(modelVersionId).catch(rethrow);
    if (!mv) throw new ServiceError('not-found', `model version ${modelVersionId} does not exist`);
    const job = await this.jobs.create({
      modelVersionId,
      prefix,
      trigger: 'manual',
      createdBy: actor.id ?? null,
    });
    await this.queues.enqueue(JobName.PlanScoring, { scoringJobId: job.id });
    return job;
  }

  /** The scoring job with its counts. @throws ServiceError `not-found` */
  getScoringJob(id: string): Promise<ScoringJob> {
    return this.jobs.get(id).catch(rethrow);
  }

  /**
   * Cancels a queued or running scoring job: its status becomes `canceled` (chunks not yet started
   * see it and do nothing; a running chunk finishes and commits its rows) and its waiting jobs are
   * removed from the queue. Cancelling a job that already ended returns it unchanged.
   * @returns the job after the call and whether this call canceled it
   * @throws ServiceError `not-found`
   */
  async cancelScoringJob(id: string, actor: Actor = {}): Promise<{ job: ScoringJob; canceled: boolean }> {
    const before = await this.jobs.get(id).catch(rethrow);
    if (SCORING_TERMINAL.includes(before.status)) return { job: before, canceled: false };
    const canceled = await this.jobs.transition(id, ['queued', 'running'], 'canceled', {
      finishedAt: new Date(),
    });
    if (canceled) {
      const queue = this.queues.queue(QueueName.Scoring);
      const ids = [toJobsOptions(JobName.PlanScoring, { scoringJobId: id }).jobId];
      for (let chunk = 0; chunk < before.chunks; chunk++) {
        ids.push(toJobsOptions(JobName.ScoreChunk, { scoringJobId: id, chunk }).jobId);
      }
      // An active job is locked and cannot be removed; it sees the status and stops.
      await Promise.allSettled(ids.map((jid) => (jid ? queue.remove(jid) : Promise.resolve(0))));
      await this.prisma.auditEvent.create({
        data: { actorId: actor.id ?? null, action: 'scoring.cancel', subject: `scoring-job:${id}` },
      });
    }
    return { job: await this.jobs.get(id), canceled };
  }

  /**
   * Makes a model version the one champion (the nightly rescoring then uses it), in one
   * transaction with an audit event.
   * @returns the new champion and the id of the one it replaced
   * @throws ServiceError `not-found`
   */
  async promoteModelVersion(
    id: string,
    actor: Actor = {},
  ): Promise<{ champion: ModelVersion; previousId: string | null; changed: boolean }> {
    const r = await this.models.promote(id, actor.id ?? null).catch(rethrow);
    return { champion: r.model, previousId: r.previousId, changed: r.changed };
  }

  /** The current champion, or null. */
  getChampion(): Promise<ModelVersion | null> {
    return this.models.champion();
  }
}
