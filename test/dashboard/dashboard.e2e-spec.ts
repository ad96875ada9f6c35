import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { writeSyntheticDataset } from '@fundus/imaging';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { metricsAtThreshold } from '@fundus/metrics';
import { call, readEvents, startApi, type TestApi } from '../api/support';
import { testEnv } from '../support/env';
import { ROOT, spawnTs, type Spawned } from '../support/processes';
import { tinyRunConfig } from '../support/training-fixtures';

jest.setTimeout(150_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Set to a folder (e.g. docs/dashboard) to write a screenshot of each page there. */
const SHOTS = process.env.DASHBOARD_SCREENSHOTS_DIR;

/**
 * The dashboard in a real headless Chromium against the real API (in this process), a real worker
 * process training tiny runs, PostgreSQL, Redis and a local object store.
 */
describe('dashboard in a browser', () => {
  const queuePrefix = `${process.env.QUEUE_PREFIX}-dash`;
  const storageRoot = mkdtempSync(join(tmpdir(), 'fundus-dash-'));
  let api: TestApi;
  let worker: Spawned;
  let context: BrowserContext;
  let page: Page;
  let runId: string;
  let datasetId: string;

  async function shot(name: string): Promise<void> {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function signIn(secret: string): Promise<void> {
    await page.goto(`${api.base}/`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.getByLabel('API key').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH`,
      );
    }
    execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        '--config',
        'apps/dashboard/vite.config.ts',
        '--logLevel',
        'warn',
      ],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
    await writeSyntheticDataset({
      root: join(storageRoot, 'datasets', 'dash-e2e'),
      size: 64,
      seed: 11,
      counts: {
        train: { normal: 10, disease: 10 },
        val: { normal: 8, disease: 8 },
        test: { normal: 4, disease: 4 },
      },
      severityMix: { moderate: 1, severe: 1 },
    });
    api = await startApi({ QUEUE_PREFIX: queuePrefix }, storageRoot);
    worker = spawnTs(
      'apps/gpu-worker/src/main.ts',
      testEnv({
        QUEUE_PREFIX: queuePrefix,
        WORKER_QUEUES: 'training,sweeps',
        STORAGE_URI: `file://${storageRoot}`,
        CACHE_DIR: mkdtempSync(join(tmpdir(), 'fundus-cache-')),
        MODEL_BACKEND: 'cpu',
        NIGHTLY_ENABLED: 'false',
        LOG_LEVEL: 'warn',
      }),
    );
    const ds = await call(api, 'POST', '/datasets', {
      key: api.keys.researcher.secret,
      json: { name: 'dash-e2e', prefix: 'datasets/dash-e2e/' },
    });
    datasetId = ds.body.id;
    const created = await call(api, 'POST', '/runs', {
      key: api.keys.researcher.secret,
      json: { datasetId, seed: 5, config: tinyRunConfig() },
    });
    runId = created.body.id;
    const stream = await readEvents(api, `/runs/${runId}/events`, api.keys.viewer.secret);
    expect(stream.events[stream.events.length - 1].data.status).toBe('succeeded');
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'fundus-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await worker?.stop();
    const queues = new JobQueues(redisConnection(process.env.REDIS_URL!), queuePrefix);
    for (const q of JobQueues.all()) queues.queue(q);
    await queues.obliterateAll();
    await queues.close();
    await api?.close();
  });

  it('is served at / with a single-page fallback, without shadowing API routes', async () => {
    const root = await fetch(`${api.base}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toMatch(/<div id="root">/);
    const deep = await fetch(`${api.base}/some/page`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toMatch(/<div id="root">/);
    const runs = await fetch(`${api.base}/runs`, { headers: { accept: 'text/html' } });
    expect(runs.status).toBe(401);
    expect(runs.headers.get('content-type')).toMatch(/json/);
    const health = await fetch(`${api.base}/health`, { headers: { accept: 'text/html' } });
    expect(health.headers.get('content-type')).toMatch(/json/);
    const docs = await fetch(`${api.base}/docs`, { headers: { accept: 'text/html' } });
    expect(await docs.text()).not.toMatch(/<div id="root">/);
    const missingAsset = await fetch(`${api.base}/assets/nope.js`);
    expect(missingAsset.status).toBe(404);
  });

  it('refuses a wrong key, and offers a viewer no promotion', async () => {
    await page.goto(`${api.base}/`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await shot('sign-in');
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByRole('alert'), /not valid/);
    await signIn(api.keys.viewer.secret);
    expect(await page.getByTestId('role').textContent()).toBe('viewer');
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('table', { name: 'Model versions' }).waitFor();
    expect(await page.getByRole('button', { name: /Promote/ }).count()).toBe(0);
  });

  it('signs in as an admin and sorts runs by AUC both ways', async () => {
    const second = await call(api, 'POST', '/runs', {
      key: api.keys.researcher.secret,
      json: { datasetId, seed: 6, config: tinyRunConfig({ learningRate: 1e-4 }) },
    });
    await readEvents(api, `/runs/${second.body.id}/events`, api.keys.viewer.secret);
    await signIn(api.keys.admin.secret);
    expect(await page.getByTestId('role').textContent()).toBe('admin');
    const aucs = async () =>
      (await page.locator('td[data-col="auc"]').allTextContents()).filter((s) => s !== '—').map(Number);
    await page.getByRole('button', { name: /^AUC/ }).click();
    await page.locator('th[aria-sort="descending"]', { hasText: 'AUC' }).waitFor();
    const desc = await aucs();
    expect(desc.length).toBeGreaterThanOrEqual(2);
    expect(desc).toEqual([...desc].sort((a, b) => b - a));
    await page.getByRole('button', { name: /^AUC/ }).click();
    await page.locator('th[aria-sort="ascending"]', { hasText: 'AUC' }).waitFor();
    const asc = await aucs();
    expect(asc).toEqual([...desc].reverse());
    await shot('runs');
  });

  it('opens a run; the threshold slider gives the numbers of libs/metrics at that threshold', async () => {
    await page.locator(`a[href="#/runs/${runId}"]`).click();
    await page.getByLabel(/^Threshold/).waitFor();
    const stored = (await api.prisma.run.findUniqueOrThrow({ where: { id: runId } })).valMetrics as {
      labels: number[];
      scores: number[];
    };
    const sorted = [...new Set(stored.scores)].sort((a, b) => a - b);
    const mid = sorted[Math.floor(sorted.length / 2)];
    // Thresholds on the slider's 0.001 grid: 0, 1, near the median score and just above it.
    const grid = (x: number) => Math.min(1, Math.max(0, Math.round(x * 1000) / 1000));
    for (const t of [0, 1, grid(mid), grid(mid + 0.001), grid(sorted[1])]) {
      await page.getByLabel(/^Threshold/).fill(String(t));
      await expectText(page.getByTestId('threshold-value'), new RegExp(`^${t.toFixed(3)}$`));
      const want = metricsAtThreshold(stored.labels, stored.scores, t);
      for (const k of ['sensitivity', 'specificity', 'ppv', 'npv'] as const) {
        const text = await page.locator(`td[data-metric="${k}"]`).textContent();
        if (Number.isNaN(want[k])) expect(text).toBe('—');
        else expect(Number(text)).toBeCloseTo(want[k], 4);
      }
      for (const k of ['tp', 'fp', 'tn', 'fn'] as const)
        expect(Number(await page.locator(`td[data-cell="${k}"]`).textContent())).toBe(want[k]);
    }
    // Keyboard: arrow keys move the slider by one step.
    const slider = page.getByLabel(/^Threshold/);
    await slider.fill('0.5');
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    await expectText(page.getByTestId('threshold-value'), /^0\.501$/);
    const want = metricsAtThreshold(stored.labels, stored.scores, 0.501);
    expect(Number(await page.locator('td[data-cell="tp"]').textContent())).toBe(want.tp);
    expect(await page.getByRole('img', { name: /ROC/ }).count()).toBe(1);
    const summary = (await api.prisma.run.findUniqueOrThrow({ where: { id: runId } })).testMetrics as {
      aucCi: { lower: number; upper: number } | null;
    };
    const aucCi = await page.locator('td[data-ci="AUC"]').textContent();
    if (summary.aucCi)
      expect(aucCi).toContain(`${summary.aucCi.lower.toFixed(3)}–${summary.aucCi.upper.toFixed(3)}`);
    else expect(aucCi).toBe('—');
    await shot('run');
  });

  it('promotes a model after confirmation', async () => {
    await page.getByRole('link', { name: 'Models' }).click();
    const row = page.locator('tr', { has: page.locator(`a[href="#/runs/${runId}"]`) });
    await row.getByRole('button', { name: /Promote/ }).click();
    await page
      .getByRole('dialog')
      .getByRole('heading', { name: /Promote model/ })
      .waitFor();
    await shot('models-confirm');
    await page.getByRole('button', { name: 'Cancel' }).click();
    // Other suites may share the database and have promoted their own model: only ours matters.
    const before = (await call(api, 'GET', '/models/champion', { key: api.keys.viewer.secret })).body
      .champion;
    expect(before?.runId).not.toBe(runId);
    await row.getByRole('button', { name: /Promote/ }).waitFor();
    await row.getByRole('button', { name: /Promote/ }).click();
    await page.getByRole('button', { name: 'Confirm promotion' }).click();
    await row.locator('td[data-champion="yes"]').waitFor();
    const champion = (await call(api, 'GET', '/models/champion', { key: api.keys.viewer.secret })).body
      .champion;
    expect(champion.runId).toBe(runId);
    await shot('models');
  });

  it("shows a sweep's leaderboard in the sweep's order and its alpha × gamma heat map", async () => {
    const created = await call(api, 'POST', '/sweeps', {
      key: api.keys.researcher.secret,
      json: {
        datasetId,
        name: 'dash-sweep',
        space: { alpha: [0.5, 2], gamma: [2] },
        maxParallel: 1,
        seed: 5,
        baseConfig: tinyRunConfig({ epochs: 1 }),
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await readEvents(api, `/sweeps/${id}/events`, api.keys.viewer.secret);
    const shown = (await call(api, 'GET', `/sweeps/${id}`, { key: api.keys.viewer.secret })).body;
    await page.getByRole('link', { name: 'Sweeps' }).click();
    await page.getByRole('link', { name: 'dash-sweep' }).click();
    const board = page.getByRole('table', { name: 'Leaderboard' });
    await board.waitFor();
    const hrefs = await board.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual(shown.leaderboard.map((r: { runId: string }) => `#/runs/${r.runId}`));
    const heat = page.getByRole('table', { name: /alpha × gamma/ });
    const cells = (await heat.locator('tbody td').allTextContents()).map(Number);
    // gamma row 2, alpha columns 0.5 then 2.
    const byAlpha = (a: number) =>
      shown.trials.find((t: { config: { loss: { alpha: number } } }) => t.config.loss.alpha === a).objective;
    expect(cells).toEqual([Number(byAlpha(0.5).toFixed(3)), Number(byAlpha(2).toFixed(3))]);
    await page.getByLabel('Overlay the ROC of trial 0').check();
    await page.getByLabel('Overlay the ROC of trial 1').check();
    const overlay = page.getByRole('img', { name: 'ROC of the chosen trials (validation)' });
    await overlay.waitFor();
    expect(await overlay.locator('polyline').count()).toBe(2);
    await shot('sweep');
    await page.getByRole('link', { name: 'Scoring' }).click();
    await page.getByRole('heading', { name: 'Scoring jobs' }).waitFor();
    await shot('scoring');
    await page.getByRole('link', { name: 'Queues' }).click();
    const counts = page.getByRole('table', { name: 'Queue counts' });
    await counts.waitFor();
    const queueBoard = (await call(api, 'GET', '/admin/queues/api/queues', { key: api.keys.admin.secret }))
      .body;
    const training = queueBoard.queues.find((q: { name: string }) => q.name === 'training');
    const row = counts.locator('tr[data-queue="training"]');
    expect(Number(await row.locator('td[data-count="completed"]').textContent())).toBe(
      training.counts.completed,
    );
    expect(training.counts.completed).toBeGreaterThanOrEqual(2);
    await shot('queues');
  });

  it('shows a progress bar advancing while a run trains', async () => {
    const created = await call(api, 'POST', '/runs', {
      key: api.keys.researcher.secret,
      json: { datasetId, seed: 8, config: tinyRunConfig({ epochs: 6 }) },
    });
    const id = created.body.id as string;
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.goto(`${api.base}/#/runs`);
    const bar = page.getByLabel(`Progress of run ${id.slice(0, 8)}`);
    await bar.waitFor();
    const value = () => bar.evaluate((el) => (el as HTMLProgressElement).value);
    const first = await value();
    expect(first).toBeLessThan(1);
    await page.waitForFunction(
      ([label, v]) => {
        const el = document.querySelector(`progress[aria-label="${label}"]`) as HTMLProgressElement | null;
        return !!el && el.value > (v as number) && el.value < 1;
      },
      [`Progress of run ${id.slice(0, 8)}`, first] as const,
      { timeout: 60_000 },
    );
    await shot('runs-progress');
    const stream = await readEvents(api, `/runs/${id}/events`, api.keys.viewer.secret);
    expect(stream.events[stream.events.length - 1].data.status).toBe('succeeded');
    await page
      .locator(`progress[aria-label="Progress of run ${id.slice(0, 8)}"][data-status="succeeded"]`)
      .waitFor();
    expect(await value()).toBe(1);
  });
});

async function expectText(locator: ReturnType<Page['locator']>, pattern: RegExp): Promise<void> {
  await locator.first().waitFor();
  await locator
    .page()
    .waitForFunction(([el, src]) => new RegExp(src as string).test((el as Element).textContent ?? ''), [
      await locator.first().elementHandle(),
      pattern.source,
    ] as const);
}
