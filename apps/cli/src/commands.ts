import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ApiClient } from './client';
import { normaliseUrl, removeLogin, resolveCredentials, writeLogin } from './config';
import { CliError, usage } from './errors';
import { fields, table, writeJson, type Io } from './output';
import { gridSize, parseDimension } from './sweep-space';
import { detectKind, watch, type WatchKind } from './watch';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;
/** A JSON object as the API returns it. */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What a command gets: its parsed flags and positionals, output streams, and a lazy API client. */
export interface Context {
  io: Io;
  env: NodeJS.ProcessEnv;
  values: Values;
  positionals: string[];
  json: boolean;
  client(): ApiClient;
}

/** One `fundus` command. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** Lines describing the options, shown by `--help`. */
  help: string[];
  run(ctx: Context): Promise<void>;
}

const str = (v: Values, k: string): string | undefined =>
  typeof v[k] === 'string' ? (v[k] as string) : undefined;

function num(
  v: Values,
  k: string,
  opts: { int?: boolean; min?: number; max?: number } = {},
): number | undefined {
  const s = str(v, k);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)))
    throw new CliError('usage', `--${k}: "${s}" is not ${opts.int ? 'an integer' : 'a number'}`);
  if (opts.min !== undefined && n < opts.min) throw new CliError('usage', `--${k}: must be ≥ ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw new CliError('usage', `--${k}: must be ≤ ${opts.max}`);
  return n;
}

function oneOf<T extends string>(v: Values, k: string, allowed: readonly T[]): T | undefined {
  const s = str(v, k);
  if (s !== undefined && !allowed.includes(s as T))
    throw new CliError('usage', `--${k}: must be one of ${allowed.join(', ')} (got "${s}")`);
  return s as T | undefined;
}

function arg(ctx: Context, i: number, name: string, command: string): string {
  const a = ctx.positionals[i];
  if (!a) throw usage(`missing ${name}`, command);
  return a;
}

/** Reads a YAML (or JSON, a subset of YAML) file into an object. */
export function readYamlObject(path: string): Obj {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError('usage', `cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new CliError('usage', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError('usage', `${path} must hold a mapping (key: value lines)`);
  return parsed as Obj;
}

const page: Options = { limit: { type: 'string' }, cursor: { type: 'string' } };
const pageHelp = [
  '--limit N          at most N rows (API default 50)',
  '--cursor C         the next page (printed under a table)',
];

function printPage(
  ctx: Context,
  body: { items: Obj[]; nextCursor?: string | null },
  render: () => string,
): void {
  if (ctx.json) return writeJson(ctx.io, body);
  ctx.io.stdout.write(render());
  if (body.nextCursor) ctx.io.stdout.write(`more: --cursor ${body.nextCursor}\n`);
}

const pct = (v: unknown) => (typeof v === 'number' ? `${Math.round(v * 100)}%` : '-');
const short = (v: unknown) => (typeof v === 'string' ? v.slice(0, 8) : v);
const lossOf = (config: Obj | undefined) => {
  const l = config?.loss as Obj | undefined;
  if (!l) return '-';
  return l.alpha !== undefined ? `${l.kind} a=${l.alpha} g=${l.gamma}` : String(l.kind);
};

// ---------------------------------------------------------------------------------------------------

const login: Command = {
  name: 'login',
  summary: 'store the API URL and key (checked against the API first)',
  usage: 'login --url URL --key KEY',
  options: { url: { type: 'string' }, key: { type: 'string' } },
  help: [
    '--url URL          the API base URL, e.g. http://localhost:3000',
    '--key KEY          an API key (fk_…); FUNDUS_API_KEY is used when omitted',
    'Stored in $FUNDUS_CONFIG_DIR/config.json (default ~/.config/fundus), mode 0600.',
  ],
  async run(ctx) {
    const url = str(ctx.values, 'url') ?? ctx.env.FUNDUS_API_URL;
    const key = str(ctx.values, 'key') ?? ctx.env.FUNDUS_API_KEY;
    if (!url) throw usage('missing --url', 'login');
    if (!key) throw usage('missing --key', 'login');
    const apiUrl = normaliseUrl(url);
    // Any authenticated read proves the URL and key; viewers may list datasets.
    await new ApiClient(apiUrl, key).get('/datasets', { limit: 1 });
    const path = writeLogin({ apiUrl, apiKey: key }, ctx.env);
    if (ctx.json) writeJson(ctx.io, { apiUrl, configPath: path });
    else ctx.io.stdout.write(`logged in to ${apiUrl} (saved in ${path})\n`);
  },
};

const logout: Command = {
  name: 'logout',
  summary: 'forget the stored login',
  usage: 'logout',
  options: {},
  help: [],
  async run(ctx) {
    const removed = removeLogin(ctx.env);
    if (ctx.json) writeJson(ctx.io, { removed });
    else ctx.io.stdout.write(removed ? 'logged out\n' : 'was not logged in\n');
  },
};

// ---------------------------------------------------------------------------------------------------

function parseLabelMap(text: string): Record<string, number> {
  const map: Record<string, number> = {};
  for (const pair of text.split(',')) {
    const [k, v] = pair.split('=');
    if (!k || (v !== '0' && v !== '1'))
      throw new CliError(
        'usage',
        `--label-map: write FOLDER=0|1 pairs, e.g. disease=1,normal=0 (got "${pair}")`,
      );
    map[k.trim()] = Number(v);
  }
  return map;
}

const datasetsRegister: Command = {
  name: 'datasets register',
  summary: 'register a dataset from a storage prefix (idempotent per name and content)',
  usage: 'datasets register NAME (--prefix KEY_PREFIX | --uri URI) [--label-map disease=1,normal=0]',
  options: {
    prefix: { type: 'string' },
    uri: { type: 'string' },
    'label-map': { type: 'string' },
    manifest: { type: 'string' },
    'val-fraction': { type: 'string' },
    seed: { type: 'string' },
  },
  help: [
    "--prefix P         key prefix in the API's store, e.g. datasets/seed/",
    '--uri U            or an absolute URI inside the store (s3://bucket/p/, file:///…)',
    '--label-map M      folder-to-label map; default disease=1,normal=0 (never folder order)',
    '--manifest KEY     a manifest file instead of folder layout',
    '--val-fraction F   validation share when the layout has no val split (0..1)',
    '--seed S           seed of that split',
  ],
  async run(ctx) {
    const name = arg(ctx, 0, 'NAME', 'datasets register');
    const prefix = str(ctx.values, 'prefix');
    const uri = str(ctx.values, 'uri');
    if ((prefix === undefined) === (uri === undefined))
      throw usage('give exactly one of --prefix or --uri', 'datasets register');
    const labelMap = str(ctx.values, 'label-map');
    const body = {
      name,
      prefix,
      uri,
      manifestKey: str(ctx.values, 'manifest'),
      labelMap: labelMap ? parseLabelMap(labelMap) : undefined,
      valFraction: num(ctx.values, 'val-fraction', { min: 0, max: 1 }),
      seed: num(ctx.values, 'seed', { int: true, min: 0 }),
    };
    const d = await ctx.client().post<Obj>('/datasets', body);
    if (ctx.json) return writeJson(ctx.io, d);
    ctx.io.stdout.write(
      `${d.created ? 'registered' : 'already registered:'} dataset ${d.name} ${d.id} (${d.itemCount} items)\n`,
    );
    ctx.io.stdout.write(countsTable(d.counts));
  },
};

function countsTable(counts: Obj | undefined): string {
  const rows = Object.entries(counts ?? {}).map(([split, c]) => ({ split, c: c as Obj }));
  return table(rows, [
    ['SPLIT', (r) => r.split],
    ['NORMAL (0)', (r) => r.c['0'] ?? 0],
    ['DISEASE (1)', (r) => r.c['1'] ?? 0],
  ]);
}

const itemTotal = (counts: Obj | undefined) =>
  Object.values(counts ?? {}).reduce<number>(
    (n, c) => n + Object.values(c as Obj).reduce<number>((a, b) => a + Number(b), 0),
    0,
  );

const datasetsList: Command = {
  name: 'datasets list',
  summary: 'list datasets, newest first',
  usage: 'datasets list [--limit N] [--cursor C]',
  options: page,
  help: pageHelp,
  async run(ctx) {
    const body = await ctx.client().get<{ items: Obj[]; nextCursor: string | null }>('/datasets', {
      limit: num(ctx.values, 'limit', { int: true, min: 1 }),
      cursor: str(ctx.values, 'cursor'),
    });
    printPage(ctx, body, () =>
      table(body.items, [
        ['ID', (d) => d.id],
        ['NAME', (d) => d.name],
        ['PREFIX', (d) => d.storagePrefix],
        ['ITEMS', (d) => itemTotal(d.counts)],
        ['CREATED', (d) => d.createdAt],
      ]),
    );
  },
};

const datasetsShow: Command = {
  name: 'datasets show',
  summary: 'a dataset with its counts per split and class',
  usage: 'datasets show ID',
  options: {},
  help: [],
  async run(ctx) {
    const id = arg(ctx, 0, 'ID', 'datasets show');
    const d = await ctx.client().get<Obj>(`/datasets/${encodeURIComponent(id)}`);
    if (ctx.json) return writeJson(ctx.io, d);
    ctx.io.stdout.write(
      fields([
        ['id', d.id],
        ['name', d.name],
        ['prefix', d.storagePrefix],
        ['label map', d.labelMap],
        ['items', d.itemCount],
        ['runs', d.runCount],
        ['digest', d.digest],
        ['created', d.createdAt],
      ]),
    );
    ctx.io.stdout.write(countsTable(d.counts));
  },
};

// ---------------------------------------------------------------------------------------------------

const trainFlags: Options = {
  architecture: { type: 'string' },
  'input-size': { type: 'string' },
  widths: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  loss: { type: 'string' },
  alpha: { type: 'string' },
  gamma: { type: 'string' },
  backend: { type: 'string' },
  'no-augment': { type: 'boolean' },
};

const trainFlagHelp = [
  '--architecture A   tiny-resnet | resnet18 | resnet50',
  '--input-size PX    input side in pixels (8..1024)',
  '--widths 4,8,8     stage widths (tiny-resnet)',
  '--epochs N, --batch-size N, --lr X',
  '--loss K           focal-seed | focal-balanced | cross-entropy',
  '--alpha X --gamma X  focal loss parameters',
  '--backend B        auto | wasm | webgpu | tensorflow | cpu',
  '--no-augment       train without augmentation',
];

/** Applies the training flags over a run config (flags win). */
function applyTrainFlags(config: Obj, v: Values): Obj {
  const out: Obj = { ...config };
  const model: Obj = { ...(out.model ?? {}) };
  const arch = oneOf(v, 'architecture', ['tiny-resnet', 'resnet18', 'resnet50'] as const);
  if (arch) model.architecture = arch;
  const size = num(v, 'input-size', { int: true, min: 8, max: 1024 });
  if (size !== undefined) model.inputSize = size;
  const widths = str(v, 'widths');
  if (widths !== undefined)
    model.widths = widths.split(',').map((w) => {
      const n = Number(w);
      if (!Number.isInteger(n) || n < 1)
        throw new CliError('usage', `--widths: "${w}" is not a positive integer`);
      return n;
    });
  if (Object.keys(model).length) out.model = model;
  const epochs = num(v, 'epochs', { int: true, min: 1 });
  if (epochs !== undefined) out.epochs = epochs;
  const batch = num(v, 'batch-size', { int: true, min: 1 });
  if (batch !== undefined) out.batchSize = batch;
  const lr = num(v, 'lr', { min: 0 });
  if (lr !== undefined) out.learningRate = lr;
  const kind = oneOf(v, 'loss', ['focal-seed', 'focal-balanced', 'cross-entropy'] as const);
  const alpha = num(v, 'alpha', { min: 0 });
  const gamma = num(v, 'gamma', { min: 0 });
  if (kind || alpha !== undefined || gamma !== undefined) {
    const prev: Obj = out.loss ?? {};
    const k = kind ?? (prev.kind === 'focal-balanced' ? 'focal-balanced' : 'focal-seed');
    if (k === 'cross-entropy') {
      if (alpha !== undefined || gamma !== undefined)
        throw new CliError('usage', '--alpha/--gamma apply to focal losses, not cross-entropy');
      out.loss = { kind: k };
    } else {
      const defaults = k === 'focal-balanced' ? { alpha: 0.25, gamma: 2 } : { alpha: 2, gamma: 2 };
      out.loss = {
        kind: k,
        alpha: alpha ?? (prev.kind === k ? prev.alpha : undefined) ?? defaults.alpha,
        gamma: gamma ?? (prev.kind === k ? prev.gamma : undefined) ?? defaults.gamma,
      };
    }
  }
  const backend = oneOf(v, 'backend', ['auto', 'wasm', 'webgpu', 'tensorflow', 'cpu'] as const);
  if (backend) out.backend = backend;
  if (v['no-augment']) out.augment = false;
  return out;
}

const train: Command = {
  name: 'train',
  summary: 'submit a training run (flags, or a YAML config with flags overriding it)',
  usage: 'train --dataset ID [--config run.yaml] [training flags] [--seed S] [--watch]',
  options: {
    dataset: { type: 'string' },
    config: { type: 'string' },
    seed: { type: 'string' },
    watch: { type: 'boolean' },
    ...trainFlags,
  },
  help: [
    '--dataset ID       the dataset (or `datasetId:` in the YAML file)',
    '--config FILE      YAML run config; optional top-level datasetId and seed, the rest is the',
    '                   config (or put it under `config:`)',
    "--seed S           the run's seed",
    ...trainFlagHelp,
    '--watch            follow the run until it ends (exit 7 if it fails)',
  ],
  async run(ctx) {
    const file = str(ctx.values, 'config');
    const yaml = file ? readYamlObject(file) : {};
    const { datasetId: yDataset, dataset: yDataset2, seed: ySeed, config: yConfig, ...rest } = yaml;
    const config = applyTrainFlags((yConfig as Obj | undefined) ?? rest, ctx.values);
    const datasetId = str(ctx.values, 'dataset') ?? yDataset ?? yDataset2;
    if (!datasetId) throw usage('missing --dataset (or datasetId: in the config file)', 'train');
    const seed = num(ctx.values, 'seed', { int: true, min: 0 }) ?? ySeed;
    const run = await ctx.client().post<Obj>('/runs', { datasetId: String(datasetId), seed, config });
    if (ctx.values.watch) {
      if (!ctx.json) ctx.io.stdout.write(`run ${run.id} queued\n`);
      const end = await watch(ctx.client(), ctx.io, 'run', run.id, { json: ctx.json });
      if (!ctx.json)
        ctx.io.stdout.write(`run ${run.id} ${String(end.status)}: see \`fundus runs show ${run.id}\`\n`);
      return;
    }
    if (ctx.json) return writeJson(ctx.io, run);
    ctx.io.stdout.write(
      `run ${run.id} queued (${lossOf(run.config)}): follow it with \`fundus watch ${run.id}\`\n`,
    );
  },
};

// ---------------------------------------------------------------------------------------------------

const sweep: Command = {
  name: 'sweep',
  summary: 'submit a hyper-parameter sweep: a grid from lists, or seeded random search',
  usage:
    'sweep --dataset ID --alpha 0.25,0.5,1,2 --gamma 0,1,2,3 [--trials N --seed S] [--config sweep.yaml]',
  options: {
    dataset: { type: 'string' },
    config: { type: 'string' },
    'base-config': { type: 'string' },
    name: { type: 'string' },
    alpha: { type: 'string' },
    gamma: { type: 'string' },
    lr: { type: 'string' },
    'loss-form': { type: 'string' },
    trials: { type: 'string' },
    seed: { type: 'string' },
    'max-parallel': { type: 'string' },
    target: { type: 'string' },
    watch: { type: 'boolean' },
  },
  help: [
    '--alpha, --gamma, --lr  a list (0.25,0.5,1) or, for random search, a range MIN:MAX[:log]',
    '--loss-form F,…    focal-seed and/or focal-balanced (default focal-seed)',
    '--trials N         random search with N trials (else a grid over the lists)',
    '--seed S           seed of the random draws and of the trials',
    '--max-parallel N   trials running at once (default 2)',
    '--target X         objective: best specificity at sensitivity ≥ X on validation (default 0.95)',
    '--name NAME        a name for the sweep',
    '--config FILE      YAML sweep request (datasetId, space, strategy, trials, seed, baseConfig…);',
    '                   flags override it',
    '--base-config FILE YAML run config shared by every trial (e.g. model, epochs)',
    '--watch            follow the sweep until it ends',
  ],
  async run(ctx) {
    const v = ctx.values;
    const file = str(v, 'config');
    const req: Obj = file ? readYamlObject(file) : {};
    const space: Obj = { ...(req.space ?? {}) };
    for (const [flag, key] of [
      ['alpha', 'alpha'],
      ['gamma', 'gamma'],
      ['lr', 'learningRate'],
    ] as const) {
      const s = str(v, flag);
      if (s !== undefined) space[key] = parseDimension(s, flag);
    }
    const forms = str(v, 'loss-form');
    if (forms !== undefined) {
      const list = forms.split(',');
      for (const f of list)
        if (f !== 'focal-seed' && f !== 'focal-balanced')
          throw new CliError('usage', `--loss-form: "${f}" must be focal-seed or focal-balanced`);
      space.lossForm = list;
    }
    if (Object.keys(space).length === 0)
      throw usage(
        'give at least one of --alpha, --gamma, --lr, --loss-form (or space: in --config)',
        'sweep',
      );
    req.space = space;
    const trials = num(v, 'trials', { int: true, min: 1 });
    if (trials !== undefined) {
      req.trials = trials;
      req.strategy = 'random';
    }
    req.strategy ??= req.trials !== undefined ? 'random' : 'grid';
    if (req.strategy === 'grid') {
      for (const [k, d] of Object.entries(space))
        if (!Array.isArray(d))
          throw usage(`a range for ${k} needs random search: add --trials N (or give a list)`, 'sweep');
    }
    const seed = num(v, 'seed', { int: true, min: 0 });
    if (seed !== undefined) req.seed = seed;
    const parallel = num(v, 'max-parallel', { int: true, min: 1, max: 64 });
    if (parallel !== undefined) req.maxParallel = parallel;
    const target = num(v, 'target', { min: 0, max: 1 });
    if (target !== undefined) req.objective = { kind: 'specificity-at-sensitivity', target };
    const name = str(v, 'name');
    if (name !== undefined) req.name = name;
    const base = str(v, 'base-config');
    if (base !== undefined) req.baseConfig = readYamlObject(base);
    const dataset = str(v, 'dataset') ?? req.datasetId ?? req.dataset;
    delete req.dataset;
    if (!dataset) throw usage('missing --dataset (or datasetId: in the config file)', 'sweep');
    req.datasetId = String(dataset);
    const s = await ctx.client().post<Obj>('/sweeps', req);
    if (ctx.values.watch) {
      if (!ctx.json) ctx.io.stdout.write(`sweep ${s.id}: ${s.runIds.length} trials queued\n`);
      await watch(ctx.client(), ctx.io, 'sweep', s.id, { json: ctx.json });
      if (!ctx.json) ctx.io.stdout.write(`leaderboard: \`fundus sweeps show ${s.id}\`\n`);
      return;
    }
    if (ctx.json) return writeJson(ctx.io, s);
    const expected = req.strategy === 'grid' ? ` (grid of ${gridSize(space)})` : '';
    ctx.io.stdout.write(
      `sweep ${s.id}: ${s.runIds.length} trials queued${expected}: follow it with \`fundus watch ${s.id}\`\n`,
    );
  },
};

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;

const sweepsList: Command = {
  name: 'sweeps list',
  summary: 'list sweeps, newest first',
  usage: 'sweeps list [--status S] [--dataset ID] [--limit N] [--cursor C]',
  options: { status: { type: 'string' }, dataset: { type: 'string' }, ...page },
  help: ['--status S         queued | running | succeeded | failed | canceled', '--dataset ID', ...pageHelp],
  async run(ctx) {
    const body = await ctx.client().get<{ items: Obj[]; nextCursor: string | null }>('/sweeps', {
      status: oneOf(ctx.values, 'status', STATUSES),
      datasetId: str(ctx.values, 'dataset'),
      limit: num(ctx.values, 'limit', { int: true, min: 1 }),
      cursor: str(ctx.values, 'cursor'),
    });
    printPage(ctx, body, () =>
      table(body.items, [
        ['ID', (s) => s.id],
        ['NAME', (s) => s.name],
        ['STATUS', (s) => s.status],
        ['STRATEGY', (s) => s.strategy],
        ['TRIALS', (s) => s.trials],
        ['BEST RUN', (s) => s.bestRunId],
        ['CREATED', (s) => s.createdAt],
      ]),
    );
  },
};

const sweepsShow: Command = {
  name: 'sweeps show',
  summary: 'a sweep with its trials ranked by the objective',
  usage: 'sweeps show ID',
  options: {},
  help: [],
  async run(ctx) {
    const id = arg(ctx, 0, 'ID', 'sweeps show');
    const s = await ctx.client().get<Obj>(`/sweeps/${encodeURIComponent(id)}`);
    if (ctx.json) return writeJson(ctx.io, s);
    ctx.io.stdout.write(
      fields([
        ['id', s.id],
        ['name', s.name],
        ['status', s.status],
        ['strategy', s.strategy],
        ['objective', s.objective],
        ['trials', s.counts],
        ['best run', s.bestRunId],
        ['error', s.error],
      ]),
    );
    const trials = [...(s.trials as Obj[])].sort(
      (a, b) => (b.objective ?? -Infinity) - (a.objective ?? -Infinity) || (b.valAuc ?? 0) - (a.valAuc ?? 0),
    );
    ctx.io.stdout.write(
      table(trials, [
        ['TRIAL', (r) => r.trialIndex],
        ['RUN', (r) => r.id],
        ['STATUS', (r) => r.status],
        ['LOSS', (r) => lossOf(r.config)],
        ['OBJECTIVE', (r) => r.objective],
        ['VAL AUC', (r) => r.valAuc],
        ['TEST AUC', (r) => r.auc],
        ['SENS', (r) => r.sensitivity],
        ['SPEC', (r) => r.specificity],
      ]),
    );
  },
};

const sweepsCancel: Command = {
  name: 'sweeps cancel',
  summary: 'cancel a sweep and its unfinished trials',
  usage: 'sweeps cancel ID',
  options: {},
  help: [],
  async run(ctx) {
    const id = arg(ctx, 0, 'ID', 'sweeps cancel');
    const s = await ctx.client().post<Obj>(`/sweeps/${encodeURIComponent(id)}/cancel`);
    if (ctx.json) return writeJson(ctx.io, s);
    ctx.io.stdout.write(`sweep ${s.id}: ${s.status}\n`);
  },
};

// ---------------------------------------------------------------------------------------------------

const runsList: Command = {
  name: 'runs list',
  summary: 'list runs with filters and sorting',
  usage: 'runs list [--status S] [--sweep ID] [--dataset ID] [--sort auc] [--order asc|desc] [--min-auc X]',
  options: {
    status: { type: 'string' },
    sweep: { type: 'string' },
    dataset: { type: 'string' },
    sort: { type: 'string' },
    order: { type: 'string' },
    'min-auc': { type: 'string' },
    'min-sensitivity': { type: 'string' },
    'min-specificity': { type: 'string' },
    ...page,
  },
  help: [
    '--status S         queued | running | succeeded | failed | canceled',
    '--sweep ID, --dataset ID',
    '--sort K           createdAt | auc | sensitivity | specificity (metric sorts list finished runs)',
    '--order O          desc (default) | asc',
    '--min-auc X, --min-sensitivity X, --min-specificity X   (0..1, test split)',
    ...pageHelp,
  ],
  async run(ctx) {
    const v = ctx.values;
    const body = await ctx.client().get<{ items: Obj[]; nextCursor: string | null }>('/runs', {
      status: oneOf(v, 'status', STATUSES),
      sweepId: str(v, 'sweep'),
      datasetId: str(v, 'dataset'),
      sort: oneOf(v, 'sort', ['createdAt', 'auc', 'sensitivity', 'specificity'] as const),
      order: oneOf(v, 'order', ['asc', 'desc'] as const),
      minAuc: num(v, 'min-auc', { min: 0, max: 1 }),
      minSensitivity: num(v, 'min-sensitivity', { min: 0, max: 1 }),
      minSpecificity: num(v, 'min-specificity', { min: 0, max: 1 }),
      limit: num(v, 'limit', { int: true, min: 1 }),
      cursor: str(v, 'cursor'),
    });
    printPage(ctx, body, () =>
      table(body.items, [
        ['ID', (r) => r.id],
        ['STATUS', (r) => r.status],
        ['PROGRESS', (r) => pct(r.progress)],
        ['SWEEP', (r) => (r.sweepId ? `${short(r.sweepId)}#${r.trialIndex}` : null)],
        ['AUC', (r) => r.auc],
        ['SENS', (r) => r.sensitivity],
        ['SPEC', (r) => r.specificity],
        ['THRESHOLD', (r) => r.threshold],
        ['CREATED', (r) => r.createdAt],
      ]),
    );
  },
};

const runsShow: Command = {
  name: 'runs show',
  summary: 'a run: status, metrics at the operating point, epochs, model versions',
  usage: 'runs show ID',
  options: {},
  help: [],
  async run(ctx) {
    const id = arg(ctx, 0, 'ID', 'runs show');
    const r = await ctx.client().get<Obj>(`/runs/${encodeURIComponent(id)}`);
    if (ctx.json) return writeJson(ctx.io, r);
    ctx.io.stdout.write(
      fields([
        ['id', r.id],
        ['status', r.status],
        ['progress', pct(r.progress)],
        ['dataset', r.datasetId],
        ['sweep', r.sweepId ? `${r.sweepId} trial ${r.trialIndex}` : null],
        ['loss', lossOf(r.config)],
        ['model', r.config?.model ? `${r.config.model.architecture} ${r.config.model.inputSize}px` : null],
        ['seed', r.seed],
        ['backend', r.backend],
        ['threshold', r.threshold],
        ['test AUC', r.auc],
        ['sensitivity', r.sensitivity],
        ['specificity', r.specificity],
        ['val AUC', r.valAuc],
        ['error', r.error],
        ['report', r.reportUri ? `fundus report ${r.id}` : null],
      ]),
    );
    if ((r.epochs ?? []).length) {
      ctx.io.stdout.write('\nepochs\n');
      ctx.io.stdout.write(
        table(r.epochs as Obj[], [
          ['EPOCH', (e) => e.epoch],
          ['TRAIN LOSS', (e) => e.trainLoss],
          ['VAL LOSS', (e) => e.valLoss],
          ['VAL AUC', (e) => e.valAuc],
          ['LR', (e) => e.lr],
          ['SECONDS', (e) => e.seconds],
        ]),
      );
    }
    if ((r.models ?? []).length) {
      ctx.io.stdout.write('\nmodel versions\n');
      ctx.io.stdout.write(modelsTable(r.models as Obj[]));
    }
  },
};

const runsCancel: Command = {
  name: 'runs cancel',
  summary: 'cancel a queued or running run',
  usage: 'runs cancel ID',
  options: {},
  help: [],
  async run(ctx) {
    const id = arg(ctx, 0, 'ID', 'runs cancel');
    const r = await ctx.client().post<Obj>(`/runs/${encodeURIComponent(id)}/cancel`);
    if (ctx.json) return writeJson(ctx.io, r);
    ctx.io.stdout.write(`run ${r.id}: ${r.status}\n`);
  },
};

// ---------------------------------------------------------------------------------------------------

const watchCmd: Command = {
  name: 'watch',
  summary: 'live progress of a run, sweep or scoring job until it ends',
  usage: 'watch [run|sweep|scoring] ID',
  options: {},
  help: [
    'Progress bars on a terminal; one line per change when piped; one JSON object per line with',
    '--json. Exits 0 when the job succeeded, 7 when it failed or was canceled.',
  ],
  async run(ctx) {
    let kind: WatchKind | undefined;
    let id: string;
    if (['run', 'sweep', 'scoring'].includes(ctx.positionals[0]) && ctx.positionals.length > 1) {
      kind = ctx.positionals[0] as WatchKind;
      id = ctx.positionals[1];
    } else {
      id = arg(ctx, 0, 'ID', 'watch');
    }
    const client = ctx.client();
    kind ??= await detectKind(client, id);
    const end = await watch(client, ctx.io, kind, id, { json: ctx.json });
    if (!ctx.json) ctx.io.stdout.write(`${kind} ${id} ${String(end.status)}\n`);
  },
};

const report: Command = {
  name: 'report',
  summary: "download a run's HTML report",
  usage: 'report RUN [--out FILE] [--open]',
  options: { out: { type: 'string' }, open: { type: 'boolean' } },
  help: [
    '--out FILE         where to write it (default report-RUN.html)',
    '--open             open it in the browser',
  ],
  async run(ctx) {
    const id = arg(ctx, 0, 'RUN', 'report');
    const res = await ctx
      .client()
      .raw('GET', `/runs/${encodeURIComponent(id)}/report`, { accept: 'text/html' });
    const html = Buffer.from(await res.arrayBuffer());
    const path = resolve(str(ctx.values, 'out') ?? `report-${id}.html`);
    writeFileSync(path, html);
    if (ctx.values.open) openFile(path, ctx.io);
    if (ctx.json) return writeJson(ctx.io, { runId: id, path, bytes: html.length });
    ctx.io.stdout.write(`wrote ${path} (${html.length} bytes)\n`);
  },
};

function openFile(path: string, io: Io): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [path], { detached: true, stdio: 'ignore' });
  child.on('error', () => io.stderr.write(`could not run ${cmd}; open ${path} yourself\n`));
  child.unref();
}

