import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from './client';
import { DbError } from './errors';
import type { ApiKey, Role } from './generated/client';

export type { ApiKey };

/** sha256 (hex) of an API key secret: what the database stores instead of the secret. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new random secret: `fk_` + 43 base64url characters (256 bits). */
export function newApiKeySecret(): string {
  return `fk_${randomBytes(32).toString('base64url')}`;
}

/** API keys: stored as sha256 hashes; the secret is returned once, by `create`. */
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Stores a new key; returns the row and the secret (shown to the caller once, never stored). */
  async create(input: {
    name: string;
    role: Role;
    secret?: string;
  }): Promise<{ key: ApiKey; secret: string }> {
    const secret = input.secret ?? newApiKeySecret();
    const key = await this.prisma.apiKey.create({
      data: { name: input.name, role: input.role, hash: hashApiKey(secret), prefix: secret.slice(0, 8) },
    });
    return { key, secret };
  }

  /**
   * Makes sure a key with this secret exists with `role` (the admin bootstrap key from the
   * environment): created when absent, left as it is (including revoked) when present.
   */
  async ensure(input: { name: string; role: Role; secret: string }): Promise<ApiKey> {
    const hash = hashApiKey(input.secret);
    return this.prisma.apiKey.upsert({
      where: { hash },
      create: { name: input.name, role: input.role, hash, prefix: input.secret.slice(0, 8) },
      update: {},
    });
  }

  /** The unrevoked key whose secret is `secret`, or null. */
  async findActive(secret: string): Promise<ApiKey | null> {
    const key = await this.prisma.apiKey.findUnique({ where: { hash: hashApiKey(secret) } });
    return key && !key.revokedAt ? key : null;
  }

  /** Records use; at most one write per key per minute (keeps hot paths cheap). */
  async touch(key: ApiKey, now = new Date()): Promise<void> {
    if (key.lastUsedAt && now.getTime() - key.lastUsedAt.getTime() < 60_000) return;
    await this.prisma.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
  }

  list(): Promise<ApiKey[]> {
    return this.prisma.apiKey.findMany({ orderBy: { createdAt: 'desc' } });
  }

  /** Revokes a key (idempotent). @throws DbError `not-found` */
  async revoke(id: string): Promise<ApiKey> {
    const key = await this.prisma.apiKey.findUnique({ where: { id } });
    if (!key) throw new DbError('not-found', `api key ${id} does not exist`);
    if (key.revokedAt) return key;
    return this.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
  }
}
