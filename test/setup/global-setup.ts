/**
 * Integration tests run against the real PostgreSQL and Redis on this machine. Each test run gets a
 * throw-away database, migrated with `prisma migrate deploy`, and its own BullMQ key prefix.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { adminUrl, withDatabase } from './db-urls';

export default async function globalSetup(): Promise<void> {
  const name = `fundus_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(name);
  execFileSync('npx', ['--no-install', 'prisma', 'migrate', 'deploy'], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.env.DATABASE_URL = url;
  process.env.FUNDUS_TEST_DB = name;
  process.env.REDIS_URL ||= 'redis://127.0.0.1:6379';
  process.env.QUEUE_PREFIX = `fundus-test-${name.slice(-6)}`;
}
