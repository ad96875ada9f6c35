import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import type { ApiKey } from '@fundus/db';
import { AuthService } from '../auth/auth.service';
import { principalOf, Roles } from '../auth/roles';
import { AuditService } from '../common/audit.service';
import { parseId, parseInput } from '../common/validation';
import { createApiKeyBody } from './schemas';

const view = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt,
  lastUsedAt: k.lastUsedAt,
});

/** API keys (admins only). The secret is in the creation answer and nowhere else. */
@Controller('api-keys')
@Roles('admin')
export class ApiKeysController {
  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  @Post()
  async create(@Body() body: unknown, @Req() req: unknown) {
    const input = parseInput(createApiKeyBody, body, 'body');
    const { key, secret } = await this.auth.keys.create(input);
    await this.audit.record(principalOf(req), 'api-key.create', `api-key:${key.id}`, {
      name: key.name,
      role: key.role,
    });
    return { ...view(key), key: secret };
  }

  @Get()
  async list() {
    return { items: (await this.auth.keys.list()).map(view) };
  }

  @Delete(':id')
  @HttpCode(200)
  async revoke(@Param('id') id: string, @Req() req: unknown) {
    const key = await this.auth.keys.revoke(parseId(id));
    await this.audit.record(principalOf(req), 'api-key.revoke', `api-key:${key.id}`);
    return view(key);
  }
}
