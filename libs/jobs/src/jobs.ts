/**
 * The one contract between the API and the workers: queue names, job names, payload types (ids
 * only — the truth lives in Postgres), which queue each job goes to, and the options it is enqueued
 * with. No job name appears as a bare string anywhere else.
 */
export enum QueueName {
  System = 'system',
  Training = 'training',
  Sweeps = 'sweeps',
  Scoring = 'scoring',
  Schedule = 'schedule',
}

export enum JobName {
  /** Round trip through Redis and a worker; used by readiness checks and tests. */
  Ping = 'ping',
  /** Train one run (also each sweep trial): epochs, threshold on validation, test metrics, model, report. */
  TrainModel = 'train-model',
  /** Parent of a sweep flow: runs when every trial has ended; ranks trials and writes the sweep report. */
  FinishSweep = 'finish-sweep',
  /** List a scoring job's prefix, record which keys need a prediction, and enqueue their chunks. */
  PlanScoring = 'plan-scoring',
  /** Score one chunk of a scoring job's keys with its model version. */
  ScoreChunk = 'score-chunk',
  /** Nightly: score new or changed intake images with the champion (fired by a job scheduler). */
  NightlyRescore = 'nightly-rescore',
}

export interface JobPayloads {
  [JobName.Ping]: { nonce: string };
  [JobName.TrainModel]: { runId: string };
  [JobName.FinishSweep]: { sweepId: string };
  [JobName.PlanScoring]: { scoringJobId: string };
  [JobName.ScoreChunk]: { scoringJobId: string; chunk: number };
  [JobName.NightlyRescore]: Record<string, never>;
}

export interface JobResults {
  [JobName.Ping]: { nonce: string; pid: number; hostname: string; queues: string[] };
}

/** Exhaustive: adding a JobName without a queue is a compile error. */
export const JOB_QUEUE: { readonly [N in JobName]: QueueName } = {
  [JobName.Ping]: QueueName.System,
  [JobName.TrainModel]: QueueName.Training,
  [JobName.FinishSweep]: QueueName.Sweeps,
  [JobName.PlanScoring]: QueueName.Scoring,
  [JobName.ScoreChunk]: QueueName.Scoring,
  [JobName.NightlyRescore]: QueueName.Schedule,
};

export interface JobSpec {
  attempts: number;
  backoffMs: number;
  /** Deterministic id so a double submit enqueues once; undefined lets BullMQ choose. */
  jobId?: string;
  removeOnComplete?: number | boolean;
  removeOnFail?: number | boolean;
}

const KEEP = { removeOnComplete: 1000, removeOnFail: 5000 };

/** Options per job name; ids are built from the payload so the same work maps to the same job. */
export const JOB_OPTIONS: { readonly [N in JobName]: (data: JobPayloads[N]) => JobSpec } = {
  [JobName.Ping]: (d) => ({
    attempts: 1,
    backoffMs: 0,
    jobId: `ping-${d.nonce}`,
    removeOnComplete: 100,
    removeOnFail: 100,
  }),
  // A retried training job resumes from its last checkpoint.
  [JobName.TrainModel]: (d) => ({ attempts: 3, backoffMs: 5000, jobId: `train-${d.runId}`, ...KEEP }),
  [JobName.FinishSweep]: (d) => ({ attempts: 3, backoffMs: 2000, jobId: `sweep-${d.sweepId}`, ...KEEP }),
  [JobName.PlanScoring]: (d) => ({ attempts: 3, backoffMs: 2000, jobId: `plan-${d.scoringJobId}`, ...KEEP }),
  // Chunks upsert predictions, so a retried chunk adds nothing twice.
  [JobName.ScoreChunk]: (d) => ({
    attempts: 3,
    backoffMs: 2000,
    jobId: `score-${d.scoringJobId}-${d.chunk}`,
    ...KEEP,
  }),
  [JobName.NightlyRescore]: () => ({ attempts: 2, backoffMs: 60000, ...KEEP }),
};

export function queueOf(name: JobName): QueueName {
  return JOB_QUEUE[name];
}

export function jobNamesOf(queue: QueueName): JobName[] {
  return (Object.keys(JOB_QUEUE) as JobName[]).filter((n) => JOB_QUEUE[n] === queue);
}
