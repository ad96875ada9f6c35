/**
 * p50/p95 of the dashboard list queries through the real HTTP API, on a seeded database of 10,000
 * runs and 1,000,000 predictions (bench/api/seed.sql), with a primary-key lookup (GET /runs/:id)
 * measured in the same run, interleaved, as the anchor. Writes bench/api/results/<variant>.md.
 *
 *   npx tsx bench/api/list-queries.bench.ts [--reseed] [--iterations 200] [--with-prediction-created-at-index]
 *
 * Uses its own database (BENCH_DATABASE_URL, default .../fundus_bench_api), never the test one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { apiEnvSchema, loadConfig } from '@fundus/config';
import { ApiKeysRepository, createPrismaClient } from '@fundus/db';
import { createApi } from '../../apps/api/src/main';

const args = process.argv.slice(2);
const reseed = args.includes('--reseed');
const iterations = Number(args[args.indexOf('--iterations') + 1]) || 200;
/** Adds an index the schema lacks (Prediction.createdAt) to show what it would change. */
const withCreatedAtIndex = args.includes('--with-prediction-created-at-index');
const variant = withCreatedAtIndex ? 'with-prediction-created-at-index' : 'schema-as-is';
const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/fundus_bench_api';
const dbName = new URL(url).pathname.slice(1);
const adminUrl = url.replace(/\/[^/]+$/, '/postgres');

