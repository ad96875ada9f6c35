import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '@fundus/db';
import { JobQueues } from '@fundus/jobs';
import { JOB_QUEUES, PRISMA } from '@fundus/platform';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'failed',
  'completed',
  'prioritized',
  'waiting-children',
] as const;

/**
 * Prometheus metrics of this API process: HTTP latencies (observed by a middleware), queue depths
 * per queue and state (read from Redis at scrape time) and durations of work finished in the last
 * 24 h (read from Postgres at scrape time). One registry per app, so tests can build several apps.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly http: Histogram<'method' | 'route' | 'status'>;

  constructor(@Inject(JOB_QUEUES) queues: JobQueues, @Inject(PRISMA) prisma: PrismaClient) {
    collectDefaultMetrics({ register: this.registry, prefix: 'fundus_api_' });
    this.http = new Histogram({
      name: 'fundus_http_request_duration_seconds',
      help: 'HTTP request latency by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    new Gauge({
      name: 'fundus_queue_jobs',
      help: 'Jobs per BullMQ queue and state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        await Promise.all(
          JobQueues.all().map(async (name) => {
            const counts = await queues.queue(name).getJobCounts(...QUEUE_STATES);
            for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
          }),
        );
      },
    });
    new Gauge({
      name: 'fundus_job_duration_seconds',
      help: 'Mean and max duration of training runs and scoring jobs finished in the last 24 h',
      labelNames: ['kind', 'status', 'stat'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const rows = await prisma.$queryRaw<
          Array<{ kind: string; status: string; mean: number; max: number }>
        >`
          SELECT 'training' AS kind, status::text AS status,
                 avg(extract(epoch FROM "finishedAt" - "startedAt"))::float8 AS mean,
                 max(extract(epoch FROM "finishedAt" - "startedAt"))::float8 AS max
          FROM "Run" WHERE "finishedAt" > now() - interval '24 hours' AND "startedAt" IS NOT NULL GROUP BY status
          UNION ALL
          SELECT 'scoring', status::text,
                 avg(extract(epoch FROM "finishedAt" - "startedAt"))::float8,
                 max(extract(epoch FROM "finishedAt" - "startedAt"))::float8
          FROM "ScoringJob" WHERE "finishedAt" > now() - interval '24 hours' AND "startedAt" IS NOT NULL GROUP BY status`;
        for (const r of rows) {
          this.set({ kind: r.kind, status: r.status, stat: 'mean' }, r.mean);
          this.set({ kind: r.kind, status: r.status, stat: 'max' }, r.max);
        }
      },
    });
  }
}
