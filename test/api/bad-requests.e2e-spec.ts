import { randomUUID } from 'node:crypto';
import { buildDataset, buildRun } from '../support/builders';
import { call, startApi, type TestApi } from './support';

/**
 * Bad requests: each must be answered 4xx with a message naming the problem — never 5xx, never a
 * silent success. `$dataset`, `$run` and `$model` in paths and bodies are replaced with real ids.
 */
type Case = [
  what: string,
  method: string,
  path: string,
  send: { json?: unknown; raw?: string; type?: string },
  status: number,
  message: RegExp,
];

const runBody = (config: object) => ({ datasetId: '$dataset', config });
const U = randomUUID();

const CASES: Case[] = [
  // Body transport
  [
    'malformed JSON',
    'POST',
    '/runs',
    { raw: '{"datasetId": ', type: 'application/json' },
    400,
    /malformed JSON/,
  ],
  [
    'JSON null',
    'POST',
    '/runs',
    { raw: 'null', type: 'application/json' },
    400,
    /malformed JSON|JSON object/,
  ],
  ['JSON array', 'POST', '/runs', { json: [] }, 400, /must be a JSON object/],
  ['text/plain body', 'POST', '/runs', { raw: 'datasetId=1', type: 'text/plain' }, 415, /application\/json/],
  [
    'form body',
    'POST',
    '/api-keys',
    { raw: 'name=a&role=admin', type: 'application/x-www-form-urlencoded' },
    415,
    /application\/json/,
  ],
  [
    'oversized body',
    'POST',
    '/runs',
    { json: { datasetId: '$dataset', pad: 'x'.repeat(20_000) } },
    413,
    /larger than the limit/,
  ],
  ['no body at all', 'POST', '/runs', {}, 400, /must be a JSON object/],
  // Runs: ids
  ['missing datasetId', 'POST', '/runs', { json: { config: {} } }, 400, /datasetId/],
  [
    'datasetId not a UUID',
    'POST',
    '/runs',
    { json: { datasetId: 'seed' } },
    400,
    /datasetId: must be a UUID/,
  ],
  ['unknown dataset', 'POST', '/runs', { json: { datasetId: U } }, 404, /dataset .* does not exist/],
  [
    'unknown top-level field',
    'POST',
    '/runs',
    { json: { datasetId: '$dataset', priority: 1 } },
    400,
    /priority/,
  ],
  ['seed negative', 'POST', '/runs', { json: { datasetId: '$dataset', seed: -1 } }, 400, /seed: must be ≥ 0/],
  [
    'seed fractional',
    'POST',
    '/runs',
    { json: { datasetId: '$dataset', seed: 1.5 } },
    400,
    /seed: must be an integer/,
  ],
  // Runs: config ranges
  [
    'alpha < 0',
    'POST',
    '/runs',
    { json: runBody({ loss: { kind: 'focal-seed', alpha: -1, gamma: 2 } }) },
    400,
    /config\.loss\.alpha: alpha must be ≥ 0/,
  ],
  [
    'gamma < 0',
    'POST',
    '/runs',
    { json: runBody({ loss: { kind: 'focal-seed', alpha: 2, gamma: -0.5 } }) },
    400,
    /config\.loss\.gamma: gamma must be ≥ 0/,
  ],
  [
    'balanced alpha > 1',
    'POST',
    '/runs',
    { json: runBody({ loss: { kind: 'focal-balanced', alpha: 1.5 } }) },
    400,
    /config\.loss\.alpha: must be ≤ 1/,
  ],
  ['unknown loss', 'POST', '/runs', { json: runBody({ loss: { kind: 'hinge' } }) }, 400, /config\.loss/],
  [
    'threshold > 1',
    'POST',
    '/runs',
    { json: runBody({ thresholdPolicy: { kind: 'fixed', threshold: 1.5 } }) },
    400,
    /config\.thresholdPolicy\.threshold: must be ≤ 1/,
  ],
  [
    'threshold < 0',
    'POST',
    '/runs',
    { json: runBody({ thresholdPolicy: { kind: 'fixed', threshold: -0.1 } }) },
    400,
    /config\.thresholdPolicy\.threshold: must be ≥ 0/,
  ],
  [
    'sensitivity target > 1',
    'POST',
    '/runs',
    { json: runBody({ thresholdPolicy: { kind: 'sensitivity-at-least', target: 2 } }) },
    400,
    /target: must be ≤ 1/,
  ],
  [
    'epochs 0',
    'POST',
    '/runs',
    { json: runBody({ epochs: 0 }) },
    400,
    /config\.epochs: must be a positive integer/,
  ],
  ['epochs fractional', 'POST', '/runs', { json: runBody({ epochs: 2.5 }) }, 400, /config\.epochs/],
  [
    'batch size negative',
    'POST',
    '/runs',
    { json: runBody({ batchSize: -8 }) },
    400,
    /config\.batchSize: must be a positive integer/,
  ],
  ['batch size as string', 'POST', '/runs', { json: runBody({ batchSize: '16' }) }, 400, /config\.batchSize/],
  [
    'learning rate 0',
    'POST',
    '/runs',
    { json: runBody({ learningRate: 0 }) },
    400,
    /config\.learningRate: must be > 0/,
  ],
  [
    'unknown architecture',
    'POST',
    '/runs',
    { json: runBody({ model: { architecture: 'vgg16' } }) },
    400,
    /config\.model\.architecture/,
  ],
  [
    'input size too small',
    'POST',
    '/runs',
    { json: runBody({ model: { inputSize: 4 } }) },
    400,
    /config\.model\.inputSize/,
  ],
  ['unknown config field', 'POST', '/runs', { json: runBody({ dropout: 0.5 }) }, 400, /dropout/],
  // API keys
  [
    'unknown role',
    'POST',
    '/api-keys',
    { json: { name: 'k', role: 'superuser' } },
    400,
    /role: must be one of admin, researcher, viewer/,
  ],
  [
    'empty key name',
    'POST',
    '/api-keys',
    { json: { name: '', role: 'viewer' } },
    400,
    /name: must not be empty/,
  ],
  ['missing key name', 'POST', '/api-keys', { json: { role: 'viewer' } }, 400, /name/],
  ['revoke non-UUID key', 'DELETE', '/api-keys/123', {}, 400, /id: must be a UUID/],
  // Datasets and storage
  [
    'both prefix and uri',
    'POST',
    '/datasets',
    { json: { name: 'd', prefix: 'a/', uri: 'file:///tmp/a/' } },
    400,
    /exactly one of prefix or uri/,
  ],
  [
    'neither prefix nor uri',
    'POST',
    '/datasets',
    { json: { name: 'd' } },
    400,
    /exactly one of prefix or uri/,
  ],
  [
    'uri in another bucket',
    'POST',
    '/datasets',
    { json: { name: 'd', uri: 's3://other-bucket/datasets/x/' } },
    400,
    /outside|not inside|root/i,
  ],
  [
    'uri outside the store root',
    'POST',
    '/datasets',
    { json: { name: 'd', uri: 'file:///etc/' } },
    400,
    /outside|not inside|root/i,
  ],
  [
    'prefix escaping the root',
    'POST',
    '/datasets',
    { json: { name: 'd', prefix: '../secrets/' } },
    400,
    /\.\./,
  ],
  [
    'empty prefix folder',
    'POST',
    '/datasets',
    { json: { name: 'empty', prefix: 'nothing-here/' } },
    422,
    /split/,
  ],
  [
    'label value 2',
    'POST',
    '/datasets',
    { json: { name: 'd', prefix: 'a/', labelMap: { disease: 2, normal: 0 } } },
    400,
    /labelMap/,
  ],
  [
    'valFraction 1.5',
    'POST',
    '/datasets',
    { json: { name: 'd', prefix: 'a/', valFraction: 1.5 } },
    400,
    /valFraction: must be < 1/,
  ],
  ['bad dataset name', 'POST', '/datasets', { json: { name: '../x', prefix: 'a/' } }, 400, /name: letters/],
  // Run queries
  ['unknown status filter', 'GET', '/runs?status=done', {}, 400, /status: must be one of/],
  ['unknown sort', 'GET', '/runs?sort=loss', {}, 400, /sort: must be one of createdAt, auc/],
  ['limit 0', 'GET', '/runs?limit=0', {}, 400, /limit: must be ≥ 1/],
  ['limit 10000', 'GET', '/runs?limit=10000', {}, 400, /limit: must be ≤ 500/],
  ['limit not a number', 'GET', '/runs?limit=abc', {}, 400, /limit/],
  ['minAuc > 1', 'GET', '/runs?minAuc=1.5', {}, 400, /minAuc: must be ≤ 1/],
  ['bad date', 'GET', '/runs?createdFrom=yesterday', {}, 400, /createdFrom: must be an ISO 8601/],
  ['garbage cursor', 'GET', '/runs?cursor=garbage', {}, 400, /cursor: is not a cursor/],
  ['unknown query parameter', 'GET', '/runs?colour=red', {}, 400, /colour/],
  ['run id not a UUID', 'GET', '/runs/42', {}, 400, /id: must be a UUID/],
  ['unknown run', 'GET', `/runs/${U}`, {}, 404, /does not exist/],
  [
    'cancel a finished run',
    'POST',
    '/runs/$run/cancel',
    {},
    409,
    /only queued or running runs can be canceled/,
  ],
  ['report of a run without one', 'GET', '/runs/$run/report', {}, 404, /has no report/],
  ['model of a run without one', 'GET', '/runs/$run/model', {}, 404, /has no model/],
  // Sweeps
  [
    'sweep over the trial cap',
    'POST',
    '/sweeps',
    { json: { datasetId: '$dataset', space: { alpha: [0, 1, 2, 3, 4], gamma: [0, 1, 2] } } },
    400,
    /15 trials; at most 12 are allowed/,
  ],
  [
    'sweep alpha < 0',
    'POST',
    '/sweeps',
    { json: { datasetId: '$dataset', space: { alpha: [-1, 2], gamma: [2] } } },
    400,
    /space\.alpha/,
  ],
  [
    'sweep unknown strategy',
    'POST',
    '/sweeps',
    { json: { datasetId: '$dataset', strategy: 'bayes', space: { alpha: [1] } } },
    400,
    /strategy/,
  ],
  [
    'sweep bad base config',
    'POST',
    '/sweeps',
    { json: { datasetId: '$dataset', space: { alpha: [1], gamma: [2] }, baseConfig: { epochs: 0 } } },
    400,
    /epochs: must be a positive integer/,
  ],
  [
    'sweep unknown dataset',
    'POST',
    '/sweeps',
    { json: { datasetId: U, space: { alpha: [1], gamma: [2] } } },
    404,
    /dataset .* does not exist/,
  ],
  // Models and scoring
  ['promote a non-UUID', 'POST', '/models/latest/promote', {}, 400, /id: must be a UUID/],
  ['promote an unknown model', 'POST', `/models/${U}/promote`, {}, 404, /does not exist/],
  [
    'scoring prefix escaping',
    'POST',
    '/scoring-jobs',
    { json: { modelVersionId: '$model', prefix: '../etc/' } },
    400,
    /\.\./,
  ],
  [
    'scoring unknown model',
    'POST',
    '/scoring-jobs',
    { json: { modelVersionId: U, prefix: 'intake/' } },
    404,
    /model version .* does not exist/,
  ],
  ['scoring without prefix', 'POST', '/scoring-jobs', { json: { modelVersionId: '$model' } }, 400, /prefix/],
  ['cancel unknown scoring job', 'POST', `/scoring-jobs/${U}/cancel`, {}, 404, /does not exist/],
  // Predictions
  ['label 2', 'GET', '/predictions?label=2', {}, 400, /label: must be 0 \(normal\) or 1 \(disease\)/],
  ['key and prefix', 'GET', '/predictions?key=a.jpg&prefix=intake/', {}, 400, /key or prefix, not both/],
  ['ungradable maybe', 'GET', '/predictions?ungradable=maybe', {}, 400, /ungradable: must be true or false/],
  ['histogram with 1 bin', 'GET', '/predictions/histogram?bins=1', {}, 400, /bins: must be at least 2/],
  ['histogram with 101 bins', 'GET', '/predictions/histogram?bins=101', {}, 400, /bins: must be at most 100/],
  [
    'histogram bins not a number',
    'GET',
    '/predictions/histogram?bins=ten',
    {},
    400,
    /bins: must be a whole number/,
  ],
  ['histogram with a page size', 'GET', '/predictions/histogram?limit=5', {}, 400, /limit/],
  [
    'histogram key and prefix',
    'GET',
    '/predictions/histogram?key=a.jpg&prefix=intake/',
    {},
    400,
    /key or prefix, not both/,
  ],
  ['scores of an unknown run', 'GET', `/runs/${U}/scores`, {}, 404, /does not exist/],
  ['scores of a run id that is not a UUID', 'GET', '/runs/nope/scores', {}, 400, /UUID/],
  [
    'model filter not a UUID',
    'GET',
    '/predictions?modelVersionId=champion',
    {},
    400,
    /modelVersionId: must be a UUID/,
  ],
  // Schedule
  [
    'cron in words',
    'PUT',
    '/schedule/nightly',
    { json: { cron: 'every day' } },
    400,
    /cron: must be a cron expression/,
  ],
  [
    'cron minute 61',
    'PUT',
    '/schedule/nightly',
    { json: { cron: '61 2 * * *' } },
    400,
    /cron: is not a valid cron expression/,
  ],
  [
    'unknown time zone',
    'PUT',
    '/schedule/nightly',
    { json: { timezone: 'Mars/Olympus' } },
    400,
    /timezone: must be an IANA time zone/,
  ],
  [
    'enabled as string',
    'PUT',
    '/schedule/nightly',
    { json: { enabled: 'yes' } },
    400,
    /enabled: must be true or false/,
  ],
  [
    'empty schedule change',
    'PUT',
    '/schedule/nightly',
    { json: {} },
    400,
    /at least one of cron, timezone, enabled/,
  ],
  // Routing
  ['unknown path', 'GET', '/nowhere', {}, 404, /Cannot GET \/nowhere/],
  ['unknown method', 'PATCH', '/runs', {}, 404, /Cannot PATCH \/runs/],
];

