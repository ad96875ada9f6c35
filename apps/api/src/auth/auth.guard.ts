import {
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ApiConfig } from '@fundus/config';
import type { Role } from '@fundus/db';
import { CONFIG } from '@fundus/platform';
import type { Request, Response } from 'express';
import { HealthController } from '../health/health.controller';
import { AuthService } from './auth.service';
import { RateLimiter } from './rate-limiter';
import { PUBLIC_KEY, ROLES_KEY } from './roles';

const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every route needs a valid key (health and readiness excepted); `@Roles` narrows who may call it.
 * Mutations are rate limited per key (429 with Retry-After).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly limiter: RateLimiter;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(CONFIG) config: ApiConfig,
  ) {
    this.limiter = new RateLimiter(config.RATE_LIMIT_PER_MINUTE);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getClass() === HealthController) return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const principal = await this.auth.authenticate(req.headers.authorization);
    (req as Request & { principal?: unknown }).principal = principal;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(principal.role)) {
      throw new ForbiddenException(
        `role "${principal.role}" may not ${req.method} ${req.route?.path ?? req.path}; needs ${roles.join(' or ')}`,
      );
    }
    if (MUTATIONS.has(req.method)) {
      const wait = this.limiter.hit(principal.id);
      if (wait > 0) {
        context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(wait));
        throw new HttpException(
          `rate limit exceeded: at most ${this.limiter.limitPerMinute} changes per minute per key`,
          HttpStatus.TOO_MANY_REQUESTS,
        );
      }
    }
    return true;
  }
}
