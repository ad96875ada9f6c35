import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './errors';

/** What `fundus login` stores. */
export interface StoredLogin {
  apiUrl: string;
  apiKey: string;
}

/** Where the API is and which key to send; `source` says where each came from (for messages). */
export interface Credentials extends StoredLogin {
  source: 'env' | 'file' | 'mixed';
}

/** The config folder: $FUNDUS_CONFIG_DIR, else ~/.config/fundus. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FUNDUS_CONFIG_DIR || join(homedir(), '.config', 'fundus');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

/** The stored login, or null when there is none. A damaged file is an error that says how to fix it. */
export function readLogin(env: NodeJS.ProcessEnv = process.env): Partial<StoredLogin> | null {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError('config', `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as Partial<StoredLogin>;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    throw new CliError('config', `${path} is not valid JSON: run \`fundus login --url … --key …\` again`);
  }
}

/** Stores the login readable by its owner only (file 0600, folder 0700): it holds a secret. */
export function writeLogin(login: StoredLogin, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = configPath(env);
  writeFileSync(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // mode applies at creation only; an older file keeps its bits otherwise
  return path;
}

/** Removes the stored login; true when there was one. */
export function removeLogin(env: NodeJS.ProcessEnv = process.env): boolean {
  const path = configPath(env);
  const existed = readLogin(env) !== null;
  rmSync(path, { force: true });
  return existed;
}

/**
 * The API URL and key: FUNDUS_API_URL / FUNDUS_API_KEY override the stored login. Throws
 * `not-logged-in` (exit 3) naming the command to run when either is missing.
 */
export function resolveCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  const stored = readLogin(env) ?? {};
  const apiUrl = env.FUNDUS_API_URL || stored.apiUrl;
  const apiKey = env.FUNDUS_API_KEY || stored.apiKey;
  if (!apiUrl || !apiKey) {
    throw new CliError(
      'not-logged-in',
      'not logged in: run `fundus login --url http://localhost:3000 --key fk_…` ' +
        '(or set FUNDUS_API_URL and FUNDUS_API_KEY)',
    );
  }
  const fromEnv = [Boolean(env.FUNDUS_API_URL), Boolean(env.FUNDUS_API_KEY)];
  const source = fromEnv.every(Boolean) ? 'env' : fromEnv.some(Boolean) ? 'mixed' : 'file';
  return { apiUrl: normaliseUrl(apiUrl), apiKey, source };
}

/** Validates an API base URL and drops a trailing slash. */
export function normaliseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError('usage', `"${url}" is not a URL: give the API's base URL, e.g. http://localhost:3000`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliError('usage', `"${url}" must start with http:// or https://`);
  return url.replace(/\/+$/, '');
}
