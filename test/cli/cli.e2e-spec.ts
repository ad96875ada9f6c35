import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticDataset } from '@fundus/imaging';
import { startApi, startWorker, stopStack, type TestApi } from '../api/support';
import { fundusJpeg } from '../support/builders';
import { spawnTs, type Spawned } from '../support/processes';
import { tinyRunConfig } from '../support/training-fixtures';

jest.setTimeout(240_000);

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document (a `--json` answer). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * The `fundus` CLI as a child process against a live API (in this process), a real worker process
 * (training, sweeps, scoring on the cpu backend), PostgreSQL, Redis and a local object store.
 */
describe('fundus CLI against a live API', () => {
  const queuePrefix = `${process.env.QUEUE_PREFIX}-cli`;
  const storageRoot = mkdtempSync(join(tmpdir(), 'fundus-cli-store-'));
  const work = mkdtempSync(join(tmpdir(), 'fundus-cli-work-'));
  const configDir = join(work, 'config');
  let api: TestApi;
  let worker: Spawned;
  let datasetId: string;
  let runId: string;
  let modelVersionId: string;

  /** Runs `fundus ARGS` with the test's config folder and no login from the environment. */
  async function fundus(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    const p = spawnTs(
      'apps/cli/src/main.ts',
      {
        FUNDUS_CONFIG_DIR: configDir,
        FUNDUS_API_URL: '',
        FUNDUS_API_KEY: '',
        ...env,
      },
      args,
    );
    let stdout = '';
    let stderr = '';
    p.child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const { code } = await p.exited();
    let json: unknown;
    try {
      json = JSON.parse(stdout);
    } catch {
      json = undefined;
    }
    return { code, stdout, stderr, json };
  }

  const lines = (s: string) =>
    s
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    await writeSyntheticDataset({
      root: join(storageRoot, 'datasets', 'cli-e2e'),
      size: 96,
      seed: 11,
      counts: {
        train: { normal: 12, disease: 12 },
        val: { normal: 6, disease: 6 },
        test: { normal: 6, disease: 6 },
      },
      severityMix: { moderate: 1, severe: 1 },
    });
    mkdirSync(join(storageRoot, 'intake', 'cli'), { recursive: true });
    for (let i = 0; i < 4; i++)
      writeFileSync(
        join(storageRoot, 'intake', 'cli', `img-${i}.jpg`),
        await fundusJpeg(200 + i, 96, i % 2 === 1),
      );
    api = await startApi({ QUEUE_PREFIX: queuePrefix }, storageRoot);
    worker = startWorker(queuePrefix, storageRoot);
  });

  afterAll(() => stopStack(api, worker, queuePrefix));

  it('exits 2 on a bad flag or a missing argument, 3 when not logged in, 0 for --help', async () => {
    const bad = await fundus(['runs', 'list', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--bogus/);
    expect((await fundus(['runs', 'show'])).code).toBe(2);
    expect((await fundus(['frobnicate'])).code).toBe(2);
    const grid = await fundus(['sweep', '--dataset', 'x', '--alpha', '0.1:2']);
    expect(grid.code).toBe(2);
    expect(grid.stderr).toMatch(/--trials/);

    const anon = await fundus(['runs', 'list', '--json']);
    expect(anon.code).toBe(3);
    const err = JSON.parse(anon.stderr) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('not-logged-in');
    expect(err.error.message).toMatch(/fundus login --url/);

    const help = await fundus(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/runs list/);
  });

  it('login checks the key, then stores URL and key in a 0600 file', async () => {
    const refused = await fundus(['login', '--url', api.base, '--key', 'fk_not-a-key', '--json']);
    expect(refused.code).toBe(3);
    expect(existsSync(join(configDir, 'config.json'))).toBe(false);
    const down = await fundus(['login', '--url', 'http://127.0.0.1:9', '--key', 'x']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the API/);

    const ok = await fundus([
      'login',
      '--url',
      `${api.base}/`,
      '--key',
      api.keys.researcher.secret,
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.json).toEqual({ apiUrl: api.base, configPath: join(configDir, 'config.json') });
    expect(statSync(ok.json.configPath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(ok.json.configPath, 'utf8'))).toEqual({
      apiUrl: api.base,
      apiKey: api.keys.researcher.secret,
    });
    expect(ok.stdout).not.toContain(api.keys.researcher.secret);
  });

  it('datasets register (idempotent), list and show', async () => {
    const first = await fundus([
      'datasets',
      'register',
      'cli-e2e',
      '--prefix',
      'datasets/cli-e2e/',
      '--json',
    ]);
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({ name: 'cli-e2e', created: true, itemCount: 48 });
    datasetId = first.json.id;
    const again = await fundus([
      'datasets',
      'register',
      'cli-e2e',
      '--prefix',
      'datasets/cli-e2e/',
      '--json',
    ]);
    expect(again.json).toMatchObject({ id: datasetId, created: false });

    const list = await fundus(['datasets', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(list.json.items.map((d: { id: string }) => d.id)).toContain(datasetId);
    const table = await fundus(['datasets', 'list']);
    expect(table.stdout).toMatch(new RegExp(`${datasetId}\\s+cli-e2e\\s+\\S*datasets/cli-e2e/\\s+48`));

    const shown = await fundus(['datasets', 'show', datasetId, '--json']);
    expect(shown.json.counts).toEqual({
      train: { '0': 12, '1': 12 },
      val: { '0': 6, '1': 6 },
      test: { '0': 6, '1': 6 },
    });
    expect((await fundus(['datasets', 'show', '00000000-0000-4000-8000-000000000000'])).code).toBe(4);
  });

  it('train from a YAML config with flags overriding it, then watch it to the end', async () => {
    const yamlPath = join(work, 'run.yaml');
    const { loss: _loss, ...config } = tinyRunConfig();
    writeFileSync(
      yamlPath,
      [`datasetId: ${datasetId}`, 'seed: 5', `config: ${JSON.stringify({ ...config, epochs: 7 })}`].join(
        '\n',
      ),
    );
    const created = await fundus([
      'train',
      '--config',
      yamlPath,
      '--epochs',
      '2',
      '--alpha',
      '1.5',
      '--json',
    ]);
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ datasetId, seed: 5, status: 'queued' });
    expect(created.json.config).toMatchObject({
      epochs: 2,
      loss: { kind: 'focal-seed', alpha: 1.5, gamma: 2 },
      model: { architecture: 'tiny-resnet', inputSize: 32 },
    });
    runId = created.json.id;

    const watched = await fundus(['watch', runId, '--json']);
    expect(watched.code).toBe(0);
    const events = lines(watched.stdout);
    expect(events[events.length - 1]).toMatchObject({
      kind: 'run',
      id: runId,
      event: 'end',
      status: 'succeeded',
    });
    const progress = events.map((e) => e.progress as number);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);

    // Not a TTY: plain lines, no carriage returns; the stream of a finished run ends at once.
    const plain = await fundus(['watch', 'run', runId]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('\r');
    expect(plain.stdout).toMatch(/\[#{24}\] 100%\s+succeeded/);
  });

  it('runs list, show and cancel; unknown ids exit 4, a finished run cannot be canceled (5)', async () => {
    const list = await fundus(['runs', 'list', '--dataset', datasetId, '--status', 'succeeded', '--json']);
    expect(list.code).toBe(0);
    expect(list.json.items.map((r: { id: string }) => r.id)).toEqual([runId]);
    const byAuc = await fundus(['runs', 'list', '--sort', 'auc', '--limit', '1', '--json']);
    expect(byAuc.json.items).toHaveLength(1);

    const shown = await fundus(['runs', 'show', runId, '--json']);
    expect(shown.code).toBe(0);
    expect(shown.json.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    expect(shown.json.models).toHaveLength(1);
    expect(shown.json.auc).toBeGreaterThanOrEqual(0);
    expect(shown.json.auc).toBeLessThanOrEqual(1);
    modelVersionId = shown.json.models[0].id;
    const text = await fundus(['runs', 'show', runId]);
    expect(text.stdout).toMatch(/status:\s+succeeded/);
    expect(text.stdout).toMatch(/EPOCH\s+TRAIN LOSS/);

    const unknown = await fundus(['runs', 'show', '00000000-0000-4000-8000-000000000000', '--json']);
    expect(unknown.code).toBe(4);
    expect(JSON.parse(unknown.stderr).error).toMatchObject({ code: 'not-found', status: 404 });
    expect(JSON.parse(unknown.stderr).error.message).toMatch(/fundus runs list/);
    expect((await fundus(['watch', '00000000-0000-4000-8000-000000000000'])).code).toBe(4);
    expect((await fundus(['runs', 'cancel', runId])).code).toBe(5);

    // A long run, canceled while queued or running; watching it then exits 7.
    const long = await fundus([
      'train',
      '--dataset',
      datasetId,
      '--config',
      join(work, 'run.yaml'),
      '--epochs',
      '200',
      '--json',
    ]);
    const canceled = await fundus(['runs', 'cancel', long.json.id, '--json']);
    expect(canceled.code).toBe(0);
    expect(canceled.json).toMatchObject({ id: long.json.id, status: 'canceled' });
    const w = await fundus(['watch', long.json.id]);
    expect(w.code).toBe(7);
    expect(w.stderr).toMatch(/ended canceled/);
  });

  it('report downloads the HTML report', async () => {
    const out = join(work, 'report.html');
    const r = await fundus(['report', runId, '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ runId, path: out });
    const html = readFileSync(out, 'utf8');
    expect(r.json.bytes).toBe(Buffer.byteLength(html));
    expect(html).toMatch(/<html/i);
    expect((await fundus(['report', '00000000-0000-4000-8000-000000000000', '--out', out])).code).toBe(4);
  });

  it('models list and promote: a viewer key from the environment is refused (3), a researcher promotes', async () => {
    const list = await fundus(['models', 'list', '--run', runId, '--json']);
    expect(list.code).toBe(0);
    expect(list.json.items.map((m: { id: string }) => m.id)).toEqual([modelVersionId]);

    const refused = await fundus(['models', 'promote', modelVersionId], {
      FUNDUS_API_KEY: api.keys.viewer.secret,
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/403/);
    const promoted = await fundus(['models', 'promote', modelVersionId, '--json']);
    expect(promoted.code).toBe(0);
    expect(promoted.json).toMatchObject({ champion: { id: modelVersionId, champion: true } });
    const champion = await fundus(['models', 'list', '--champion', '--json']);
    expect(champion.json.items.map((m: { id: string }) => m.id)).toEqual([modelVersionId]);
  });

  it('score PREFIX with the champion, watched to the end, then predictions', async () => {
    const scored = await fundus(['score', 'intake/cli/', '--watch', '--json']);
    expect(scored.code).toBe(0);
    const events = lines(scored.stdout);
    const end = events[events.length - 1];
    expect(end).toMatchObject({ kind: 'scoring', event: 'end', status: 'succeeded', totalKeys: 4 });
    expect((end.scored as number) + (end.ungradable as number) + (end.failed as number)).toBe(4);

    const preds = await fundus([
      'predictions',
      '--prefix',
      'intake/cli/',
      '--model',
      modelVersionId,
      '--json',
    ]);
    expect(preds.code).toBe(0);
    expect(preds.json.items.map((p: { key: string }) => p.key)).toEqual(
      [0, 1, 2, 3].map((i) => `intake/cli/img-${i}.jpg`),
    );
    const page = await fundus(['predictions', '--prefix', 'intake/cli/', '--limit', '3', '--json']);
    expect(page.json.items).toHaveLength(3);
    const rest = await fundus([
      'predictions',
      '--prefix',
      'intake/cli/',
      '--cursor',
      page.json.nextCursor,
      '--json',
    ]);
    expect(rest.json.items.map((p: { key: string }) => p.key)).toEqual(['intake/cli/img-3.jpg']);
    const text = await fundus(['predictions', '--key', 'intake/cli/img-0.jpg']);
    expect(text.stdout).toMatch(/^KEY\s+MODEL\s+P\(DISEASE\)/);
    expect(text.stdout).toContain('intake/cli/img-0.jpg');
    expect((await fundus(['predictions', '--label', '2'])).code).toBe(2);
  });

  it('sweep: a 2 × 2 grid from flags, a seeded random search, watch and leaderboard', async () => {
    const base = join(work, 'base.yaml');
    const { loss: _loss, ...config } = tinyRunConfig();
    writeFileSync(base, JSON.stringify({ ...config, epochs: 1 }));
    const grid = await fundus([
      'sweep',
      '--dataset',
      datasetId,
      '--alpha',
      '0.5,2',
      '--gamma',
      '0,2',
      '--base-config',
      base,
      '--name',
      'cli grid',
      '--json',
    ]);
    expect(grid.code).toBe(0);
    expect(grid.json.runIds).toHaveLength(4);
    const shown = await fundus(['sweeps', 'show', grid.json.id, '--json']);
    expect(
      shown.json.trials.map((t: { config: { loss: { alpha: number; gamma: number } } }) => [
        t.config.loss.alpha,
        t.config.loss.gamma,
      ]),
    ).toEqual([
      [0.5, 0],
      [0.5, 2],
      [2, 0],
      [2, 2],
    ]);
    const watched = await fundus(['watch', grid.json.id, '--json']);
    expect(watched.code).toBe(0);
    const events = lines(watched.stdout);
    expect(events[events.length - 1]).toMatchObject({ kind: 'sweep', event: 'end', status: 'succeeded' });
    const board = await fundus(['sweeps', 'show', grid.json.id]);
    expect(board.stdout).toMatch(/TRIAL\s+RUN\s+STATUS\s+LOSS\s+OBJECTIVE/);
    expect(board.stdout.match(/succeeded/g)!.length).toBeGreaterThanOrEqual(4);

    const random = await fundus([
      'sweep',
      '--dataset',
      datasetId,
      '--alpha',
      '0.25:4:log',
      '--gamma',
      '0:3',
      '--trials',
      '3',
      '--seed',
      '9',
      '--base-config',
      base,
      '--json',
    ]);
    expect(random.code).toBe(0);
    expect(random.json).toMatchObject({ strategy: 'random', seed: 9, trials: 3 });
    const canceled = await fundus(['sweeps', 'cancel', random.json.id, '--json']);
    expect(canceled.json.status).toBe('canceled');
    const trials = (await fundus(['sweeps', 'show', random.json.id, '--json'])).json.trials as Array<{
      config: { loss: { alpha: number; gamma: number } };
    }>;
    expect(trials).toHaveLength(3);
    for (const t of trials) {
      expect(t.config.loss.alpha).toBeGreaterThanOrEqual(0.25);
      expect(t.config.loss.alpha).toBeLessThanOrEqual(4);
      expect(t.config.loss.gamma).toBeGreaterThanOrEqual(0);
      expect(t.config.loss.gamma).toBeLessThanOrEqual(3);
    }
    const listed = await fundus(['sweeps', 'list', '--dataset', datasetId, '--json']);
    expect(listed.json.items.map((s: { id: string }) => s.id)).toEqual([random.json.id, grid.json.id]);
  });
});
