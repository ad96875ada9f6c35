import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticDataset } from '@fundus/imaging';
import { probabilityBins, rocAuc } from '@fundus/metrics';
import { fundusJpeg } from '../support/builders';
import { type Spawned } from '../support/processes';
import { tinyRunConfig } from '../support/training-fixtures';
import { call, readEvents, startApi, startWorker, stopStack, type TestApi } from './support';

jest.setTimeout(240_000);

/**
 * Every resource end to end: the API in this process, a real worker process (training and
 * scoring queues, cpu backend), PostgreSQL, Redis and a local object store shared by both.
 */
describe('API resources with a real worker', () => {
  const queuePrefix = `${process.env.QUEUE_PREFIX}-api`;
  const storageRoot = mkdtempSync(join(tmpdir(), 'fundus-api-res-'));
  let api: TestApi;
  let worker: Spawned;
  let admin: string;
  let researcher: string;
  let viewer: string;
  let datasetId: string;
  let runId: string;
  let modelVersionId: string;
  const INTAKE = 5;

  beforeAll(async () => {
    await writeSyntheticDataset({
      root: join(storageRoot, 'datasets', 'api-e2e'),
      size: 96,
      seed: 7,
      counts: {
        train: { normal: 12, disease: 12 },
        val: { normal: 6, disease: 6 },
        test: { normal: 6, disease: 6 },
      },
      severityMix: { moderate: 1, severe: 1 },
    });
    mkdirSync(join(storageRoot, 'intake', 'day1'), { recursive: true });
    for (let i = 0; i < INTAKE; i++)
      writeFileSync(
        join(storageRoot, 'intake', 'day1', `img-${i}.jpg`),
        await fundusJpeg(100 + i, 96, i % 2 === 0),
      );
    api = await startApi({ QUEUE_PREFIX: queuePrefix }, storageRoot);
    ({ admin, researcher, viewer } = {
      admin: api.keys.admin.secret,
      researcher: api.keys.researcher.secret,
      viewer: api.keys.viewer.secret,
    });
    worker = startWorker(queuePrefix, storageRoot);
  });

  afterAll(() => stopStack(api, worker, queuePrefix));

  it('registers a dataset from a storage prefix (idempotent) and shows its counts', async () => {
    const first = await call(api, 'POST', '/datasets', {
      key: researcher,
      json: { name: 'api-e2e', prefix: 'datasets/api-e2e/' },
    });
    expect(first.status).toBe(201);
    expect(first.body.created).toBe(true);
    datasetId = first.body.id;
    const again = await call(api, 'POST', '/datasets', {
      key: researcher,
      json: { name: 'api-e2e', prefix: 'datasets/api-e2e/' },
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: datasetId, created: false });
    const shown = await call(api, 'GET', `/datasets/${datasetId}`, { key: viewer });
    expect(shown.body.itemCount).toBe(48);
    expect(shown.body.counts).toEqual({
      train: { '0': 12, '1': 12 },
      val: { '0': 6, '1': 6 },
      test: { '0': 6, '1': 6 },
    });
    expect(shown.body.labelMap).toEqual({ disease: 1, normal: 0 });
    const listed = await call(api, 'GET', '/datasets', { key: viewer });
    expect(listed.body.items.map((d: { id: string }) => d.id)).toContain(datasetId);
    const audit = await api.prisma.auditEvent.findMany({ where: { subject: `dataset:${datasetId}` } });
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([['dataset.register', api.keys.researcher.id]]);
  });

  it('trains a run submitted over HTTP, streaming its progress as server-sent events', async () => {
    const created = await call(api, 'POST', '/runs', {
      key: researcher,
      json: { datasetId, seed: 3, config: tinyRunConfig() },
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('queued');
    runId = created.body.id;
    const stream = await readEvents(api, `/runs/${runId}/events`, viewer);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/text\/event-stream/);
    const last = stream.events[stream.events.length - 1];
    expect(last.event).toBe('end');
    expect(last.data).toMatchObject({ status: 'succeeded', progress: 1 });
    for (const e of stream.events.slice(0, -1)) expect(e.event).toBe('progress');
    const progress = stream.events.map((e) => e.data.progress as number);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    const audit = await api.prisma.auditEvent.findMany({ where: { subject: `run:${runId}` } });
    expect(audit.map((a) => a.action)).toEqual(['run.create']);
  });

  it('shows the run with epochs, metrics, curves and a threshold table from its validation scores', async () => {
    const res = await call(api, 'GET', `/runs/${runId}`, { key: viewer });
    expect(res.status).toBe(200);
    const run = res.body;
    expect(run.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    expect(run.models).toHaveLength(1);
    modelVersionId = run.models[0].id;
    expect(run.testMetrics).toBeTruthy();
    expect(run.valMetrics).toBeTruthy();
    expect(run.valMetrics.scores).toBeUndefined();
    const stored = (await api.prisma.run.findUniqueOrThrow({ where: { id: runId } })).valMetrics as {
      labels: number[];
      scores: number[];
    };
    const { roc, pr, thresholdTable, n } = run.curves;
    expect(n).toBe(stored.labels.length);
    expect(roc[0]).toEqual({ fpr: 0, tpr: 0, threshold: null });
    expect(roc[roc.length - 1]).toMatchObject({ fpr: 1, tpr: 1 });
    // Trapezoid area under the returned ROC points = AUC computed independently from the scores.
    let area = 0;
    for (let i = 1; i < roc.length; i++)
      area += ((roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr)) / 2;
    expect(area).toBeCloseTo(rocAuc(stored.labels, stored.scores), 10);
    expect(pr[pr.length - 1]).toEqual({ recall: 0, precision: 1, threshold: null });
    expect(thresholdTable[0]).toMatchObject({ threshold: null, tp: 0, fp: 0 });
    const sens = thresholdTable.map((r: { sensitivity: number }) => r.sensitivity);
    expect([...sens].sort((a, b) => a - b)).toEqual(sens);
    const positives = stored.labels.filter((l) => l === 1).length;
    expect(thresholdTable[thresholdTable.length - 1]).toMatchObject({ tp: positives, fn: 0 });
  });

  it("serves the run's stored validation and test scores, which the details leave out", async () => {
    const res = await call(api, 'GET', `/runs/${runId}/scores`, { key: viewer });
    expect(res.status).toBe(200);
    const row = await api.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    const val = row.valMetrics as { labels: number[]; scores: number[] };
    const test = row.testMetrics as { labels: number[]; scores: number[]; auc: number };
    expect(res.body.validation).toEqual({ labels: val.labels, scores: val.scores });
    expect(res.body.test).toEqual({ labels: test.labels, scores: test.scores });
    expect(res.body.threshold).toBe(row.threshold);
    // The stored test AUC is the one the test scores give.
    expect(rocAuc(test.labels, test.scores)).toBeCloseTo(test.auc, 12);
    const detail = await call(api, 'GET', `/runs/${runId}`, { key: viewer });
    expect(detail.body.testMetrics.auc).toBe(test.auc);
    expect(detail.body.testMetrics.labels).toBeUndefined();
    expect(detail.body.testMetrics.scores).toBeUndefined();
  });

  it('downloads the report and the model files', async () => {
    const report = await call(api, 'GET', `/runs/${runId}/report`, { key: viewer });
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toMatch(/text\/html/);
    expect(report.text).toMatch(/<html/i);
    const files = await call(api, 'GET', `/runs/${runId}/model`, { key: viewer });
    const names = files.body.files.map((f: { name: string }) => f.name);
    expect(names).toContain('model.json');
    const modelJson = await call(api, 'GET', `/runs/${runId}/model/model.json`, { key: viewer });
    expect(modelJson.status).toBe(200);
    expect(modelJson.body.modelTopology).toBeTruthy();
    for (const w of modelJson.body.weightsManifest[0].paths as string[]) {
      const res = await fetch(`${api.base}/runs/${runId}/model/${w}`, {
        headers: { authorization: `Bearer ${viewer}` },
      });
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(
        files.body.files.find((f: { name: string }) => f.name === w).size,
      );
    }
  });

  it('cancels a running run; the stream ends with canceled', async () => {
    const created = await call(api, 'POST', '/runs', {
      key: researcher,
      json: { datasetId, seed: 4, config: tinyRunConfig({ epochs: 200 }) },
    });
    const id = created.body.id;
    let canceled = false;
    const stream = await readEvents(api, `/runs/${id}/events`, viewer, async (e) => {
      if (!canceled && e.data.status === 'running') {
        canceled = true;
        const res = await call(api, 'POST', `/runs/${id}/cancel`, { key: researcher });
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('canceled');
      }
      return false;
    });
    expect(stream.events[stream.events.length - 1]).toMatchObject({
      event: 'end',
      data: { status: 'canceled' },
    });
    const again = await call(api, 'POST', `/runs/${id}/cancel`, { key: researcher });
    expect(again.status).toBe(409);
  });

  it('lists runs with filters, metric sorts and cursor pagination', async () => {
    const aucs = [0.91, 0.72, 0.85, 0.99, 0.6, 0.85, 0.78];
    const made: string[] = [];
    for (const [i, auc] of aucs.entries()) {
      const r = await api.prisma.run.create({
        data: {
          datasetId,
          seed: i,
          config: {},
          status: 'succeeded',
          auc,
          sensitivity: 0.9 - i / 100,
          specificity: 0.5 + i / 100,
        },
      });
      made.push(r.id);
    }
    const pages: Array<{ id: string; auc: number }> = [];
    let cursor: string | null = null;
    let guard = 0;
    do {
      const q: string = `/runs?datasetId=${datasetId}&sort=auc&order=desc&minAuc=0.6&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await call(api, 'GET', q, { key: viewer });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      pages.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor && ++guard < 10);
    const expected = await api.prisma.run.findMany({
      where: { datasetId, auc: { gte: 0.6 } },
      orderBy: [{ auc: 'desc' }, { id: 'desc' }],
    });
    expect(pages.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    expect(new Set(pages.map((r) => r.id)).size).toBe(pages.length);
    expect(pages.every((r) => !('valMetrics' in r))).toBe(true);

    const high = await call(
      api,
      'GET',
      `/runs?datasetId=${datasetId}&minAuc=0.85&maxAuc=0.95&sort=auc&order=asc`,
      { key: viewer },
    );
    expect(high.body.items.map((r: { auc: number }) => r.auc)).toEqual(
      [0.85, 0.85, 0.91]
        .concat(
          expected.filter((r) => r.auc! >= 0.85 && r.auc! <= 0.95 && !made.includes(r.id)).map((r) => r.auc!),
        )
        .sort(),
    );
    const spec = await call(
      api,
      'GET',
      `/runs?datasetId=${datasetId}&sort=specificity&order=desc&minSpecificity=0.55&limit=2`,
      { key: viewer },
    );
    expect(spec.body.items.map((r: { specificity: number }) => r.specificity)).toEqual([0.56, 0.55]);
    const canceled = await call(api, 'GET', `/runs?status=canceled&datasetId=${datasetId}`, { key: viewer });
    expect(canceled.body.items).toHaveLength(1);
    const future = await call(
      api,
      'GET',
      `/runs?createdFrom=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      { key: viewer },
    );
    expect(future.body.items).toEqual([]);
    const byCreated = await call(api, 'GET', `/runs?datasetId=${datasetId}&limit=100`, { key: viewer });
    const created = byCreated.body.items.map((r: { createdAt: string }) => r.createdAt);
    expect([...created].sort().reverse()).toEqual(created);
  });

  it('promotes the model to champion (admins and researchers, not viewers) with its history', async () => {
    const listed = await call(api, 'GET', `/models?runId=${runId}`, { key: viewer });
    expect(listed.body.items.map((m: { id: string }) => m.id)).toEqual([modelVersionId]);
    expect((await call(api, 'POST', `/models/${modelVersionId}/promote`, { key: viewer })).status).toBe(403);
    const promoted = await call(api, 'POST', `/models/${modelVersionId}/promote`, { key: researcher });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ changed: true, champion: { id: modelVersionId, champion: true } });
    const champion = await call(api, 'GET', '/models/champion', { key: viewer });
    expect(champion.body.champion.id).toBe(modelVersionId);
    const history = await call(api, 'GET', '/models/champion/history', { key: viewer });
    expect(history.body.items[0]).toMatchObject({ modelVersionId, actorId: api.keys.researcher.id });
  });

  it('scores an intake prefix with the model, streams progress, and serves the predictions', async () => {
    const created = await call(api, 'POST', '/scoring-jobs', {
      key: researcher,
      json: { modelVersionId, prefix: 'intake/day1/' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const stream = await readEvents(api, `/scoring-jobs/${id}/events`, viewer);
    expect(stream.events[stream.events.length - 1]).toMatchObject({
      event: 'end',
      data: { status: 'succeeded' },
    });
    const job = await call(api, 'GET', `/scoring-jobs/${id}`, { key: viewer });
    expect(job.body).toMatchObject({ status: 'succeeded', progress: 1, totalKeys: INTAKE });
    expect(job.body.scored + job.body.ungradable + job.body.failed).toBe(INTAKE);
    const audit = await api.prisma.auditEvent.findMany({ where: { subject: `scoring-job:${id}` } });
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([['scoring.create', api.keys.researcher.id]]);

    const all = await call(api, 'GET', `/predictions?prefix=intake/day1/&modelVersionId=${modelVersionId}`, {
      key: viewer,
    });
    expect(all.body.items).toHaveLength(INTAKE);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        api,
        'GET',
        `/predictions?prefix=intake/&modelVersionId=${modelVersionId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { key: viewer },
      );
      paged.push(...res.body.items.map((p: { id: string }) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(paged.sort()).toEqual(all.body.items.map((p: { id: string }) => p.id).sort());
    const one = await call(
      api,
      'GET',
      `/predictions?key=${encodeURIComponent('intake/day1/img-0.jpg')}&modelVersionId=${modelVersionId}`,
      {
        key: viewer,
      },
    );
    expect(one.body.items).toHaveLength(1);
    expect(one.body.items[0].probability).toBeGreaterThanOrEqual(0);
    for (const label of [0, 1]) {
      const res = await call(
        api,
        'GET',
        `/predictions?prefix=intake/&modelVersionId=${modelVersionId}&label=${label}`,
        { key: viewer },
      );
      expect(res.body.items.every((p: { label: number }) => p.label === label)).toBe(true);
    }
    const both =
      (
        await call(api, 'GET', `/predictions?prefix=intake/&modelVersionId=${modelVersionId}&label=0`, {
          key: viewer,
        })
      ).body.items.length +
      (
        await call(api, 'GET', `/predictions?prefix=intake/&modelVersionId=${modelVersionId}&label=1`, {
          key: viewer,
        })
      ).body.items.length;
    expect(both).toBe(job.body.scored);
    const none = await call(
      api,
      'GET',
      `/predictions?prefix=intake/&modelVersionId=${modelVersionId}&to=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`,
      { key: viewer },
    );
    expect(none.body.items).toEqual([]);
    // The histogram counts every matching prediction in equal-width bins, like libs/metrics.
    const everything = await api.prisma.prediction.findMany({
      where: { modelVersionId, key: { startsWith: 'intake/' } },
    });
    expect(everything.length).toBeGreaterThan(0);
    const probs = everything.map((p) => p.probability).filter((p): p is number => p !== null);
    const hist = await call(
      api,
      'GET',
      `/predictions/histogram?prefix=intake/&modelVersionId=${modelVersionId}&bins=5`,
      {
        key: viewer,
      },
    );
    expect(hist.status).toBe(200);
    expect(hist.body.edges).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(hist.body.counts).toEqual(probabilityBins(probs, 5));
    expect(hist.body.scored).toBe(probs.length);
    expect(hist.body.unscored).toBe(everything.length - probs.length);
    const diseaseOnly = await call(
      api,
      'GET',
      `/predictions/histogram?prefix=intake/&modelVersionId=${modelVersionId}&label=1`,
      { key: viewer },
    );
    expect(diseaseOnly.body.scored).toBe(
      everything.filter((p) => (p as { label?: number }).label === 1).length,
    );
  });

  it('changes the nightly schedule (stored, applied to the queue scheduler, audited)', async () => {
    const changed = await call(api, 'PUT', '/schedule/nightly', {
      key: admin,
      json: { cron: '30 3 * * *', timezone: 'Europe/Berlin' },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      cron: '30 3 * * *',
      timezone: 'Europe/Berlin',
      enabled: true,
      registered: true,
    });
    expect(new Date(changed.body.next).getTime()).toBeGreaterThan(Date.now());
    const off = await call(api, 'PUT', '/schedule/nightly', { key: admin, json: { enabled: false } });
    expect(off.body).toMatchObject({ cron: '30 3 * * *', enabled: false, registered: false, next: null });
    const shown = await call(api, 'GET', '/schedule/nightly', { key: viewer });
    expect(shown.body).toMatchObject({ cron: '30 3 * * *', timezone: 'Europe/Berlin', enabled: false });
    const audit = await api.prisma.auditEvent.findMany({
      where: { action: 'schedule.nightly.update' },
      orderBy: { createdAt: 'asc' },
    });
    expect(audit.map((a) => (a.details as { after: { enabled: boolean } }).after.enabled)).toEqual([
      true,
      false,
    ]);
  });

  it('exposes Prometheus metrics: HTTP latencies, queue depths and job durations', async () => {
    const res = await call(api, 'GET', '/metrics', { key: viewer });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(
      /fundus_http_request_duration_seconds_count\{method="GET",route="\/runs",status="200"\} \d+/,
    );
    expect(res.text).toMatch(/fundus_queue_jobs\{queue="training",state="completed"\} [1-9]/);
    expect(res.text).toMatch(
      /fundus_job_duration_seconds\{kind="training",status="succeeded",stat="mean"\} [0-9.]+/,
    );
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await call(api, 'GET', '/docs/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    const post = doc.body.paths['/runs'].post;
    const config = post.requestBody.content['application/json'].schema.properties.config;
    const focal = config.properties.loss.oneOf.find(
      (o: { properties: { kind: { const: string } } }) => o.properties.kind.const === 'focal-seed',
    );
    expect(focal.properties.alpha).toMatchObject({ type: 'number', minimum: 0 });
    expect(config.properties.epochs).toMatchObject({ type: 'integer', exclusiveMinimum: 0 });
    expect(doc.body.paths['/runs'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['status', 'sort', 'cursor', 'minAuc']),
    );
    const page = await call(api, 'GET', '/docs');
    expect(page.text).toContain('swagger-ui-bundle.js');
    const asset = await fetch(`${api.base}/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
  });

  it('mounts the queue board for admins only', async () => {
    expect((await call(api, 'GET', '/admin/queues', { key: viewer })).status).toBe(403);
    const board = await call(api, 'GET', '/admin/queues/api/queues', { key: admin });
    expect(board.status).toBe(200);
    expect(board.body.queues.map((q: { name: string }) => q.name)).toEqual(
      expect.arrayContaining(['training', 'scoring']),
    );
  });
  it('runs a sweep submitted over HTTP and shows its leaderboard', async () => {
    const created = await call(api, 'POST', '/sweeps', {
      key: researcher,
      json: {
        datasetId,
        name: 'api-sweep',
        space: { alpha: [0.5, 2], gamma: [2] },
        maxParallel: 1,
        seed: 5,
        baseConfig: tinyRunConfig({ epochs: 1 }),
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.runIds).toHaveLength(2);
    const id = created.body.id;
    const stream = await readEvents(api, `/sweeps/${id}/events`, viewer);
    const end = stream.events[stream.events.length - 1];
    expect(end).toMatchObject({ event: 'end', data: { status: 'succeeded', runs: { succeeded: 2 } } });
    const shown = await call(api, 'GET', `/sweeps/${id}`, { key: viewer });
    expect(shown.body.counts).toMatchObject({ succeeded: 2, failed: 0 });
    expect(shown.body.trials.map((t: { trialIndex: number }) => t.trialIndex)).toEqual([0, 1]);
    const board = shown.body.leaderboard as Array<{ runId: string; objective: number }>;
    expect(board).toHaveLength(2);
    expect(shown.body.bestRunId).toBe(board[0].runId);
    const trials = await call(api, 'GET', `/runs?sweepId=${id}&sort=createdAt&order=asc`, { key: viewer });
    expect(trials.body.items.map((r: { id: string }) => r.id).sort()).toEqual(
      [...created.body.runIds].sort(),
    );
    const listed = await call(api, 'GET', '/sweeps?status=succeeded', { key: viewer });
    expect(listed.body.items.map((x: { id: string }) => x.id)).toContain(id);
    expect(listed.body.items[0].leaderboard).toBeUndefined();
    const again = await call(api, 'POST', `/sweeps/${id}/cancel`, { key: researcher });
    expect(again.status).toBe(409);
    const audit = await api.prisma.auditEvent.findMany({ where: { subject: `sweep:${id}` } });
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([['sweep.create', api.keys.researcher.id]]);
  });
});
