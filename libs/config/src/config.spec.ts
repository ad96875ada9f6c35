import { apiEnvSchema, ConfigError, loadConfig, workerEnvSchema } from './config';

const base = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/fundus' };

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const api = loadConfig(apiEnvSchema, base);
    expect(api).toMatchObject({
      API_PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      STORAGE_URI: 'file://./.data/storage',
    });
    const worker = loadConfig(workerEnvSchema, base);
    expect(worker.WORKER_QUEUES).toEqual(['training', 'sweeps', 'scoring', 'schedule']);
    expect(worker).toMatchObject({
      MODEL_BACKEND: 'auto',
      NIGHTLY_CRON: '0 2 * * *',
      WORKER_TRAINING_CONCURRENCY: 1,
    });
  });

  it('reports every invalid variable at once, not just the first', () => {
    const env = { DATABASE_URL: 'mysql://x', API_PORT: 'eighty', REDIS_URL: 'localhost', LOG_FORMAT: 'xml' };
    let error: unknown;
    try {
      loadConfig(apiEnvSchema, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = (error as ConfigError).problems.map((p) => p.split(' ')[0]);
    expect(names.sort()).toEqual(['API_PORT', 'DATABASE_URL', 'LOG_FORMAT', 'REDIS_URL']);
  });

  it('names a missing required variable as unset', () => {
    expect(() => loadConfig(apiEnvSchema, {})).toThrow(/DATABASE_URL \(unset\): is required/);
  });

  it('treats empty strings as unset so defaults apply', () => {
    expect(loadConfig(apiEnvSchema, { ...base, API_PORT: '' }).API_PORT).toBe(3000);
  });

  it('parses worker queue lists and rejects unknown queue kinds', () => {
    expect(
      loadConfig(workerEnvSchema, { ...base, WORKER_QUEUES: 'training, scoring' }).WORKER_QUEUES,
    ).toEqual(['training', 'scoring']);
    expect(() => loadConfig(workerEnvSchema, { ...base, WORKER_QUEUES: 'training,gpu' })).toThrow(
      /WORKER_QUEUES/,
    );
  });

  it('parses the scoring pipeline variables: ORT provider and threads, decode threads', () => {
    const d = loadConfig(workerEnvSchema, base);
    expect(d).toMatchObject({ SCORING_ORT_PROVIDERS: 'auto', SCORING_ORT_THREADS: 0, SCORING_BATCH_SIZE: 8 });
    expect(d.SCORING_DECODE_THREADS).toBeUndefined();
    const set = loadConfig(workerEnvSchema, {
      ...base,
      SCORING_ORT_PROVIDERS: 'webgpu',
      SCORING_ORT_THREADS: '3',
      SCORING_DECODE_THREADS: '0',
      SCORING_BATCH_SIZE: '32',
    });
    expect(set).toMatchObject({
      SCORING_ORT_PROVIDERS: 'webgpu',
      SCORING_ORT_THREADS: 3,
      SCORING_DECODE_THREADS: 0,
      SCORING_BATCH_SIZE: 32,
    });
    let error: unknown;
    try {
      loadConfig(workerEnvSchema, { ...base, SCORING_ORT_PROVIDERS: 'tpu', SCORING_DECODE_THREADS: '-1' });
    } catch (e) {
      error = e;
    }
    const names = (error as ConfigError).problems.map((p) => p.split(' ')[0]).sort();
    expect(names).toEqual(['SCORING_DECODE_THREADS', 'SCORING_ORT_PROVIDERS']);
  });

  it('does not echo secret values', () => {
    expect(() => loadConfig(apiEnvSchema, { ...base, BOOTSTRAP_ADMIN_KEY: 'short' })).toThrow(
      /BOOTSTRAP_ADMIN_KEY \(set\)/,
    );
  });

  it('accepts s3 and file storage URIs and rejects others', () => {
    expect(loadConfig(apiEnvSchema, { ...base, STORAGE_URI: 's3://fundus-data/prefix' }).STORAGE_URI).toBe(
      's3://fundus-data/prefix',
    );
    expect(() => loadConfig(apiEnvSchema, { ...base, STORAGE_URI: 'gs://bucket' })).toThrow(/STORAGE_URI/);
  });
});
