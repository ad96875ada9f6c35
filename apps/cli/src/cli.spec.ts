import { createServer, type Server } from 'node:http';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from './cli';
import { readLogin, resolveCredentials, writeLogin } from './config';
import { CliError, EXIT } from './errors';
import { bar, table } from './output';
import { gridSize, parseDimension } from './sweep-space';
import { ApiClient } from './client';
import { describe as describeProgress, watch } from './watch';

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { io: { stdout, stderr }, out: () => out, err: () => err };
}

describe('sweep dimensions from flags', () => {
  it('parses lists, uniform ranges and log ranges', () => {
    expect(parseDimension('0.25,0.5,1,2', 'alpha')).toEqual([0.25, 0.5, 1, 2]);
    expect(parseDimension('0:3', 'gamma')).toEqual({ min: 0, max: 3 });
    expect(parseDimension('1e-4:1e-2:log', 'lr')).toEqual({ min: 1e-4, max: 1e-2, log: true });
  });

  it('refuses what is not a number, an inverted range and a log range from 0 (usage errors)', () => {
    for (const bad of ['0.25,x', '', '2:1', '0:1:log', '1:2:3', '1,,2']) {
      const err = (() => {
        try {
          parseDimension(bad, 'alpha');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT.usage);
    }
  });

  it('counts grid trials as the product of the list lengths', () => {
    expect(gridSize({ alpha: [0.25, 0.5, 1, 2], gamma: [0, 1, 2, 3] })).toBe(16);
    expect(gridSize({ alpha: [1, 2], lossForm: ['focal-seed', 'focal-balanced'] })).toBe(4);
  });
});

describe('output', () => {
  it('pads table columns and formats numbers, nulls and dates', () => {
    const t = table(
      [
        { id: 'a', auc: 0.91234, n: 3, at: '2026-11-26T01:02:03.000Z' },
        { id: 'bbb', auc: null, n: 12, at: null },
      ],
      [
        ['ID', (r) => r.id],
        ['AUC', (r) => r.auc],
        ['N', (r) => r.n],
        ['AT', (r) => r.at],
      ],
    );
    expect(t).toBe('ID   AUC    N   AT\na    0.912  3   2026-11-26 01:02\nbbb  -      12  -\n');
    expect(table([], [['ID', () => 1]])).toBe('(none)\n');
  });

  it('draws progress bars clamped to [0, 1]', () => {
    expect(bar(0.5, 10)).toBe('[#####.....]  50%');
    expect(bar(2, 4)).toBe('[####] 100%');
    expect(bar(Number.NaN, 4)).toBe('[....]   0%');
  });

  it('describes sweep and scoring progress from their event data', () => {
    const s = describeProgress('sweep', {
      status: 'running',
      trials: 4,
      runs: { succeeded: 1, running: 2, queued: 1 },
    });
    expect(s.fraction).toBe(0.25);
    expect(s.detail).toMatch(/trials 1\/4/);
    const j = describeProgress('scoring', { status: 'running', chunks: 4, chunksDone: 3, scored: 30 });
    expect(j.fraction).toBe(0.75);
  });
});

describe('login config', () => {
  it('writes the file 0600 and lets the environment override it', () => {
    const env = { FUNDUS_CONFIG_DIR: join(mkdtempSync(join(tmpdir(), 'fundus-cli-')), 'nested') };
    expect(readLogin(env)).toBeNull();
    expect(() => resolveCredentials(env)).toThrow(/not logged in: run `fundus login/);
    const path = writeLogin({ apiUrl: 'http://a:1', apiKey: 'k1' }, env);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(resolveCredentials(env)).toEqual({ apiUrl: 'http://a:1', apiKey: 'k1', source: 'file' });
    expect(resolveCredentials({ ...env, FUNDUS_API_KEY: 'k2' })).toEqual({
      apiUrl: 'http://a:1',
      apiKey: 'k2',
      source: 'mixed',
    });
  });
});

describe('runCli', () => {
  const env = { FUNDUS_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'fundus-cli-')) };

  it('exits 2 on an unknown flag, command or sub-command, naming the help to read', async () => {
    for (const argv of [['runs', 'list', '--nope'], ['nope'], ['runs', 'nope'], ['runs']]) {
      const c = capture();
      expect(await runCli(argv, c.io, env)).toBe(EXIT.usage);
      expect(c.err()).toMatch(/--help/);
    }
  });

  it('checks local arguments before asking for a login', async () => {
    const c = capture();
    expect(await runCli(['sweep', '--dataset', 'd', '--alpha', '0.1:2', '--json'], c.io, env)).toBe(
      EXIT.usage,
    );
    expect(JSON.parse(c.err()).error).toMatchObject({ code: 'usage', exitCode: 2 });
    const t = capture();
    expect(await runCli(['train', '--dataset', 'd', '--loss', 'hinge'], t.io, env)).toBe(EXIT.usage);
    expect(t.err()).toMatch(/--loss: must be one of/);
  });

  it('exits 3 with the login command to run when there is no login', async () => {
    const c = capture();
    expect(await runCli(['runs', 'list'], c.io, env)).toBe(EXIT.auth);
    expect(c.err()).toMatch(/fundus login --url/);
  });

  it('prints help for the overview and for a command', async () => {
    const c = capture();
    expect(await runCli(['--help'], c.io, env)).toBe(0);
    expect(c.out()).toMatch(/Exit codes: 0 ok/);
    const s = capture();
    expect(await runCli(['sweep', '--help'], s.io, env)).toBe(0);
    expect(s.out()).toMatch(/--trials N/);
  });
});

describe('watch rendering', () => {
  // A canned event stream in the API's format (the live API is covered by test/cli).
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const status = req.url?.startsWith('/runs/bad') ? 'failed' : 'succeeded';
      res.write('event: progress\ndata: {"status":"running","progress":0.5,"currentEpoch":1}\n\n');
      res.write(': keep-alive\n\n');
      res.end(`event: end\ndata: {"status":"${status}","progress":1,"currentEpoch":2,"error":null}\n\n`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('redraws one line on a TTY and ends it with a newline', async () => {
    const c = capture();
    Object.assign(c.io.stdout, { isTTY: true });
    const end = await watch(new ApiClient(base, 'k'), c.io, 'run', 'good', { json: false });
    expect(end.status).toBe('succeeded');
    const frames = c.out().split('\r\x1b[2K');
    expect(frames[0]).toBe('');
    expect(frames[1]).toMatch(/^run good.*50%\s+running\s+epoch 1$/);
    expect(frames[2]).toMatch(/^run good.*100%\s+succeeded\s+epoch 2\n$/);
    expect(frames).toHaveLength(3);
  });

  it('prints plain lines when not a TTY and fails with exit 7 when the job failed', async () => {
    const c = capture();
    const err = await watch(new ApiClient(base, 'k'), c.io, 'run', 'bad', { json: false }).catch((e) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.jobFailed);
    expect(c.out().split('\n')).toEqual([
      expect.stringMatching(/50%\s+running/),
      expect.stringMatching(/100%\s+failed/),
      '',
    ]);
  });
});
