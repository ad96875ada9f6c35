import { RunsRepository, type PrismaClient, type Run } from '@fundus/db';
import { JobName, JOB_OPTIONS, JOB_QUEUE, type JobQueues } from '@fundus/jobs';
import { parseRunConfig, ServiceError, type RunConfigInput } from './run-config';

export interface CreateRunRequest {
  datasetId: string;
  config?: RunConfigInput;
  /** Seeds initialisation, shuffling and augmentation. Default: random. */
  seed?: number;
  createdBy?: string;
  sweepId?: string;
  trialIndex?: number;
}

/** Creating, enqueueing and canceling training runs (used by the API, the CLI and sweeps). */
export class RunsService {
  private readonly runs: RunsRepository;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly queues: JobQueues,
  ) {
    this.runs = new RunsRepository(prisma);
  }

  /** Validates the config, stores the run (the job's whole truth) and enqueues its training job. */
  async createRun(req: CreateRunRequest): Promise<Run> {
    const config = parseRunConfig(req.config);
    const dataset = await this.prisma.dataset.findUnique({
      where: { id: req.datasetId },
      select: { id: true },
    });
    if (!dataset) throw new ServiceError('not-found', `dataset ${req.datasetId} does not exist`);
    const seed = req.seed ?? Math.floor(Math.random() * 2 ** 31);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new ServiceError('invalid', `seed must be a non-negative integer; got ${seed}`);
    const run = await this.runs.create({
      datasetId: req.datasetId,
      config: config as never,
      seed,
      sweepId: req.sweepId,
      trialIndex: req.trialIndex,
      createdBy: req.createdBy,
      codeVersion: process.env.FUNDUS_CODE_VERSION,
    });
    try {
      await this.queues.enqueue(JobName.TrainModel, { runId: run.id });
    } catch (err) {
      await this.runs.transition(run.id, ['queued'], 'failed', {
        error: `could not enqueue: ${(err as Error).message}`,
      });
      throw err;
    }
    return run;
  }

  /**
   * Cancels a queued or running run. A queued job is removed; a running one stops at its next batch
   * boundary (the worker polls the status). Nothing of a canceled run is promoted.
   */
  async cancelRun(runId: string): Promise<Run> {
    const run = await this.runs.get(runId).catch(() => {
      throw new ServiceError('not-found', `run ${runId} does not exist`);
    });
    const ok = await this.runs.transition(run.id, ['queued', 'running'], 'canceled', {
      finishedAt: new Date(),
    });
    if (!ok)
      throw new ServiceError(
        'invalid-state',
        `run ${runId} is ${run.status}; only queued or running runs can be canceled`,
      );
    const jobId = JOB_OPTIONS[JobName.TrainModel]({ runId }).jobId!;
    // An active job is locked and cannot be removed; its worker sees the status and stops.
    await this.queues
      .queue(JOB_QUEUE[JobName.TrainModel])
      .remove(jobId)
      .catch(() => undefined);
    return this.runs.get(runId);
  }
}
