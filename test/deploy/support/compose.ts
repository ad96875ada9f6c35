/**
 * docker compose's own reading of a compose file, as far as the tests need it: YAML with merge keys,
 * then variable interpolation (`${X:-default}`, `${X}`, `$X`, `$$` for a literal `$`).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Json } from './kustomize';

export class InterpolationError extends Error {
  readonly code = 'compose-interpolation';
  constructor(message: string) {
    super(message);
    this.name = 'InterpolationError';
  }
}

/** A variable interpolated from the shell or `.env`, and its default when it has one. */
export interface Interpolated {
  name: string;
  fallback?: string;
}

const TOKEN =
  /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$\{[^}]*\}?/g;

/** Interpolates one string with `env`; records every variable it reads in `seen`. */
export function interpolate(text: string, env: Record<string, string>, seen: Interpolated[]): string {
  return text.replace(TOKEN, (match: string, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = braced ?? bare;
    if (!name) throw new InterpolationError(`invalid interpolation: ${match}`);
    const value = env[name];
    const set = value !== undefined && (value !== '' || op === '-' || op === '+' || op === '?');
    if (op === ':-' || op === '-') {
      seen.push({ name, fallback: arg });
      return set ? value : (arg ?? '');
    }
    if (op === ':+' || op === '+') {
      seen.push({ name, fallback: '' });
      return set ? (arg ?? '') : '';
    }
    seen.push({ name });
    if (op === ':?' || op === '?') {
      if (!set) throw new InterpolationError(`${name}: ${arg || 'required'}`);
    }
    return value ?? '';
  });
}

function walk(node: Json, fn: (s: string) => string): Json {
  if (typeof node === 'string') return fn(node);
  if (Array.isArray(node)) return node.map((x) => walk(x, fn));
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, fn)]));
  return node;
}

/** Reads a compose file as compose does with the environment `env` (default: none set). */
export function readCompose(
  path: string,
  env: Record<string, string> = {},
): { model: Json; variables: Interpolated[] } {
  const raw = parse(readFileSync(path, 'utf8'), { merge: true }) as Json;
  const variables: Interpolated[] = [];
  return { model: walk(raw, (s) => interpolate(s, env, variables)), variables };
}