// ---------------------------------------------------------------------------------------------------

function modelsTable(rows: Obj[]): string {
  return table(rows, [
    ['ID', (m) => m.id],
    ['VERSION', (m) => m.version],
    ['RUN', (m) => m.runId],
    ['MODEL', (m) => `${m.architecture} ${m.inputSize}px`],
    ['THRESHOLD', (m) => m.threshold],
    ['AUC', (m) => m.run?.auc],
    ['SENS', (m) => m.run?.sensitivity],
    ['SPEC', (m) => m.run?.specificity],
    ['CHAMPION', (m) => (m.champion ? '*' : '')],
  ]);
}

const modelsList: Command = {
  name: 'models list',
  summary: 'list model versions, newest first',
  usage: 'models list [--run ID] [--champion] [--limit N] [--cursor C]',
  options: { run: { type: 'string' }, champion: { type: 'boolean' }, ...page },
  help: ['--run ID           versions of one run', '--champion         only the champion', ...pageHelp],
  async run(ctx) {
    const body = await ctx.client().get<{ items: Obj[]; nextCursor: string | null }>('/models', {
      runId: str(ctx.values, 'run'),
      champion: ctx.values.champion ? true : undefined,
      limit: num(ctx.values, 'limit', { int: true, min: 1 }),
      cursor: str(ctx.values, 'cursor'),
    });
    printPage(ctx, body, () => modelsTable(body.items));
  },
};

