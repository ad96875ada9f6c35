import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { JOB_OPTIONS, JOB_QUEUE, QueueName, type JobName, type JobPayloads } from './jobs';

/** Parses redis://[user:pass@]host:port[/db] into BullMQ connection options. */
export function redisConnection(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // BullMQ workers need blocking commands to wait indefinitely.
    maxRetriesPerRequest: null,
  };
}

export function toJobsOptions<N extends JobName>(name: N, data: JobPayloads[N]): JobsOptions {
  const spec = JOB_OPTIONS[name](data);
  return {
    jobId: spec.jobId,
    attempts: spec.attempts,
    backoff: spec.backoffMs > 0 ? { type: 'exponential', delay: spec.backoffMs } : undefined,
    removeOnComplete: spec.removeOnComplete,
    removeOnFail: spec.removeOnFail,
  };
}

/** One BullMQ Queue per queue name, created lazily; `enqueue` is typed by job name. */
export class JobQueues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    readonly connection: ConnectionOptions,
    readonly prefix: string,
  ) {}

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  /** Enqueues `name` on its queue; a second call with the same deterministic id is a no-op. */
  enqueue<N extends JobName>(name: N, data: JobPayloads[N]) {
    return this.queue(JOB_QUEUE[name]).add(name, data, toJobsOptions(name, data));
  }

  /** Removes every job of every queue this instance has opened (tests and teardown only). */
  async obliterateAll(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.obliterate({ force: true })));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }

  static all(): QueueName[] {
    return Object.values(QueueName);
  }
}
