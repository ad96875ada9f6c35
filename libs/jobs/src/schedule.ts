import { JobName, QueueName } from './jobs';
import { toJobsOptions, type JobQueues } from './queues';

/** The one BullMQ job scheduler of nightly rescoring; the API and every worker edit this one. */
export const NIGHTLY_SCHEDULER_ID = 'nightly-rescore';
/** Key of the Setting row holding a schedule changed through the API (it wins over the environment). */
export const NIGHTLY_SETTING_KEY = 'nightly';

export interface NightlySchedule {
  cron: string;
  timezone: string;
  enabled: boolean;
}

/** Registers (or updates in place) the nightly scheduler, or removes it when disabled. Idempotent. */
export async function applyNightlySchedule(queues: JobQueues, schedule: NightlySchedule): Promise<void> {
  const queue = queues.queue(QueueName.Schedule);
  if (!schedule.enabled) {
    await queue.removeJobScheduler(NIGHTLY_SCHEDULER_ID);
    return;
  }
  // The scheduler names its own job ids; everything else as the job contract says.
  const { jobId: _ignored, ...opts } = toJobsOptions(JobName.NightlyRescore, {});
  await queue.upsertJobScheduler(
    NIGHTLY_SCHEDULER_ID,
    { pattern: schedule.cron, tz: schedule.timezone },
    { name: JobName.NightlyRescore, data: {}, opts },
  );
}
