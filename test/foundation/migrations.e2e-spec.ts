import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ROOT } from '../support/processes';

const run = promisify(execFile);

async function shadowDatabases(): Promise<string[]> {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'",
    );
    return rows.map((r) => r.datname as string);
  } finally {
    await client.end();
  }
}

describe('Prisma migrations', () => {
  it('the committed migrations produce exactly the schema in prisma/schema.prisma', async () => {
    const before = await shadowDatabases();
    // --exit-code: 0 = no difference, 2 = the migrations and the schema differ.
    const { stdout } = await run(
      'npx',
      [
        '--no-install',
        'prisma',
        'migrate',
        'diff',
        '--from-migrations',
        'prisma/migrations',
        '--to-schema-datamodel',
        'prisma/schema.prisma',
        '--exit-code',
      ],
      { cwd: ROOT, env: process.env },
    );
    expect(stdout).toMatch(/No difference detected|empty migration/i);
    // The shadow database the diff used is dropped again (a worked-around adapter bug).
    expect(await shadowDatabases()).toEqual(before);
  });

  it('the test database is fully migrated', async () => {
    const { stdout } = await run('npx', ['--no-install', 'prisma', 'migrate', 'status'], {
      cwd: ROOT,
      env: process.env,
    });
    expect(stdout).toMatch(/Database schema is up to date/);
  });
});
