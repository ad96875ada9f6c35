import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from './errors';

/** Longest key S3 accepts, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** First path segment reserved by the local backend for its temporary files and metadata. */
export const RESERVED_PREFIX = '.fundus-';

/**
 * Checks an object key relative to a store's root and returns it unchanged. Rejects, with a
 * StorageError `invalid-key` that says why: empty keys, absolute paths (`/x`, `C:\x`), backslashes,
 * `.`/`..`/empty segments, control characters, keys over 1,024 UTF-8 bytes and the reserved
 * `.fundus-*` top-level names.
 */
export function validateKey(key: string): string {
  const why = keyProblem(key, false);
  if (why) throw new StorageError('invalid-key', `invalid object key ${JSON.stringify(key)}: ${why}`);
  return key;
}

/**
 * Like {@link validateKey} for a listing prefix: the empty prefix (everything) and a trailing `/`
 * are allowed.
 */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const why = keyProblem(prefix, true);
  if (why) throw new StorageError('invalid-key', `invalid prefix ${JSON.stringify(prefix)}: ${why}`);
  return prefix;
}

function keyProblem(key: string, isPrefix: boolean): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'it is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'it contains a control character';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it is absolute (starts with "/")';
  if (/^[a-zA-Z]:/.test(key)) return 'it is absolute (starts with a drive letter)';
  const segments = key.split('/');
  if (isPrefix && segments[segments.length - 1] === '') segments.pop();
  for (const seg of segments) {
    if (seg === '..') return 'it contains a ".." segment (path traversal)';
    if (seg === '.') return 'it contains a "." segment';
    if (seg === '') return 'it contains an empty segment ("//" or a trailing "/")';
  }
  if (segments[0]?.startsWith(RESERVED_PREFIX))
    return `names starting with "${RESERVED_PREFIX}" are reserved`;
  return undefined;
}

/** Joins key parts with `/`, dropping empty parts and duplicate slashes at the joins. */
export function joinKey(...parts: string[]): string {
  return parts
    .filter((p) => p !== '')
    .map((p, i, all) => {
      let s = p;
      if (i > 0) s = s.replace(/^\/+/, '');
      if (i < all.length - 1) s = s.replace(/\/+$/, '');
      return s;
    })
    .filter((p) => p !== '')
    .join('/');
}

/** A parsed storage URI. `prefix` (S3) is '' or ends with '/'. */
export type StorageLocation =
  { scheme: 's3'; bucket: string; prefix: string } | { scheme: 'file'; path: string };

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://bucket[/prefix]` or `file://path` (`file:///abs`, `file://./relative`,
 * `file://relative`; relative paths resolve against `cwd`). The S3 prefix is validated like a key and
 * normalised to end with `/`. Throws StorageError `invalid-uri` saying why.
 */
export function parseStorageUri(uri: string, cwd = process.cwd()): StorageLocation {
  if (typeof uri !== 'string' || uri === '') throw new StorageError('invalid-uri', 'storage URI is empty');
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(uri);
  if (!m)
    throw new StorageError(
      'invalid-uri',
      `storage URI ${JSON.stringify(uri)} must look like s3://bucket/prefix or file://path`,
    );
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  if (scheme === 's3') {
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (!BUCKET_RE.test(bucket) || bucket.includes('..')) {
      throw new StorageError(
        'invalid-uri',
        `storage URI ${JSON.stringify(uri)}: bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name (3-63 of a-z, 0-9, ".", "-")`,
      );
    }
    if (prefix === '') return { scheme: 's3', bucket, prefix: '' };
    try {
      validatePrefix(prefix);
    } catch (err) {
      throw new StorageError('invalid-uri', `storage URI ${JSON.stringify(uri)}: ${(err as Error).message}`);
    }
    return { scheme: 's3', bucket, prefix: prefix.endsWith('/') ? prefix : `${prefix}/` };
  }
  if (scheme === 'file') {
    let p: string;
    if (rest.startsWith('/')) {
      try {
        p = fileURLToPath(uri);
      } catch (err) {
        throw new StorageError(
          'invalid-uri',
          `storage URI ${JSON.stringify(uri)}: ${(err as Error).message}`,
        );
      }
    } else {
      if (rest === '')
        throw new StorageError('invalid-uri', `storage URI ${JSON.stringify(uri)} has no path`);
      let decoded: string;
      try {
        decoded = decodeURIComponent(rest);
      } catch {
        throw new StorageError(
          'invalid-uri',
          `storage URI ${JSON.stringify(uri)}: malformed percent-encoding`,
        );
      }
      p = path.resolve(cwd, decoded);
    }
    return { scheme: 'file', path: path.resolve(p) };
  }
  throw new StorageError(
    'invalid-uri',
    `storage URI ${JSON.stringify(uri)}: scheme "${scheme}" is not supported (use s3:// or file://)`,
  );
}