async function prepare(): Promise<{ seededMs: number | null }> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount === 1;
  if (exists && !reseed) {
    await admin.end();
    return { seededMs: null };
  }
  if (exists) await admin.query(`DROP DATABASE "${dbName}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  execFileSync('npx', ['--no-install', 'prisma', 'migrate', 'deploy'], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const c = new Client({ connectionString: url });
  await c.connect();
  const t0 = performance.now();
  await c.query(readFileSync(join(__dirname, 'seed.sql'), 'utf8'));
  const seededMs = performance.now() - t0;
  await c.end();
  return { seededMs };
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.ceil(i)] - sorted[lo]) * (i - lo);
}

async function main(): Promise<void> {
  const { seededMs } = await prepare();
  const pg = new Client({ connectionString: url });
  await pg.connect();
  await pg.query(
    withCreatedAtIndex
      ? 'CREATE INDEX IF NOT EXISTS bench_prediction_created_at ON "Prediction" ("createdAt")'
      : 'DROP INDEX IF EXISTS bench_prediction_created_at',
  );
  await pg.query('ANALYZE "Prediction"');
  await pg.end();
  const prisma = createPrismaClient(url);
  const counts = {
    runs: await prisma.run.count(),
    predictions: await prisma.prediction.count(),
  };
  const { secret } = await new ApiKeysRepository(prisma).create({
    name: `bench-${Date.now()}`,
    role: 'viewer',
  });
  const someRun = await prisma.run.findFirstOrThrow({
    where: { status: 'succeeded' },
    orderBy: { createdAt: 'desc' },
    skip: 5000,
  });
  const sweep = await prisma.sweep.findFirstOrThrow({ orderBy: { createdAt: 'desc' }, skip: 50 });
  const mv = await prisma.modelVersion.findFirstOrThrow({ orderBy: { createdAt: 'desc' }, skip: 3 });
  const pred = await prisma.prediction.findFirstOrThrow({
    where: { modelVersionId: mv.id },
    orderBy: { key: 'asc' },
    skip: 1234,
  });
  const config = loadConfig(apiEnvSchema, {
    DATABASE_URL: url,
    STORAGE_URI: `file://${mkdtempSync(join(tmpdir(), 'bench-api-'))}`,
    LOG_LEVEL: 'error',
    QUEUE_PREFIX: 'fundus-bench-api',
  });
  const app = await createApi(config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${secret}` } });
    const body = (await res.json()) as { nextCursor?: string; items?: unknown[] };
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const page1 = await get('/runs?sort=auc&order=desc&limit=50');
  const predPage1 = await get(`/predictions?modelVersionId=${mv.id}&limit=50`);

  const queries: Array<[string, string]> = [
    ['anchor: GET /models/:id (primary-key lookup)', `/models/${mv.id}`],
    ['run detail: GET /runs/:id (epochs, models, curves from 250 stored scores)', `/runs/${someRun.id}`],
    ['runs, newest 50', '/runs?limit=50'],
    ['runs, status=succeeded sorted by AUC', '/runs?status=succeeded&sort=auc&order=desc&limit=50'],
    ['runs, sorted by AUC, page 2 (cursor)', `/runs?sort=auc&order=desc&limit=50&cursor=${page1.nextCursor}`],
    [
      'runs, sorted by sensitivity, specificity ≥ 0.9',
      '/runs?sort=sensitivity&order=desc&minSpecificity=0.9&limit=50',
    ],
    [
      'runs, sorted by specificity, AUC in [0.8, 0.9]',
      '/runs?sort=specificity&order=desc&minAuc=0.8&maxAuc=0.9&limit=50',
    ],
    [
      'runs, one dataset, last 7 days',
      `/runs?datasetId=${someRun.datasetId}&createdFrom=${encodeURIComponent(new Date(Date.now() - 7 * 86400_000).toISOString())}&limit=50`,
    ],
    ['runs, one sweep', `/runs?sweepId=${sweep.id}&limit=50`],
    ['predictions, newest 50', '/predictions?limit=50'],
    ['predictions, one model version', `/predictions?modelVersionId=${mv.id}&limit=50`],
    [
      'predictions, one model version, page 2',
      `/predictions?modelVersionId=${mv.id}&limit=50&cursor=${predPage1.nextCursor}`,
    ],
    ['predictions, label=1 (disease)', '/predictions?label=1&limit=50'],
    ['predictions, ungradable', '/predictions?ungradable=true&limit=50'],
    ['predictions, one image key', `/predictions?key=${encodeURIComponent(pred.key)}`],
    [
      'predictions, key prefix (one intake day, ~33k rows)',
      '/predictions?prefix=intake/2026-10-07/&limit=50',
    ],
    [
      'predictions, date range (one day)',
      `/predictions?from=2026-10-10T00:00:00Z&to=2026-10-11T00:00:00Z&limit=50`,
    ],
  ];
  // Warm-up, then interleave: each round runs every query once, so drift hits all alike.
  for (let i = 0; i < 10; i++) for (const [, q] of queries) await get(q);
  const samples = queries.map(() => [] as number[]);
  for (let i = 0; i < iterations; i++) {
    // Rotate the starting query so no query always runs first (or last) in a round.
    for (let j = 0; j < queries.length; j++) {
      const k = (i + j) % queries.length;
      const t = performance.now();
      await get(queries[k][1]);
      samples[k].push(performance.now() - t);
    }
  }
  await app.close();
  await prisma.$disconnect();

  const anchorP50 = quantile(
    [...samples[0]].sort((a, b) => a - b),
    0.5,
  );
  const rows = queries.map(([name], k) => {
    const s = [...samples[k]].sort((a, b) => a - b);
    const p50 = quantile(s, 0.5);
    const p95 = quantile(s, 0.95);
    return { name, p50, p95, ratio: p50 / anchorP50 };
  });
  const table = [
    '| query (HTTP, through auth, validation, Prisma, JSON) | p50 ms | p95 ms | p50 / anchor p50 |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.ratio.toFixed(2)} |`),
  ].join('\n');
  const worst = Math.max(...rows.slice(2).map((r) => r.p95));
  const md = `## ${variant}

Command: \`npx tsx bench/api/list-queries.bench.ts${reseed ? ' --reseed' : ''} --iterations ${iterations}${withCreatedAtIndex ? ' --with-prediction-created-at-index' : ''}\`

- Date: ${new Date().toISOString()}
- Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, load average at end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')} (shared with other engineers' work)
- PostgreSQL ${(await pgVersion()).split(' ')[1]}, database \`${dbName}\` seeded by \`bench/api/seed.sql\`: ${counts.runs.toLocaleString('en')} runs (with stored validation scores), ${counts.predictions.toLocaleString('en')} predictions${seededMs !== null ? ` (seeding took ${(seededMs / 1000).toFixed(0)} s)` : ''}
- ${iterations} timed rounds after 10 warm-up rounds; each round runs every query once (interleaved), one request at a time, client and API in the same Node process.
- Anchor: a primary-key lookup (\`GET /models/:id\`: one row by id plus its run by id) measured in the same rounds.

${table}

Worst p95 of the list queries: **${worst.toFixed(1)} ms** (target < 50 ms): ${worst < 50 ? 'met' : 'NOT met'}.
`;
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', `${variant}.md`), md);
  process.stdout.write(md);
}

async function pgVersion(): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  const v = (await c.query('SHOW server_version')).rows[0].server_version as string;
  await c.end();
  return `PostgreSQL ${v}`;
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
