/**
 * The API's probe routes, read from the Nest route metadata of its HealthController, so that the
 * deployment files are checked against the code rather than against copies of its strings.
 */
import 'reflect-metadata';
import { PATH_METADATA } from '@nestjs/common/constants';
import { HealthController } from '../../../apps/api/src/health/health.controller';

function routeOf(controller: object, handler: object): string {
  const join = (...parts: Array<string | undefined>) =>
    `/${parts
      .filter(Boolean)
      .map((p) => p!.replace(/^\/+|\/+$/g, ''))
      .filter(Boolean)
      .join('/')}`;
  return join(
    Reflect.getMetadata(PATH_METADATA, controller) as string | undefined,
    Reflect.getMetadata(PATH_METADATA, handler) as string,
  );
}

/** Liveness: `GET /health` today. */
export const LIVENESS_PATH = routeOf(HealthController, HealthController.prototype.health);
/** Readiness (200 or 503): `GET /ready` today. */
export const READINESS_PATH = routeOf(HealthController, HealthController.prototype.ready);
