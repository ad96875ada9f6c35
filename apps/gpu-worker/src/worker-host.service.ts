import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Worker, type Job } from 'bullmq';
import {
  buildHandlerTable,
  redisConnection,
  UnrecoverableError,
  type HandlerRegistration,
  type JobName,
  type QueueName,
} from '@fundus/jobs';
import { CONFIG } from '@fundus/platform';

export const HANDLERS = Symbol('HANDLERS');
export const CONSUMED_QUEUES = Symbol('CONSUMED_QUEUES');
/** Aborted when the process begins to shut down; long handlers watch it. */
export const SHUTDOWN = Symbol('SHUTDOWN');

export interface WorkerHostConfig {
  REDIS_URL: string;
  QUEUE_PREFIX: string;
  WORKER_TRAINING_CONCURRENCY: number;
  WORKER_SCORING_CONCURRENCY: number;
  WORKER_LOCK_MS: number;
}

/**
 * One BullMQ Worker per consumed queue, dispatching by job name through the handler table, which
 * is checked at start-up (a job name without exactly one handler stops the process).
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHost.name);
  private readonly workers: Worker[] = [];
  private readonly table: Map<JobName, HandlerRegistration['handle']>;

  constructor(
    @Inject(CONFIG) private readonly config: WorkerHostConfig,
    @Inject(CONSUMED_QUEUES) private readonly queues: QueueName[],
    @Inject(HANDLERS) registrations: HandlerRegistration[],
    @Inject(SHUTDOWN) private readonly shutdown: AbortController,
  ) {
    this.table = buildHandlerTable(queues, registrations);
  }

  concurrencyOf(queue: QueueName): number {
    if ((queue as string) === 'training') return this.config.WORKER_TRAINING_CONCURRENCY;
    if ((queue as string) === 'scoring') return this.config.WORKER_SCORING_CONCURRENCY;
    return 2;
  }

  onApplicationBootstrap(): void {
    for (const queue of this.queues) {
      const worker = new Worker(queue, (job, token) => this.dispatch(job, token), {
        connection: redisConnection(this.config.REDIS_URL),
        prefix: this.config.QUEUE_PREFIX,
        concurrency: this.concurrencyOf(queue),
        lockDuration: this.config.WORKER_LOCK_MS,
        stalledInterval: this.config.WORKER_LOCK_MS,
      });
      worker.on('error', (err) => this.logger.error(`queue ${queue}: ${err.message}`));
      worker.on('failed', (job, err) =>
        this.logger.warn(`job ${job?.id} (${job?.name}) failed: ${err.message}`),
      );
      this.workers.push(worker);
    }
    this.logger.log(`consuming queues: ${this.queues.join(', ')}`);
  }

  private async dispatch(job: Job, token?: string): Promise<unknown> {
    const handle = this.table.get(job.name as JobName);
    if (!handle) throw new UnrecoverableError(`no handler for job "${job.name}"`);
    return handle(job as never, token);
  }

  /** First tell running handlers to stop at their next safe point (they checkpoint and release their job). */
  beforeApplicationShutdown(): void {
    this.shutdown.abort();
  }

  /** Stops taking jobs and waits for running ones to return. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    this.logger.log('stopped');
  }
}