describe('bad requests', () => {
  let api: TestApi;
  const ids: Record<string, string> = {};
  const fill = (s: string) => s.replace(/\$(dataset|run|model)/g, (_, k: string) => ids[k]);

  beforeAll(async () => {
    api = await startApi({ API_BODY_LIMIT: '16kb', RATE_LIMIT_PER_MINUTE: '1000', MAX_SWEEP_TRIALS: '12' });
    ids.dataset = (await buildDataset(api.prisma)).id;
    const run = await buildRun(api.prisma, { datasetId: ids.dataset });
    ids.run = run.id;
    ids.model = (
      await api.prisma.modelVersion.create({
        data: {
          runId: run.id,
          format: 'tfjs-layers',
          uri: 'file:///nowhere/model.json',
          architecture: 'tiny-resnet',
          inputSize: 32,
          threshold: 0.5,
        },
      })
    ).id;
  });
  afterAll(() => api.close());

  it('has at least 40 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(40));

  it.each(CASES)('%s: %s %s', async (_what, method, path, send, status, message) => {
    const json = send.json === undefined ? undefined : JSON.parse(fill(JSON.stringify(send.json)));
    const res = await call(api, method, fill(path), {
      key: api.keys.admin.secret,
      json,
      raw: send.raw,
      headers: send.type ? { 'content-type': send.type } : undefined,
    });
    expect({ status: res.status, message: res.body?.message }).toEqual({
      status,
      message: expect.stringMatching(message),
    });
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('creates nothing for any of them', async () => {
    expect(await api.prisma.run.count({ where: { datasetId: ids.dataset } })).toBe(1);
    expect(await api.prisma.scoringJob.count({ where: { modelVersionId: ids.model } })).toBe(0);
    expect(await api.prisma.sweep.count({ where: { datasetId: ids.dataset } })).toBe(0);
  });

  it('answers 429 with Retry-After once a key exceeds its mutations per minute', async () => {
    const limited = await startApi({ RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await call(limited, 'POST', '/runs', { key: limited.keys.researcher.secret, json: {} })).status,
        );
      expect(statuses).toEqual([400, 400, 400, 429]);
      const res = await call(limited, 'POST', '/runs', { key: limited.keys.researcher.secret, json: {} });
      expect(res.body.message).toMatch(/rate limit exceeded: at most 3 changes per minute/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      // Reads are not limited, and another key has its own budget.
      expect((await call(limited, 'GET', '/runs', { key: limited.keys.researcher.secret })).status).toBe(200);
      expect(
        (await call(limited, 'POST', '/runs', { key: limited.keys.admin.secret, json: {} })).status,
      ).toBe(400);
    } finally {
      await limited.close();
    }
  });
});
