import type { Request, Response } from 'express';

/** One poll of a job's state: the event data and whether the job has finished. */
export type ProgressPoll = () => Promise<{ data: unknown; done: boolean } | null>;

/**
 * Streams server-sent events by polling Postgres (the workers write progress there): a `progress`
 * event whenever the polled state changes, an `end` event once it is terminal, then closes. A
 * comment line every 15 s keeps proxies from closing an idle stream.
 */
export async function streamProgress(
  req: Request,
  res: Response,
  poll: ProgressPoll,
  intervalMs = 500,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  let closed = false;
  req.on('close', () => (closed = true));
  res.on('close', () => (closed = true));
  let last = '';
  let lastWrite = Date.now();
  while (!closed) {
    const state = await poll();
    if (!state) {
      res.write(`event: end\ndata: ${JSON.stringify({ status: 'deleted' })}\n\n`);
      break;
    }
    const json = JSON.stringify(state.data);
    if (json !== last) {
      res.write(`event: ${state.done ? 'end' : 'progress'}\ndata: ${json}\n\n`);
      last = json;
      lastWrite = Date.now();
    } else if (Date.now() - lastWrite > 15_000) {
      res.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    if (state.done) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  res.end();
}
