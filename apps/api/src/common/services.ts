import type { Provider } from '@nestjs/common';
import type { ApiConfig } from '@fundus/config';
import type { PrismaClient } from '@fundus/db';
import type { JobQueues } from '@fundus/jobs';
import { CONFIG, JOB_QUEUES, PRISMA } from '@fundus/platform';
import { RunsService, ScoringService, SweepsService } from '@fundus/services';
import { createObjectStoreFromConfig, type ObjectStore } from '@fundus/storage';
import { OBJECT_STORE } from './tokens';

/** Application services from libs/services, built from the shared infrastructure. */
export const SERVICE_PROVIDERS: Provider[] = [
  {
    provide: RunsService,
    inject: [PRISMA, JOB_QUEUES],
    useFactory: (p: PrismaClient, q: JobQueues) => new RunsService(p, q),
  },
  {
    provide: ScoringService,
    inject: [PRISMA, JOB_QUEUES],
    useFactory: (p: PrismaClient, q: JobQueues) => new ScoringService(p, q),
  },
  {
    provide: SweepsService,
    inject: [PRISMA, JOB_QUEUES, CONFIG],
    useFactory: (p: PrismaClient, q: JobQueues, c: ApiConfig) =>
      new SweepsService(p, q, { maxTrials: c.MAX_SWEEP_TRIALS }),
  },
  {
    provide: OBJECT_STORE,
    inject: [CONFIG],
    useFactory: (c: ApiConfig): ObjectStore => createObjectStoreFromConfig(c),
  },
];
