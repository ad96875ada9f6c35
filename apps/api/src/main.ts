import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { apiEnvSchema, loadConfigOrExit, type ApiConfig } from '@fundus/config';
import { createLogger, exitCleanlyOnSignals } from '@fundus/platform';
import { AppModule } from './app.module';

/** Builds the HTTP application (also used by tests, which listen on port 0). */
export async function createApi(config: ApiConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: createLogger('api', config),
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: config.API_BODY_LIMIT });
  return app;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(apiEnvSchema, 'fundus-api');
  const app = await createApi(config);
  await app.listen(config.API_PORT, config.API_HOST);
  const logger = createLogger('api', config);
  exitCleanlyOnSignals(app, logger);
  const address = app.getHttpServer().address() as { port: number } | null;
  logger.log(`listening on ${config.API_HOST}:${address?.port ?? config.API_PORT}`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`fundus-api failed to start: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
