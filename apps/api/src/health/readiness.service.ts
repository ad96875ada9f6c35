import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '@fundus/db';
import { PRISMA, REDIS } from '@fundus/platform';
import type IORedis from 'ioredis';
import { STORAGE_PROBE, type StorageProbe } from './storage-probe';

export type CheckName = 'postgres' | 'redis' | 'storage';
export interface ReadinessReport {
  status: 'ready' | 'not-ready';
  checks: Record<CheckName, { ok: boolean; ms: number; error?: string }>;
  failed: CheckName[];
}

const TIMEOUT_MS = 2000;

async function timed(fn: () => Promise<unknown>): Promise<{ ok: boolean; ms: number; error?: string }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - start) };
  } catch (err) {
    return {
      ok: false,
      ms: Math.round(performance.now() - start),
      error: (err as Error).message.split('\n')[0],
    };
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class ReadinessService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(REDIS) private readonly redis: IORedis,
    @Inject(STORAGE_PROBE) private readonly storage: StorageProbe,
  ) {}

  async check(): Promise<ReadinessReport> {
    const [postgres, redis, storage] = await Promise.all([
      timed(() => this.prisma.$queryRawUnsafe('SELECT 1')),
      timed(async () => {
        if (this.redis.status === 'wait' || this.redis.status === 'end')
          await this.redis.connect().catch(() => undefined);
        await this.redis.ping();
      }),
      timed(() => this.storage.probe()),
    ]);
    const checks = { postgres, redis, storage };
    const failed = (Object.keys(checks) as CheckName[]).filter((k) => !checks[k].ok);
    return { status: failed.length ? 'not-ready' : 'ready', checks, failed };
  }
}