const modelsPromote: Command = {
  name: 'models promote',
  summary: 'make a model version the champion (admins)',
  usage: 'models promote ID',
  options: {},
  help: ['The champion scores new intake images (nightly, and `fundus score` without --model).'],
  async run(ctx) {
    const id = arg(ctx, 0, 'ID', 'models promote');
    const r = await ctx.client().post<Obj>(`/models/${encodeURIComponent(id)}/promote`);
    if (ctx.json) return writeJson(ctx.io, r);
    ctx.io.stdout.write(
      r.changed === false ? `model ${id} already is the champion\n` : `model ${id} is now the champion\n`,
    );
  },
};

const modelsChampion: Command = {
  name: 'models champion',
  summary: 'the current champion model version',
  usage: 'models champion',
  options: {},
  help: [],
  async run(ctx) {
    const r = await ctx.client().get<{ champion: Obj | null }>('/models/champion');
    if (ctx.json) return writeJson(ctx.io, r);
    ctx.io.stdout.write(
      r.champion ? modelsTable([r.champion]) : 'no champion yet: `fundus models promote ID`\n',
    );
  },
};

// ---------------------------------------------------------------------------------------------------

const score: Command = {
  name: 'score',
  summary: 'score every image under a storage prefix (champion model unless --model)',
  usage: 'score PREFIX [--model ID] [--watch]',
  options: { model: { type: 'string' }, watch: { type: 'boolean' } },
  help: [
    'PREFIX             key prefix in the API\'s store, e.g. intake/2026-11-26/ ("" for everything)',
    '--model ID         the model version (default: the champion)',
    '--watch            follow the job until it ends',
  ],
  async run(ctx) {
    if (ctx.positionals.length === 0) throw usage('missing PREFIX', 'score');
    const prefix = ctx.positionals[0];
    const client = ctx.client();
    let modelVersionId = str(ctx.values, 'model');
    if (!modelVersionId) {
      const { champion } = await client.get<{ champion: Obj | null }>('/models/champion');
      if (!champion)
        throw new CliError(
          'not-found',
          'there is no champion model: promote one with `fundus models promote ID` or pass --model ID',
        );
      modelVersionId = String(champion.id);
    }
    const job = await client.post<Obj>('/scoring-jobs', { modelVersionId, prefix });
    if (ctx.values.watch) {
      if (!ctx.json) ctx.io.stdout.write(`scoring job ${job.id} queued\n`);
      const end = await watch(client, ctx.io, 'scoring', job.id, { json: ctx.json });
      if (!ctx.json)
        ctx.io.stdout.write(
          `scored ${end.scored}, ungradable ${end.ungradable}, failed ${end.failed}: \`fundus predictions --prefix ${prefix}\`\n`,
        );
      return;
    }
    if (ctx.json) return writeJson(ctx.io, job);
    ctx.io.stdout.write(
      `scoring job ${job.id} queued for "${prefix}": follow it with \`fundus watch ${job.id}\`\n`,
    );
  },
};

