import { randomUUID } from 'node:crypto';
import { ApiKeysRepository } from '@fundus/db';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { ROUTES } from '../../apps/api/src/docs/openapi';
import { buildRun } from '../support/builders';
import { call, startApi, type TestApi } from './support';

/**
 * Every endpoint × {admin, researcher, viewer, no key} → the expected status. Requests that a role
 * may make are shaped to stop at a known answer after the guard (unknown id → 404, empty body →
 * 400), so the matrix proves the guard let them through without creating work.
 */
type Who = 'admin' | 'researcher' | 'viewer' | 'none';
type Row = [method: string, path: string, body: unknown, expect: Record<Who, number>];

const U = randomUUID();
const all = (s: number): Record<Who, number> => ({ admin: s, researcher: s, viewer: s, none: s });
const read = (s: number): Record<Who, number> => ({ admin: s, researcher: s, viewer: s, none: 401 });
const write = (s: number): Record<Who, number> => ({ admin: s, researcher: s, viewer: 403, none: 401 });
const admin = (s: number): Record<Who, number> => ({ admin: s, researcher: 403, viewer: 403, none: 401 });

const MATRIX: Row[] = [
  ['GET', '/health', undefined, all(200)],
  ['GET', '/ready', undefined, all(200)],
  ['GET', '/docs', undefined, all(200)],
  ['GET', '/docs/openapi.json', undefined, all(200)],
  ['GET', '/metrics', undefined, read(200)],
  ['POST', '/api-keys', { name: 'matrix', role: 'viewer' }, admin(201)],
  ['GET', '/api-keys', undefined, admin(200)],
  ['DELETE', `/api-keys/${U}`, undefined, admin(404)],
  ['GET', '/audit-events', undefined, admin(200)],
  ['POST', '/datasets', {}, write(400)],
  ['GET', '/datasets', undefined, read(200)],
  ['GET', `/datasets/${U}`, undefined, read(404)],
  ['POST', '/runs', {}, write(400)],
  ['GET', '/runs', undefined, read(200)],
  ['GET', `/runs/${U}`, undefined, read(404)],
  ['POST', `/runs/${U}/cancel`, undefined, write(404)],
  ['GET', `/runs/${U}/events`, undefined, read(404)],
  ['GET', `/runs/${U}/report`, undefined, read(404)],
  ['GET', `/runs/${U}/model`, undefined, read(404)],
  ['GET', `/runs/${U}/scores`, undefined, read(404)],
  ['GET', `/runs/${U}/model/model.json`, undefined, read(404)],
  ['POST', '/sweeps', {}, write(400)],
  ['GET', '/sweeps', undefined, read(200)],
  ['GET', `/sweeps/${U}`, undefined, read(404)],
  ['POST', `/sweeps/${U}/cancel`, undefined, write(404)],
  ['GET', `/sweeps/${U}/events`, undefined, read(404)],
  ['GET', '/models', undefined, read(200)],
  ['GET', '/models/champion', undefined, read(200)],
  ['GET', '/models/champion/history', undefined, read(200)],
  ['GET', `/models/${U}`, undefined, read(404)],
  ['POST', `/models/${U}/promote`, undefined, write(404)],
  ['POST', '/scoring-jobs', {}, write(400)],
  ['GET', '/scoring-jobs', undefined, read(200)],
  ['GET', `/scoring-jobs/${U}`, undefined, read(404)],
  ['POST', `/scoring-jobs/${U}/cancel`, undefined, write(404)],
  ['GET', `/scoring-jobs/${U}/events`, undefined, read(404)],
  ['GET', '/predictions', undefined, read(200)],
  ['GET', '/predictions/histogram', undefined, read(200)],
  ['GET', '/schedule/nightly', undefined, read(200)],
  ['PUT', '/schedule/nightly', {}, admin(400)],
  ['GET', '/admin/queues', undefined, admin(200)],
];

