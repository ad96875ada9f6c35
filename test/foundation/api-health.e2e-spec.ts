import { apiEnvSchema, loadConfig } from '@fundus/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApi } from '../../apps/api/src/main';
import { testEnv } from '../support/env';
import { spawnTs } from '../support/processes';
import { startS3rver, type S3rverHandle } from '../support/s3rver';

async function start(overrides: NodeJS.ProcessEnv = {}) {
  const storage = mkdtempSync(join(tmpdir(), 'fundus-storage-'));
  const config = loadConfig(
    apiEnvSchema,
    testEnv({ STORAGE_URI: `file://${storage}`, API_PORT: '0', ...overrides }),
  );
  const app = await createApi(config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, base: `http://127.0.0.1:${port}` };
}

describe('API health and readiness', () => {
  let app: NestExpressApplication;
  let base: string;

  beforeAll(async () => ({ app, base } = await start()));
  afterAll(() => app.close());

  it('GET /health answers 200 without touching dependencies', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /ready answers 200 when PostgreSQL, Redis and storage are reachable', async () => {
    const res = await fetch(`${base}/ready`);
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.failed).toEqual([]);
    expect(Object.keys(body.checks).sort()).toEqual(['postgres', 'redis', 'storage']);
  });

  it('GET /ready answers 503 naming Redis when Redis cannot be reached', async () => {
    const broken = await start({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await fetch(`${broken.base}/ready`);
      const body = await res.json();
      expect(res.status).toBe(503);
      expect(body.failed).toEqual(['redis']);
      expect(body.checks.redis.error).toBeTruthy();
      expect(body.checks.postgres.ok).toBe(true);
    } finally {
      await broken.app.close();
    }
  });

  it('GET /ready answers 503 naming PostgreSQL when the database is unreachable', async () => {
    const broken = await start({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none' });
    try {
      const res = await fetch(`${broken.base}/ready`);
      const body = await res.json();
      expect(res.status).toBe(503);
      expect(body.failed).toEqual(['postgres']);
    } finally {
      await broken.app.close();
    }
  });
});

describe('API readiness on S3-compatible storage', () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver({ bucket: 'fundus-ready' });
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  });
  afterAll(() => s3.stop());

  it.each([
    ['an existing bucket', 'fundus-ready', 200, []],
    ['a missing bucket', 'no-such-bucket', 503, ['storage']],
  ])('with %s (%s) answers %d', async (_what, bucket, status, failed) => {
    const api = await start({
      STORAGE_URI: `s3://${bucket}/images`,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
    });
    try {
      const res = await fetch(`${api.base}/ready`);
      expect(res.status).toBe(status);
      expect((await res.json()).failed).toEqual(failed);
    } finally {
      await api.app.close();
    }
  });
});

describe('processes with a broken environment', () => {
  const broken = {
    DATABASE_URL: 'mysql://nope',
    REDIS_URL: 'http://127.0.0.1:6379',
    STORAGE_URI: 'ftp://bucket',
    LOG_LEVEL: 'loud',
  };

  it.each([
    ['api', 'apps/api/src/main.ts', { API_PORT: '99999' }, ['API_PORT']],
    [
      'worker',
      'apps/gpu-worker/src/main.ts',
      { WORKER_QUEUES: 'training,bogus', MODEL_BACKEND: 'tpu' },
      ['WORKER_QUEUES', 'MODEL_BACKEND'],
    ],
  ])('%s lists every bad variable and exits non-zero', async (_name, entry, extra, extraNames) => {
    const proc = spawnTs(entry, { ...broken, ...extra, NODE_ENV: 'test' });
    const exit = await proc.exited();
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'STORAGE_URI', 'LOG_LEVEL', ...extraNames]) {
      expect(proc.output()).toContain(name);
    }
    expect(proc.output()).toMatch(/Invalid configuration/);
  });

  it('a missing DATABASE_URL is reported as required', async () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const proc = spawnTs('apps/api/src/main.ts', { ...env, DATABASE_URL: '' });
    const exit = await proc.exited();
    expect(exit.code).toBe(2);
    expect(proc.output()).toMatch(/DATABASE_URL \(unset\): is required/);
  });
});

describe('API process lifecycle', () => {
  it('serves /health and stops cleanly on SIGTERM', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'fundus-storage-'));
    const proc = spawnTs(
      'apps/api/src/main.ts',
      testEnv({ API_PORT: '0', API_HOST: '127.0.0.1', STORAGE_URI: `file://${storage}` }),
    );
    await proc.waitFor(/listening on/, 60000);
    const exit = await proc.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(proc.output()).toMatch(/SIGTERM: shutting down/);
  });
});
