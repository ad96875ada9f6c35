import { buildHandlerTable, JobWiringError } from './handlers';
import { JOB_QUEUE, JobName, QueueName, jobNamesOf } from './jobs';
import { redisConnection, toJobsOptions } from './queues';

const ping = { name: JobName.Ping, handle: async () => ({}) as never };

describe('job contract', () => {
  it('maps every job name to a queue', () => {
    for (const name of Object.values(JobName)) expect(Object.values(QueueName)).toContain(JOB_QUEUE[name]);
  });

  it('derives deterministic job ids from the payload (a double submit enqueues once)', () => {
    expect(toJobsOptions(JobName.Ping, { nonce: 'a' }).jobId).toBe(
      toJobsOptions(JobName.Ping, { nonce: 'a' }).jobId,
    );
    expect(toJobsOptions(JobName.Ping, { nonce: 'a' }).jobId).not.toBe(
      toJobsOptions(JobName.Ping, { nonce: 'b' }).jobId,
    );
    // BullMQ reserves ':' in custom ids.
    expect(toJobsOptions(JobName.Ping, { nonce: 'a' }).jobId).not.toContain(':');
  });

  it('parses Redis URLs into connection options', () => {
    expect(redisConnection('redis://:s3cret@cache.internal:6380/2')).toMatchObject({
      host: 'cache.internal',
      port: 6380,
      password: 's3cret',
      db: 2,
      maxRetriesPerRequest: null,
    });
    expect((redisConnection('rediss://cache:6379') as { tls?: object }).tls).toEqual({});
  });
});

describe('buildHandlerTable', () => {
  it('accepts exactly one handler per job of each consumed queue', () => {
    const table = buildHandlerTable([QueueName.System], [ping]);
    expect([...table.keys()]).toEqual(jobNamesOf(QueueName.System));
  });

  it('refuses a job name with no handler', () => {
    expect(() => buildHandlerTable([QueueName.System], [])).toThrow(JobWiringError);
    expect(() => buildHandlerTable([QueueName.System], [])).toThrow(
      /"ping" on queue "system" has no handler/,
    );
  });

  it('refuses a job name with two handlers', () => {
    expect(() => buildHandlerTable([QueueName.System], [ping, ping])).toThrow(/"ping" has 2 handlers/);
  });
});