describe('authorization matrix', () => {
  let api: TestApi;
  const secret = (who: Who) => (who === 'none' ? undefined : api.keys[who].secret);

  const queuePrefix = `${process.env.QUEUE_PREFIX}-matrix`;
  beforeAll(async () => (api = await startApi({ QUEUE_PREFIX: queuePrefix })));
  afterAll(async () => {
    const queues = new JobQueues(redisConnection(process.env.REDIS_URL!), queuePrefix);
    for (const q of JobQueues.all()) queues.queue(q);
    await queues.obliterateAll();
    await queues.close();
    await api.close();
  });

  it('covers every documented endpoint', () => {
    const covered = new Set(
      MATRIX.map(([m, p]) => `${m} ${p.replace(U, '{id}').replace('/model.json', '/{file}')}`),
    );
    const missing = ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).filter((r) => !covered.has(r));
    expect(missing).toEqual([]);
  });

  const cases = MATRIX.flatMap(([method, path, body, expect]) =>
    (['admin', 'researcher', 'viewer', 'none'] as Who[]).map(
      (who) => [who, method, path, body, expect[who]] as const,
    ),
  );
  it.each(cases)('%s %s %s → %s', async (who, method, path, body, expected) => {
    const res = await call(api, method, path, { key: secret(who), json: body });
    expect({ status: res.status, message: res.body?.message }).toMatchObject({ status: expected });
    if (expected === 403) expect(res.body.message).toMatch(/role "\w+" may not|needs admin/);
    if (expected === 401) expect(res.body.message).toMatch(/missing API key/);
  });

  it('rejects unknown, malformed and revoked keys with 401', async () => {
    expect((await call(api, 'GET', '/runs', { key: 'fk_not-a-real-key' })).status).toBe(401);
    expect((await call(api, 'GET', '/runs', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    const created = await call(api, 'POST', '/api-keys', {
      key: api.keys.admin.secret,
      json: { name: 'short-lived', role: 'viewer' },
    });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^fk_/);
    expect((await call(api, 'GET', '/runs', { key: created.body.key })).status).toBe(200);
    expect(
      (await call(api, 'DELETE', `/api-keys/${created.body.id}`, { key: api.keys.admin.secret })).status,
    ).toBe(200);
    const after = await call(api, 'GET', '/runs', { key: created.body.key });
    expect(after.status).toBe(401);
    expect(after.body.message).toMatch(/revoked/);
    const audit = await api.prisma.auditEvent.findMany({
      where: { subject: `api-key:${created.body.id}` },
      orderBy: { createdAt: 'asc' },
    });
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([
      ['api-key.create', api.keys.admin.id],
      ['api-key.revoke', api.keys.admin.id],
    ]);
  });

  it('stores only the hash of a key and shows the secret once', async () => {
    const created = await call(api, 'POST', '/api-keys', {
      key: api.keys.admin.secret,
      json: { name: 'once', role: 'researcher' },
    });
    const row = await api.prisma.apiKey.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(row.hash).not.toContain(created.body.key);
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    const listed = await call(api, 'GET', '/api-keys', { key: api.keys.admin.secret });
    expect(listed.text).not.toContain(created.body.key);
    expect(listed.text).not.toContain(row.hash);
  });

  it('accepts the bootstrap admin key from the environment', async () => {
    const res = await call(api, 'GET', '/api-keys', { key: api.bootstrapKey });
    expect(res.status).toBe(200);
    expect(
      res.body.items.some(
        (k: { name: string; role: string }) => k.name === 'bootstrap-admin' && k.role === 'admin',
      ),
    ).toBe(true);
  });

  it('lets a researcher cancel only their own runs; an admin cancels anyone’s', async () => {
    const mine = await buildRun(api.prisma);
    const theirs = await buildRun(api.prisma);
    await api.prisma.run.update({
      where: { id: mine.id },
      data: { status: 'queued', createdBy: api.keys.researcher.id },
    });
    await api.prisma.run.update({
      where: { id: theirs.id },
      data: { status: 'queued', createdBy: api.keys.admin.id },
    });
    const denied = await call(api, 'POST', `/runs/${theirs.id}/cancel`, { key: api.keys.researcher.secret });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/only its creator or an admin/);
    const own = await call(api, 'POST', `/runs/${mine.id}/cancel`, { key: api.keys.researcher.secret });
    expect(own.status).toBe(200);
    expect(own.body.status).toBe('canceled');
    const byAdmin = await call(api, 'POST', `/runs/${theirs.id}/cancel`, { key: api.keys.admin.secret });
    expect(byAdmin.body.status).toBe('canceled');
    const events = await api.prisma.auditEvent.findMany({
      where: { action: 'run.cancel', subject: { in: [`run:${mine.id}`, `run:${theirs.id}`] } },
    });
    expect(events.map((e) => e.actorId).sort()).toEqual([api.keys.admin.id, api.keys.researcher.id].sort());
  });

  it('lets only the creator or an admin cancel a scoring job, and audits the cancel', async () => {
    const run = await buildRun(api.prisma);
    const mv = await api.prisma.modelVersion.create({
      data: {
        runId: run.id,
        format: 'tfjs-layers',
        uri: 'file:///nowhere/model.json',
        architecture: 'tiny-resnet',
        inputSize: 32,
        threshold: 0.5,
      },
    });
    const created = await call(api, 'POST', '/scoring-jobs', {
      key: api.keys.researcher.secret,
      json: { modelVersionId: mv.id, prefix: 'intake/' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'queued', createdBy: api.keys.researcher.id });
    const other = await new ApiKeysRepository(api.prisma).create({
      name: 'other-researcher',
      role: 'researcher',
    });
    const denied = await call(api, 'POST', `/scoring-jobs/${created.body.id}/cancel`, { key: other.secret });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/only its creator or an admin/);
    expect(
      (await call(api, 'POST', `/scoring-jobs/${created.body.id}/cancel`, { key: api.keys.viewer.secret }))
        .status,
    ).toBe(403);
    const canceled = await call(api, 'POST', `/scoring-jobs/${created.body.id}/cancel`, {
      key: api.keys.admin.secret,
    });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ status: 'canceled', canceled: true });
    const again = await call(api, 'POST', `/scoring-jobs/${created.body.id}/cancel`, {
      key: api.keys.researcher.secret,
    });
    expect(again.body).toMatchObject({ status: 'canceled', canceled: false });
    const audit = await api.prisma.auditEvent.findMany({
      where: { subject: `scoring-job:${created.body.id}` },
      orderBy: { createdAt: 'asc' },
    });
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([
      ['scoring.create', api.keys.researcher.id],
      ['scoring.cancel', api.keys.admin.id],
    ]);
  });
});
