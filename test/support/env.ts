/** Environment for processes started by integration tests: the run's database, Redis and queue prefix. */
export function testEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl)
    throw new Error('DATABASE_URL is not set: run integration tests through jest (global setup)');
  return {
    NODE_ENV: 'test',
    LOG_FORMAT: 'pretty',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: process.env.QUEUE_PREFIX ?? 'fundus-test',
    ...overrides,
  };
}
