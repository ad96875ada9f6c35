import { randomUUID } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { JobName, JobQueues, QueueName, redisConnection } from '@fundus/jobs';
import { spawnTs, type Spawned } from '../support/processes';
import { testEnv } from '../support/env';

describe('gpu-worker process consuming through the real Redis', () => {
  const env = testEnv({ QUEUE_PREFIX: `${process.env.QUEUE_PREFIX}-ping` });
  let worker: Spawned;
  let queues: JobQueues;
  let events: QueueEvents;

  beforeAll(async () => {
    worker = spawnTs('apps/gpu-worker/src/main.ts', env);
    await worker.waitFor(/worker ready/, 60000);
    expect(worker.output()).toMatch(/consuming queues: system/);
    queues = new JobQueues(redisConnection(env.REDIS_URL!), env.QUEUE_PREFIX!);
    events = new QueueEvents(QueueName.System, {
      connection: redisConnection(env.REDIS_URL!),
      prefix: env.QUEUE_PREFIX,
    });
    await events.waitUntilReady();
  });

  afterAll(async () => {
    await events?.close();
    await queues?.obliterateAll();
    await queues?.close();
    await worker?.stop();
  });

  it('a ping enqueued here is answered by the worker process', async () => {
    const nonce = randomUUID();
    const job = await queues.enqueue(JobName.Ping, { nonce });
    const result = await job.waitUntilFinished(events, 30000);
    expect(result).toMatchObject({
      nonce,
      pid: worker.child.pid,
      queues: expect.arrayContaining(['system']),
    });
  });

  it('the same deterministic job id enqueues once', async () => {
    const nonce = randomUUID();
    const a = await queues.enqueue(JobName.Ping, { nonce });
    const b = await queues.enqueue(JobName.Ping, { nonce });
    expect(b.id).toBe(a.id);
    await a.waitUntilFinished(events, 30000);
    const counts = await queues.queue(QueueName.System).getJobCounts('completed', 'waiting', 'active');
    const completedIds = (await queues.queue(QueueName.System).getCompleted()).map((j) => j.id);
    expect(completedIds.filter((id) => id === a.id)).toHaveLength(1);
    expect(counts.waiting + counts.active).toBe(0);
  });

  it('stops cleanly on SIGTERM', async () => {
    const other = spawnTs('apps/gpu-worker/src/main.ts', env);
    await other.waitFor(/worker ready/, 60000);
    const exit = await other.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(other.output()).toMatch(/stopped/);
  });
});
