import { Logger, Module, type DynamicModule } from '@nestjs/common';
import type { WorkerConfig } from '@fundus/config';
import type { PrismaClient } from '@fundus/db';
import { QueueName, type HandlerRegistration, type JobQueues } from '@fundus/jobs';
import { InfraModule, JOB_QUEUES, PRISMA } from '@fundus/platform';
import { createObjectStoreFromConfig } from '@fundus/storage';
import { pingHandler } from './handlers/ping.handler';
import { registerNightlySchedule, scoringHandlers } from './scoring';
import { sweepHandlers } from './training/sweep.handler';
import { trainingHandlers } from './training/train.handler';
import { CONSUMED_QUEUES, HANDLERS, SHUTDOWN, WorkerHost } from './worker-host.service';

/** Queues a worker consumes: the configured kinds, plus the system queue every worker answers. */
export function consumedQueues(config: WorkerConfig): QueueName[] {
  const known = new Set<string>(Object.values(QueueName));
  return [QueueName.System, ...config.WORKER_QUEUES.filter((q) => known.has(q)).map((q) => q as QueueName)];
}

@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    const queues = consumedQueues(config);
    return {
      module: WorkerModule,
      imports: [InfraModule.forRoot(config)],
      providers: [
        { provide: CONSUMED_QUEUES, useValue: queues },
        { provide: SHUTDOWN, useFactory: () => new AbortController() },
        {
          provide: HANDLERS,
          inject: [PRISMA, SHUTDOWN, JOB_QUEUES],
          useFactory: async (
            prisma: PrismaClient,
            shutdown: AbortController,
            jobQueues: JobQueues,
          ): Promise<HandlerRegistration[]> => {
            const scoring = {
              prisma,
              store: createObjectStoreFromConfig(config),
              queues: jobQueues,
              config,
              chunkSize: config.SCORING_CHUNK_SIZE,
              logger: new Logger('Scoring'),
            };
            // Idempotent: one nightly scheduler however many workers start, however often.
            await registerNightlySchedule(scoring, queues);
            return [
              pingHandler(queues) as HandlerRegistration,
              ...trainingHandlers({ prisma, config, shutdown: shutdown.signal }),
              ...sweepHandlers({ prisma, config }),
              ...scoringHandlers(scoring),
            ];
          },
        },
        WorkerHost,
      ],
    };
  }
}
