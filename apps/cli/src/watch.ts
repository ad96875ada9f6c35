import type { ApiClient } from './client';
import { CliError } from './errors';
import { bar, type Io } from './output';

/** What can be watched, and its API path. */
export type WatchKind = 'run' | 'sweep' | 'scoring';
export const WATCH_PATH: Record<WatchKind, string> = {
  run: '/runs',
  sweep: '/sweeps',
  scoring: '/scoring-jobs',
};

/** A server-sent event of our progress streams. */
export interface ProgressEvent {
  event: string;
  data: Record<string, unknown>;
}

/** One line of progress: a fraction in [0, 1], the status, and a short detail text. */
export function describe(
  kind: WatchKind,
  d: Record<string, unknown>,
): { fraction: number; status: string; detail: string } {
  const status = String(d.status ?? '?');
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  if (kind === 'run') {
    const parts = [d.currentEpoch != null ? `epoch ${d.currentEpoch}` : ''];
    if (typeof d.etaSeconds === 'number' && status === 'running')
      parts.push(`eta ${Math.round(d.etaSeconds)}s`);
    if (typeof d.auc === 'number') parts.push(`auc ${d.auc.toFixed(3)}`);
    if (d.error) parts.push(`error: ${String(d.error)}`);
    return { fraction: num(d.progress), status, detail: parts.filter(Boolean).join('  ') };
  }
  if (kind === 'sweep') {
    const runs = (d.runs ?? {}) as Record<string, number>;
    const done = num(runs.succeeded) + num(runs.failed) + num(runs.canceled);
    const total = num(d.trials) || Object.values(runs).reduce((a, b) => a + b, 0);
    const parts = [`trials ${done}/${total}`, `running ${num(runs.running)}`];
    if (num(runs.failed)) parts.push(`failed ${runs.failed}`);
    if (d.bestRunId) parts.push(`best ${String(d.bestRunId)}`);
    if (d.error) parts.push(`error: ${String(d.error)}`);
    return { fraction: total > 0 ? done / total : 0, status, detail: parts.join('  ') };
  }
  const chunks = num(d.chunks);
  const parts = [
    `chunks ${num(d.chunksDone)}/${chunks}`,
    `scored ${num(d.scored)}`,
    `ungradable ${num(d.ungradable)}`,
    `failed ${num(d.failed)}`,
  ];
  if (d.error) parts.push(`error: ${String(d.error)}`);
  const terminal = ['succeeded', 'failed', 'canceled'].includes(status);
  return {
    fraction: chunks > 0 ? num(d.chunksDone) / chunks : terminal ? 1 : 0,
    status,
    detail: parts.join('  '),
  };
}

/** Splits an SSE byte stream into events (`event:` + one `data:` JSON line each). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<ProgressEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        const data = /^data: ?(.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue; // keep-alive comments
        yield { event, data: JSON.parse(data) as Record<string, unknown> };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Finds which kind an id is (run, sweep or scoring job); not-found (exit 4) when none has it. */
export async function detectKind(client: ApiClient, id: string): Promise<WatchKind> {
  for (const kind of ['run', 'sweep', 'scoring'] as WatchKind[]) {
    try {
      await client.get(`${WATCH_PATH[kind]}/${encodeURIComponent(id)}`);
      return kind;
    } catch (err) {
      if (!(err instanceof CliError && err.code === 'not-found')) throw err;
    }
  }
  throw new CliError(
    'not-found',
    `no run, sweep or scoring job has id ${id}: list them with \`fundus runs list\``,
  );
}

/**
 * Follows a job's server-sent events until its `end` event and renders them: a live bar on a TTY,
 * a plain line per change otherwise, one JSON object per line with `--json`. Reconnects if the
 * stream drops before the end. Returns the final state; throws job-failed (exit 7) unless succeeded.
 */
export async function watch(
  client: ApiClient,
  io: Io,
  kind: WatchKind,
  id: string,
  opts: { json: boolean },
): Promise<Record<string, unknown>> {
  const tty = Boolean(io.stdout.isTTY) && !opts.json;
  const label = `${kind} ${id.slice(0, 8)}`;
  let lastLine = '';
  let final: Record<string, unknown> | null = null;
  for (let attempt = 0; final === null; attempt++) {
    if (attempt >= 5) throw new CliError('server', `the progress stream of ${kind} ${id} kept closing early`);
    const res = await client.raw('GET', `${WATCH_PATH[kind]}/${encodeURIComponent(id)}/events`, {
      accept: 'text/event-stream',
    });
    if (!res.body) throw new CliError('server', `the API sent no progress stream for ${kind} ${id}`);
    for await (const e of readSse(res.body)) {
      if (opts.json) {
        io.stdout.write(`${JSON.stringify({ kind, id, event: e.event, ...e.data })}\n`);
      } else {
        const d = describe(kind, e.data);
        const line = `${label}  ${bar(d.fraction)}  ${d.status}  ${d.detail}`.trimEnd();
        if (tty) io.stdout.write(`\r\x1b[2K${line}`);
        else if (line !== lastLine) io.stdout.write(`${line}\n`);
        lastLine = line;
      }
      if (e.event === 'end') {
        final = e.data;
        break;
      }
    }
  }
  if (tty) io.stdout.write('\n');
  const status = String(final.status);
  if (status !== 'succeeded') {
    const why = final.error ? `: ${String(final.error)}` : '';
    throw new CliError('job-failed', `${kind} ${id} ended ${status}${why}`);
  }
  return final;
}
