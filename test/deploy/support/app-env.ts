/**
 * What the apps read from their environment, derived from the zod schemas in libs/config, and the
 * few variables that other software in the images reads.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { apiEnvSchema, workerEnvSchema } from '@fundus/config';

export type AppName = 'api' | 'gpu-worker' | 'migrate';

// The migration image runs only `prisma migrate deploy`, which reads DATABASE_URL (prisma.config.ts).
const migrateKeys = ['DATABASE_URL'];

/**
 * Variables that are not the app's own settings but are read by a library or the platform:
 * the AWS SDK's default credential chain, the Vulkan loader and the NVIDIA container toolkit.
 */
export const FOREIGN_VARIABLES: Record<AppName, readonly string[]> = {
  api: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  'gpu-worker': [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'VK_DRIVER_FILES',
    'NVIDIA_VISIBLE_DEVICES',
    'NVIDIA_DRIVER_CAPABILITIES',
  ],
  migrate: [],
};

/** The zod schema an app validates its environment with (none for the migration image). */
export function schemaOf(app: AppName): z.ZodObject | undefined {
  if (app === 'api') return apiEnvSchema;
  if (app === 'gpu-worker') return workerEnvSchema;
  return undefined;
}

/** Every variable the app itself reads. */
export function knownVariables(app: AppName): string[] {
  const schema = schemaOf(app);
  return schema ? Object.keys(schema.shape) : migrateKeys;
}

/** Variables without a default: the process refuses to start without them. */
export function requiredVariables(app: AppName): string[] {
  const schema = schemaOf(app);
  if (!schema) return migrateKeys;
  return Object.entries(schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([key]) => key);
}

/** Variables set for `app` that it does not read (typos, or set on the wrong process). */
export function unknownVariables(app: AppName, names: Iterable<string>): string[] {
  const allowed = new Set([...knownVariables(app), ...FOREIGN_VARIABLES[app]]);
  return [...new Set(names)].filter((n) => !allowed.has(n)).sort();
}

/** Parses a KEY=VALUE file as docker compose and `kubectl create secret --from-env-file` read it. */
export function parseEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${path}: not KEY=VALUE: ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
