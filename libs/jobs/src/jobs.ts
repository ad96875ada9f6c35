/**
 * The one contract between the API and the workers: queue names, job names, payload types (ids
 * only — the truth lives in Postgres), which queue each job goes to, and the options it is enqueued
 * with. No job name appears as a bare string anywhere else.
 */
export enum QueueName {
  System = 'system',
}

export enum JobName {
  /** Round trip through Redis and a worker; used by readiness checks and tests. */
  Ping = 'ping',
}

export interface JobPayloads {
  [JobName.Ping]: { nonce: string };
}

export interface JobResults {
  [JobName.Ping]: { nonce: string; pid: number; hostname: string; queues: string[] };
}

/** Exhaustive: adding a JobName without a queue is a compile error. */
export const JOB_QUEUE: { readonly [N in JobName]: QueueName } = {
  [JobName.Ping]: QueueName.System,
};

export interface JobSpec {
  attempts: number;
  backoffMs: number;
  /** Deterministic id so a double submit enqueues once; undefined lets BullMQ choose. */
  jobId?: string;
  removeOnComplete?: number | boolean;
  removeOnFail?: number | boolean;
}

/** Options per job name; ids are built from the payload so the same work maps to the same job. */
export const JOB_OPTIONS: { readonly [N in JobName]: (data: JobPayloads[N]) => JobSpec } = {
  [JobName.Ping]: (d) => ({ attempts: 1, backoffMs: 0, jobId: `ping-${d.nonce}`, removeOnComplete: 100, removeOnFail: 100 }),
};

export function queueOf(name: JobName): QueueName {
  return JOB_QUEUE[name];
}

export function jobNamesOf(queue: QueueName): JobName[] {
  return (Object.keys(JOB_QUEUE) as JobName[]).filter((n) => JOB_QUEUE[n] === queue);
}
