/**
 * The driver adapter the Prisma CLI uses for its WebAssembly schema engine (no native engines can be
 * downloaded here). It wraps @prisma/adapter-pg 6.19.3 and works around three of its bugs:
 *  1. catalog columns of types `name` and `"char"` (and arrays of them) reach the engine untranslated
 *     (Prisma issue #27403) — we present them as text / text[];
 *  2. the shadow-database pool spreads the config over a connection string, so the string wins and
 *     the "shadow" is the real database — we pass discrete connection fields;
 *  3. the shadow database is dropped before its pool closes — we close first, then drop.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool, type PoolConfig, type PoolClient } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { parse as parseArray } from 'postgres-array';

const TEXT = 25;
const TEXT_ARRAY = 1009;
const SCALAR_AS_TEXT = new Set([18 /* "char" */, 19 /* name */]);
const ARRAY_AS_TEXT_ARRAY = new Set([1002 /* "char"[] */, 1003 /* name[] */]);

type Field = { dataTypeID: number };
type Result = { fields?: Field[]; rows?: unknown[][] };

function translate(result: Result): Result {
  if (!result?.fields) return result;
  result.fields.forEach((field, i) => {
    if (SCALAR_AS_TEXT.has(field.dataTypeID)) {
      field.dataTypeID = TEXT;
    } else if (ARRAY_AS_TEXT_ARRAY.has(field.dataTypeID)) {
      field.dataTypeID = TEXT_ARRAY;
      for (const row of result.rows ?? []) {
        if (Array.isArray(row) && typeof row[i] === 'string') row[i] = parseArray(row[i] as string);
      }
    }
  });
  return result;
}

function patchClient(client: PoolClient): void {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    // pg's Pool#query calls the client with a trailing callback; direct callers use the promise.
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const callback = last as (err: unknown, res?: Result) => void;
      args[args.length - 1] = (err: unknown, res?: Result) =>
        callback(err, err || !res ? res : translate(res));
    }
    const out = original(...args);
    if (out && typeof (out as Promise<Result>).then === 'function') {
      return (out as Promise<Result>).then(translate);
    }
    return out;
  };
}

function patchedPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  pool.on('connect', patchClient);
  return pool;
}

export function createCliAdapterFactory(connectionString: string) {
  const base = parseIntoClientConfig(connectionString) as PoolConfig;
  const connect = (config: PoolConfig) =>
    new PrismaPg(patchedPool(config), { disposeExternalPool: true }).connect();

  return {
    provider: 'postgres' as const,
    adapterName: '@prisma/adapter-pg',
    connect: () => connect(base),
    async connectToShadowDb() {
      const admin = await connect(base);
      const database = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`;
      await admin.executeScript(`CREATE DATABASE "${database}"`);
      const shadow = await connect({ ...base, database });
      const disposeShadow = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await disposeShadow();
        await admin.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
        await admin.dispose();
      };
      return shadow;
    },
  };
}
