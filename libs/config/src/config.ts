import { z } from 'zod';

/**
 * Every environment variable the processes read, validated once at start-up. `.env.example`
 * documents each one; `loadConfig` reports all problems at once.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
// 0 asks the OS for a free port (tests).
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
const postgresUrl = z
  .string({ error: 'is required (e.g. postgresql://postgres@127.0.0.1:5432/fundus)' })
  .refine((s) => /^postgres(ql)?:\/\/.+/.test(s), 'must be a postgresql:// URL');
const redisUrl = z.string().refine((s) => /^rediss?:\/\/.+/.test(s), 'must be a redis:// or rediss:// URL');
const storageUri = z
  .string()
  .refine(
    (s) => /^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?|file:\/\/.+)$/.test(s),
    'must be s3://bucket[/prefix] or file://path',
  );

export const QUEUE_KINDS = ['training', 'sweeps', 'scoring', 'schedule'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

const common = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('pretty'),
  DATABASE_URL: postgresUrl,
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('fundus'),
  STORAGE_URI: storageUri.default('file://./.data/storage'),
  S3_ENDPOINT: z.url({ error: 'must be a URL like http://127.0.0.1:9000' }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool.default(true),
  STORAGE_ALLOWED_BUCKETS: csv.optional(),
  INTAKE_PREFIX: z.string().default('intake/'),
};

export const apiEnvSchema = z.object({
  ...common,
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: port.default(3000),
  API_BODY_LIMIT: z
    .string()
    .regex(/^\d+(kb|mb)$/, 'like 1mb or 512kb')
    .default('1mb'),
  MAX_SWEEP_TRIALS: positiveInt.max(1000).default(64),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(120),
  BOOTSTRAP_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
});

export const workerEnvSchema = z.object({
  ...common,
  WORKER_QUEUES: csv
    .pipe(z.array(z.enum(QUEUE_KINDS, { error: `each must be one of ${QUEUE_KINDS.join(', ')}` })).min(1))
    .default([...QUEUE_KINDS]),
  WORKER_TRAINING_CONCURRENCY: positiveInt.max(16).default(1),
  WORKER_SCORING_CONCURRENCY: positiveInt.max(64).default(2),
  /** Images per scoring chunk (one ScoreChunk job). */
  SCORING_CHUNK_SIZE: positiveInt.max(10000).default(64),
  /** BullMQ job lock: a job whose worker died is picked up again after about this long. */
  WORKER_LOCK_MS: positiveInt.min(1000).max(600000).default(30000),
  MODEL_BACKEND: z.enum(['auto', 'wasm', 'webgpu', 'tensorflow', 'cpu']).default('auto'),
  /**
   * Scoring inference engine: `onnx` scores every model with ONNX Runtime's CPU provider (a tfjs
   * model is exported to ONNX once, when the worker first loads it); `tfjs` always uses MODEL_BACKEND;
   * `auto` uses ONNX Runtime for versions that have an `onnxUri`, tfjs otherwise.
   */
  SCORING_ENGINE: z.enum(['auto', 'tfjs', 'onnx']).default('auto'),
  /**
   * ONNX Runtime execution provider for scoring: `cpu`; `webgpu` (bundled; any adapter, lavapipe
   * included); `cuda` (needs onnxruntime-node's CUDA provider library, which
   * ONNXRUNTIME_NODE_INSTALL=skip does not fetch, and CUDA 12 / cuDNN 9); `auto` = cuda when its
   * library is present, else webgpu on a hardware adapter, else cpu. One that cannot start falls
   * back to cpu with one log line saying why.
   */
  SCORING_ORT_PROVIDERS: z.enum(['cpu', 'webgpu', 'cuda', 'auto']).default('auto'),
  /**
   * Largest scoring forward pass (images); passes fill across the chunks in flight. 8 suits CPU;
   * GPU providers want more (e.g. 32).
   */
  SCORING_BATCH_SIZE: positiveInt.max(256).default(8),
  /** ONNX Runtime intra-op threads per scoring session; 0 = one per core (os.availableParallelism()). */
  SCORING_ORT_THREADS: z.coerce.number().int().min(0).max(256).default(0),
  /**
   * Worker threads that fetch-decode-preprocess scoring images while the model infers; 0 = on the
   * main thread (libuv's pool). Unset: max(1, round(cores / 4)), raised to cores − 1 when ONNX
   * Runtime runs on a GPU provider (webgpu, cuda).
   */
  SCORING_DECODE_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  CACHE_DIR: z.string().default('./.cache/tensors'),
  CACHE_MAX_BYTES: positiveInt.default(2 * 1024 ** 3),
  NIGHTLY_CRON: z
    .string()
    .regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression with 5 or 6 fields')
    .default('0 2 * * *'),
  NIGHTLY_ENABLED: bool.default(true),
  NIGHTLY_TZ: z.string().default('UTC'),
});

export type ApiConfig = z.infer<typeof apiEnvSchema>;
export type WorkerConfig = z.infer<typeof workerEnvSchema>;

/** Thrown when the environment is invalid; `problems` lists every bad variable. */
export class ConfigError extends Error {
  readonly code = 'invalid-config';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates `env` against `schema`; throws ConfigError naming every invalid or missing variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // Empty strings count as unset, so `FOO=` in a .env file falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = cleaned[String(issue.path[0])];
    const shown =
      value === undefined ? 'unset' : /SECRET|KEY|PASSWORD|TOKEN/.test(name) ? 'set' : JSON.stringify(value);
    return `${name} (${shown}): ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** For a process entry point: load the config or print every problem and exit non-zero. */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, processName: string): z.infer<S> {
  try {
    return loadConfig(schema);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${processName}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