const predictions: Command = {
  name: 'predictions',
  summary: 'query stored predictions',
  usage: 'predictions [--prefix P | --key K] [--model ID] [--label 0|1] [--ungradable|--gradable]',
  options: {
    prefix: { type: 'string' },
    key: { type: 'string' },
    model: { type: 'string' },
    label: { type: 'string' },
    ungradable: { type: 'boolean' },
    gradable: { type: 'boolean' },
    from: { type: 'string' },
    to: { type: 'string' },
    ...page,
  },
  help: [
    '--prefix P | --key K   image key prefix or one key (listed by key)',
    '--model ID         one model version',
    '--label 0|1        0 normal, 1 disease',
    '--ungradable, --gradable   only images the quality gate refused / accepted',
    '--from T, --to T   created in [from, to) (ISO 8601)',
    ...pageHelp,
  ],
  async run(ctx) {
    const v = ctx.values;
    if (v.ungradable && v.gradable) throw usage('give --ungradable or --gradable, not both', 'predictions');
    const body = await ctx.client().get<{ items: Obj[]; nextCursor: string | null }>('/predictions', {
      prefix: str(v, 'prefix'),
      key: str(v, 'key'),
      modelVersionId: str(v, 'model'),
      label: oneOf(v, 'label', ['0', '1'] as const),
      ungradable: v.ungradable ? true : v.gradable ? false : undefined,
      from: str(v, 'from'),
      to: str(v, 'to'),
      limit: num(v, 'limit', { int: true, min: 1 }),
      cursor: str(v, 'cursor'),
    });
    printPage(ctx, body, () =>
      table(body.items, [
        ['KEY', (p) => p.key],
        ['MODEL', (p) => short(p.modelVersionId)],
        ['P(DISEASE)', (p) => p.probability],
        ['LABEL', (p) => (p.label === 1 ? 'disease' : p.label === 0 ? 'normal' : null)],
        ['UNGRADABLE', (p) => (p.ungradable ? (p.reason ?? 'yes') : '')],
        ['ERROR', (p) => p.error],
      ]),
    );
  },
};

/** Every command, by its full name (`runs list`). */
export const COMMANDS: Command[] = [
  login,
  logout,
  datasetsRegister,
  datasetsList,
  datasetsShow,
  train,
  sweep,
  sweepsList,
  sweepsShow,
  sweepsCancel,
  runsList,
  runsShow,
  runsCancel,
  watchCmd,
  report,
  modelsList,
  modelsPromote,
  modelsChampion,
  score,
  predictions,
];

export { resolveCredentials };
