import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { apiEnvSchema, loadConfigOrExit, type ApiConfig } from '@fundus/config';
import { JOB_QUEUES, createLogger, exitCleanlyOnSignals } from '@fundus/platform';
import type { JobQueues } from '@fundus/jobs';
import express, { type NextFunction, type Request, type Response } from 'express';
import { dirname } from 'node:path';
import { AppModule } from './app.module';
import { AuthService } from './auth/auth.service';
import { errorToBody } from './common/exception.filter';
import { MetricsService } from './observability/metrics.service';
import { queueBoard } from './observability/queue-board';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Builds the HTTP application (also used by tests, which listen on port 0). */
export async function createApi(config: ApiConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: createLogger('api', config),
    bodyParser: false,
  });
  const metrics = app.get(MetricsService);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const end = metrics.http.startTimer({ method: req.method });
    res.on('finish', () =>
      end({ route: (req.route?.path as string | undefined) ?? 'unmatched', status: String(res.statusCode) }),
    );
    next();
  });
  // JSON only, with errors answered as JSON 4xx (malformed, too large, wrong type) instead of HTML.
  const json = express.json({ limit: config.API_BODY_LIMIT, type: () => true });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const hasBody =
      Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (!BODY_METHODS.has(req.method) || !hasBody) return next();
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
      res.status(415).json({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: `send JSON with Content-Type: application/json (got ${type || 'none'})`,
        code: 'unsupported-media-type',
      });
      return;
    }
    json(req, res, (err?: unknown) => {
      if (!err) return next();
      const body = errorToBody(err);
      res.status(body.statusCode).json(body);
    });
  });
  app.use(
    '/docs/assets',
    express.static(dirname(require.resolve('swagger-ui-dist/package.json')), { index: false }),
  );
  const board = queueBoard(app.get<JobQueues>(JOB_QUEUES), app.get(AuthService));
  app.use(board.path, ...(board.handlers as never[]));
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
