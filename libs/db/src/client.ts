import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

export { PrismaClient };
export type { Prisma, Dataset, Sweep, ModelVersion, ScoringJob, Prediction } from './generated/client';

/**
 * A Prisma client on the plain `pg` driver adapter (no native query engine is installed here).
 * `databaseUrl` is a postgresql:// URL; the pool is created lazily on first query.
 */
export function createPrismaClient(databaseUrl: string, options: { poolSize?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}
