import type { Job } from 'bullmq';
import { jobNamesOf, type JobName, type JobPayloads, type JobResults, type QueueName } from './jobs';

export type JobResult<N extends JobName> = N extends keyof JobResults ? JobResults[N] : unknown;
/** `token` is the job's lock token (needed to move an active job back to delayed). */
export type JobHandler<N extends JobName> = (
  job: Job<JobPayloads[N]>,
  token?: string,
) => Promise<JobResult<N>>;

export interface HandlerRegistration<N extends JobName = JobName> {
  name: N;
  handle: JobHandler<N>;
}

/** Thrown at start-up when the wiring between job names and handlers is wrong. */
export class JobWiringError extends Error {
  readonly code = 'job-wiring';
  constructor(readonly problems: string[]) {
    super(`Job wiring is broken:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'JobWiringError';
  }
}

/**
 * Builds the name→handler table for the queues a worker consumes. Refuses (throws) when a job name
 * of a consumed queue has no handler, or when a job name has two.
 */
export function buildHandlerTable(
  queues: readonly QueueName[],
  registrations: readonly HandlerRegistration[],
): Map<JobName, HandlerRegistration['handle']> {
  const problems: string[] = [];
  const table = new Map<JobName, HandlerRegistration['handle']>();
  const counts = new Map<JobName, number>();
  for (const r of registrations) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  for (const [name, count] of counts) {
    if (count > 1) problems.push(`job "${name}" has ${count} handlers`);
  }
  for (const queue of queues) {
    for (const name of jobNamesOf(queue)) {
      const r = registrations.find((x) => x.name === name);
      if (!r) problems.push(`job "${name}" on queue "${queue}" has no handler`);
      else table.set(name, r.handle);
    }
  }
  if (problems.length) throw new JobWiringError(problems);
  return table;
}

/** Marks a failure that retrying cannot fix (bad payload, missing row); BullMQ will not retry it. */
export { UnrecoverableError, DelayedError } from 'bullmq';
