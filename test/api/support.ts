import { apiEnvSchema, loadConfig } from '@fundus/config';
import { ApiKeysRepository, createPrismaClient, type PrismaClient, type Role } from '@fundus/db';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createApi } from '../../apps/api/src/main';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { testEnv } from '../support/env';
import { spawnTs, type Spawned } from '../support/processes';

export interface TestApi {
  app: NestExpressApplication;
  base: string;
  prisma: PrismaClient;
  storageRoot: string;
  bootstrapKey: string;
  /** One fresh key per role. */
  keys: Record<Role, { id: string; secret: string }>;
  close(): Promise<void>;
}

export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
  headers: Headers;
}

/** A real API on port 0 over the test database and Redis, with a local storage root. */
export async function startApi(
  overrides: NodeJS.ProcessEnv = {},
  storageRoot = mkdtempSync(join(tmpdir(), 'fundus-api-')),
): Promise<TestApi> {
  const bootstrapKey = `boot_${randomBytes(16).toString('hex')}`;
  const config = loadConfig(
    apiEnvSchema,
    testEnv({
      STORAGE_URI: `file://${storageRoot}`,
      API_PORT: '0',
      BOOTSTRAP_ADMIN_KEY: bootstrapKey,
      ...overrides,
    }),
  );
  const app = await createApi(config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const prisma = createPrismaClient(process.env.DATABASE_URL!);
  const repo = new ApiKeysRepository(prisma);
  const keys = {} as TestApi['keys'];
  for (const role of ['admin', 'researcher', 'viewer'] as Role[]) {
    const { key, secret } = await repo.create({ name: `test-${role}`, role });
    keys[role] = { id: key.id, secret };
  }
  return {
    app,
    base: `http://127.0.0.1:${port}`,
    prisma,
    storageRoot,
    bootstrapKey,
    keys,
    async close() {
      await app.close();
      await prisma.$disconnect();
    },
  };
}

/** One request; `key` is a secret (or undefined for none); JSON bodies are sent as JSON. */
export async function call(
  api: Pick<TestApi, 'base'>,
  method: string,
  path: string,
  opts: { key?: string; json?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] ??= 'application/json';
  } else if (opts.raw !== undefined) {
    body = opts.raw;
  }
  const res = await fetch(`${api.base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** A server-sent event as received. */
export interface SseEvent {
  event: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Reads a server-sent event stream until the server closes it (our streams close after `end`),
 * or `onEvent` returns true (then the reader cancels).
 */
export async function readEvents(
  api: Pick<TestApi, 'base'>,
  path: string,
  key: string,
  onEvent?: (e: SseEvent) => boolean | Promise<boolean>,
): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const res = await fetch(`${api.base}${path}`, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
  });
  const events: SseEvent[] = [];
  if (!res.body || res.status !== 200)
    return { status: res.status, contentType: res.headers.get('content-type'), events };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let sep: number;
    while ((sep = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!event || data === undefined) continue;
      const e = { event, data: JSON.parse(data) };
      events.push(e);
      if (onEvent && (await onEvent(e))) {
        await reader.cancel();
        return { status: res.status, contentType: res.headers.get('content-type'), events };
      }
    }
  }
  return { status: res.status, contentType: res.headers.get('content-type'), events };
}

/**
 * A real worker process (apps/gpu-worker) on the API's queues and local object store: training,
 * sweeps and scoring on the cpu backend, no nightly schedule, its own tensor cache folder.
 */
export function startWorker(
  queuePrefix: string,
  storageRoot: string,
  env: Record<string, string> = {},
): Spawned {
  return spawnTs(
    'apps/gpu-worker/src/main.ts',
    testEnv({
      QUEUE_PREFIX: queuePrefix,
      WORKER_QUEUES: 'training,sweeps,scoring',
      STORAGE_URI: `file://${storageRoot}`,
      CACHE_DIR: mkdtempSync(join(tmpdir(), 'fundus-cache-')),
      MODEL_BACKEND: 'cpu',
      NIGHTLY_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      ...env,
    }),
  );
}

/**
 * Stops the worker, removes every job of the suite's queue prefix from Redis and closes the API; a
 * saved nightly schedule is deleted too, so suites sharing the database start without one.
 */
export async function stopStack(
  api: TestApi | undefined,
  worker: Spawned | undefined,
  queuePrefix: string,
): Promise<void> {
  await worker?.stop();
  const queues = new JobQueues(redisConnection(process.env.REDIS_URL!), queuePrefix);
  for (const q of JobQueues.all()) queues.queue(q);
  await queues.obliterateAll();
  await queues.close();
  await api?.prisma.setting.deleteMany({ where: { key: 'nightly' } });
  await api?.close();
}
