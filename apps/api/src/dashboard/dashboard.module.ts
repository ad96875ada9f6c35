import { Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * First path segments that belong to the API (and its docs, probes, metrics and queue board): the
 * dashboard never answers them, so it cannot shadow a route.
 */
export const API_PREFIXES = [
  'runs',
  'sweeps',
  'models',
  'scoring-jobs',
  'predictions',
  'datasets',
  'api-keys',
  'audit-events',
  'schedule',
  'docs',
  'health',
  'ready',
  'metrics',
  'admin',
];

/**
 * Where the built dashboard lives: DASHBOARD_DIR, else apps/dashboard/dist next to the sources
 * (ts-node/tsx) or above the compiled output (dist/apps/api/src/dashboard), else the working
 * directory's apps/dashboard/dist. Null when none has an index.html.
 */
export function dashboardDir(): string | null {
  const candidates = [
    process.env.DASHBOARD_DIR,
    resolve(__dirname, '../../../dashboard/dist'),
    resolve(__dirname, '../../../../../apps/dashboard/dist'),
    resolve(process.cwd(), 'apps/dashboard/dist'),
  ].filter((d): d is string => !!d);
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? null;
}

/**
 * Express middleware serving the dashboard's static files, and index.html for other GETs that
 * ask for HTML (single-page app fallback); API paths always pass through to their routes.
 */
export function dashboardMiddleware(dir: string) {
  const files = express.static(dir, { index: 'index.html', fallthrough: true });
  const index = join(dir, 'index.html');
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const first = req.path.split('/')[1] ?? '';
    if (API_PREFIXES.includes(first)) return next();
    files(req, res, () => {
      if (req.path.startsWith('/assets/') || !(req.headers.accept ?? '').includes('text/html')) return next();
      res.sendFile(index);
    });
  };
}

/** Serves apps/dashboard/dist at `/` when it has been built (`npm run build:dashboard`). */
@Module({})
export class DashboardModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    const dir = dashboardDir();
    if (!dir) return;
    consumer.apply(dashboardMiddleware(dir)).forRoutes({ path: '{*path}', method: RequestMethod.GET });
  }
}
