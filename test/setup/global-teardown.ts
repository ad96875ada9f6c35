import { Client } from 'pg';
import { adminUrl } from './db-urls';

export default async function globalTeardown(): Promise<void> {
  const name = process.env.FUNDUS_TEST_DB;
  if (!name || process.env.KEEP_TEST_DB) return;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
