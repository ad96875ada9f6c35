import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit, workerEnvSchema, type WorkerConfig } from '@fundus/config';
import { createLogger, exitCleanlyOnSignals } from '@fundus/platform';
import { WorkerModule } from './worker.module';

/** The worker: a Nest application context with no HTTP server. */
export async function createWorker(config: WorkerConfig) {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: createLogger('gpu-worker', config),
  });
  return app;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(workerEnvSchema, 'fundus-worker');
  const app = await createWorker(config);
  const logger = createLogger('gpu-worker', config);
  exitCleanlyOnSignals(app, logger);
  logger.log(`worker ready (pid ${process.pid})`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`fundus-worker failed to start: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
