import { hostname } from 'node:os';
import { JobName, type HandlerRegistration } from '@fundus/jobs';

/** Answers a ping with who answered; proves a job travels API → Redis → worker → back. */
export function pingHandler(queues: string[]): HandlerRegistration<JobName.Ping> {
  return {
    name: JobName.Ping,
    handle: async (job) => ({ nonce: job.data.nonce, pid: process.pid, hostname: hostname(), queues }),
  };
}
