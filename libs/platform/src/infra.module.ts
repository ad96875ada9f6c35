import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { createPrismaClient, type PrismaClient } from '@fundus/db';
import { JobQueues, redisConnection } from '@fundus/jobs';
import IORedis from 'ioredis';
import { CONFIG, JOB_QUEUES, PRISMA, REDIS } from './tokens';

export interface InfraConfig {
  DATABASE_URL: string;
  REDIS_URL: string;
  QUEUE_PREFIX: string;
}

class InfraShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(JOB_QUEUES) private readonly queues: JobQueues,
    @Inject(REDIS) private readonly redis: IORedis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([
      this.queues.close(),
      this.prisma.$disconnect(),
      Promise.resolve(this.redis.disconnect()),
    ]);
  }
}

/** PostgreSQL (Prisma), Redis and the job queues, shared by the API and the worker. */
@Global()
@Module({})
export class InfraModule {
  static forRoot(config: InfraConfig): DynamicModule {
    return {
      module: InfraModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: PRISMA, useFactory: () => createPrismaClient(config.DATABASE_URL) },
        {
          provide: REDIS,
          useFactory: () =>
            new IORedis(config.REDIS_URL, {
              lazyConnect: true,
              maxRetriesPerRequest: 1,
              enableOfflineQueue: false,
            }),
        },
        {
          provide: JOB_QUEUES,
          useFactory: () => new JobQueues(redisConnection(config.REDIS_URL), config.QUEUE_PREFIX),
        },
        InfraShutdown,
      ],
      exports: [CONFIG, PRISMA, REDIS, JOB_QUEUES],
    };
  }
}
