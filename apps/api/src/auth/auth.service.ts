import { Inject, Injectable, Logger, UnauthorizedException, type OnModuleInit } from '@nestjs/common';
import { ApiKeysRepository, type PrismaClient } from '@fundus/db';
import type { ApiConfig } from '@fundus/config';
import { CONFIG, PRISMA } from '@fundus/platform';
import type { Principal } from './roles';

/** Resolves bearer keys to principals; creates the bootstrap admin key at start-up. */
@Injectable()
export class AuthService implements OnModuleInit {
  private readonly logger = new Logger(AuthService.name);
  readonly keys: ApiKeysRepository;

  constructor(
    @Inject(PRISMA) prisma: PrismaClient,
    @Inject(CONFIG) private readonly config: ApiConfig,
  ) {
    this.keys = new ApiKeysRepository(prisma);
  }

  async onModuleInit(): Promise<void> {
    const secret = this.config.BOOTSTRAP_ADMIN_KEY;
    if (!secret) return;
    try {
      await this.keys.ensure({ name: 'bootstrap-admin', role: 'admin', secret });
    } catch (err) {
      // The database may be down at start-up; /ready reports that. Retried on first use.
      this.logger.warn(
        `could not store the bootstrap admin key yet: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }

  /**
   * The principal of an `Authorization: Bearer <key>` header.
   * @throws UnauthorizedException when the header is missing, malformed, unknown or revoked
   */
  async authenticate(header: string | undefined): Promise<Principal> {
    if (!header) throw new UnauthorizedException('missing API key: send "Authorization: Bearer <key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new UnauthorizedException('malformed Authorization header: expected "Bearer <key>"');
    let key = await this.keys.findActive(m[1]);
    if (!key && this.config.BOOTSTRAP_ADMIN_KEY && m[1] === this.config.BOOTSTRAP_ADMIN_KEY) {
      await this.keys.ensure({ name: 'bootstrap-admin', role: 'admin', secret: m[1] });
      key = await this.keys.findActive(m[1]);
    }
    if (!key) throw new UnauthorizedException('unknown or revoked API key');
    await this.keys.touch(key).catch(() => undefined);
    return { id: key.id, name: key.name, role: key.role };
  }
}
