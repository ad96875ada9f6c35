import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { StorageError } from './errors';
import { RESERVED_PREFIX, parseStorageUri, validateKey, validatePrefix } from './keys';
import type { ListOptions, ObjectInfo, ObjectStore, PutBody, PutOptions, PutResult } from './object-store';

const META_DIR = `${RESERVED_PREFIX}meta`;
const TMP_DIR = `${RESERVED_PREFIX}tmp`;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

interface Sidecar {
  etag: string;
  size: number;
  mtimeMs: number;
  contentType: string;
}

/**
 * Object store over a local folder. Writes go to `<root>/.fundus-tmp/` and are renamed into place
 * (atomic on one filesystem), so readers never see a partial object. ETags are S3-like
 * (`"<md5 hex>"`), kept in a sidecar under `<root>/.fundus-meta/` and recomputed when a file was
 * changed behind the store's back (size or mtime differ), so files copied into the folder by hand
 * work too. Symbolic links are not followed when listing.
 */
export class LocalObjectStore implements ObjectStore {
  readonly rootUri: string;
  private readonly root: string;

  /** `root` is an absolute or cwd-relative directory; it is created on first write. */
  constructor(root: string) {
    this.root = path.resolve(root);
    this.rootUri = pathToFileURL(this.root).href;
  }

  async getBuffer(key: string): Promise<Buffer> {
    const file = this.pathFor(key);
    try {
      return await fs.readFile(file);
    } catch (err) {
      throw this.mapError(err, 'get', key);
    }
  }

  async getStream(key: string): Promise<Readable> {
    const file = this.pathFor(key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
      const st = await handle.stat();
      if (!st.isFile()) {
        await handle.close();
        throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      }
    } catch (err) {
      throw this.mapError(err, 'get', key);
    }
    return handle.createReadStream();
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<PutResult> {
    const file = this.pathFor(key);
    const tmpDir = path.join(this.root, TMP_DIR);
    const tmp = path.join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
    const md5 = createHash('md5');
    try {
      await fs.mkdir(tmpDir, { recursive: true });
      if (body instanceof Readable) {
        const hasher = new Transform({
          transform(chunk: Buffer, _enc, done) {
            md5.update(chunk);
            done(null, chunk);
          },
        });
        await pipeline(body, hasher, createWriteStream(tmp, { flags: 'wx' }));
      } else {
        const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        md5.update(bytes);
        await fs.writeFile(tmp, bytes, { flag: 'wx' });
      }
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw this.mapError(err, 'put', key);
    }
    const etag = `"${md5.digest('hex')}"`;
    const st = await fs.stat(file);
    await this.writeSidecar(key, {
      etag,
      size: st.size,
      mtimeMs: st.mtimeMs,
      contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
    });
    return { key, etag };
  }

  async head(key: string): Promise<ObjectInfo> {
    const file = this.pathFor(key);
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      return await this.info(key, file, st);
    } catch (err) {
      throw this.mapError(err, 'head', key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await this.head(key);
    } catch (err) {
      if (err instanceof StorageError && err.code === 'not-found') return undefined;
      throw err;
    }
  }

  async *list(prefix: string, _options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const startKey = slash < 0 ? '' : prefix.slice(0, slash + 1);
    yield* this.walk(startKey, prefix);
  }

  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await fs.rm(file, { force: true });
      await fs.rm(this.sidecarPath(key), { force: true });
    } catch (err) {
      throw this.mapError(err, 'delete', key);
    }
  }

  uriFor(key: string): string {
    return pathToFileURL(this.pathFor(key)).href;
  }

  keyFromUri(uri: string): string {
    const loc = parseStorageUri(uri);
    if (loc.scheme !== 'file') throw new StorageError('outside-root', `${uri} is not inside ${this.rootUri}`);
    const rel = path.relative(this.root, loc.path);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new StorageError('outside-root', `${uri} is not inside ${this.rootUri}`);
    }
    return validateKey(rel.split(path.sep).join('/'));
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /** Absolute path of `key`, after validation; never outside the root. */
  private pathFor(key: string): string {
    validateKey(key);
    const file = path.resolve(this.root, ...key.split('/'));
    const base = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    if (!file.startsWith(base)) {
      throw new StorageError(
        'invalid-key',
        `invalid object key ${JSON.stringify(key)}: it resolves outside the store root`,
      );
    }
    return file;
  }

  private sidecarPath(key: string): string {
    return path.join(this.root, META_DIR, ...key.split('/')) + '.json';
  }

  private async writeSidecar(key: string, meta: Sidecar): Promise<void> {
    const target = this.sidecarPath(key);
    const tmp = path.join(this.root, TMP_DIR, `${randomBytes(12).toString('hex')}.meta`);
    try {
      await fs.writeFile(tmp, JSON.stringify(meta));
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw this.mapError(err, 'put', key);
    }
  }

  private async info(key: string, file: string, st: { size: number; mtimeMs: number }): Promise<ObjectInfo> {
    let meta: Sidecar | undefined;
    try {
      meta = JSON.parse(await fs.readFile(this.sidecarPath(key), 'utf8')) as Sidecar;
    } catch {
      meta = undefined;
    }
    if (!meta || meta.size !== st.size || meta.mtimeMs !== st.mtimeMs) {
      // Written behind our back (or the sidecar is missing): hash the content once and remember it.
      const md5 = createHash('md5');
      await pipeline(createReadStream(file), md5);
      meta = {
        etag: `"${md5.digest('hex')}"`,
        size: st.size,
        mtimeMs: st.mtimeMs,
        contentType: meta?.contentType ?? DEFAULT_CONTENT_TYPE,
      };
      await fs.mkdir(path.join(this.root, TMP_DIR), { recursive: true });
      await this.writeSidecar(key, meta).catch(() => undefined);
    }
    return {
      key,
      etag: meta.etag,
      size: st.size,
      lastModified: new Date(st.mtimeMs),
      contentType: meta.contentType,
    };
  }

  private async *walk(dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const dir = dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/').filter(Boolean));
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.mapError(err, 'list', prefix);
    }
    // S3 lists in UTF-8 byte order of the full key; a directory sorts as its name plus "/".
    const sorted = entries
      .filter(
        (e) => (e.isFile() || e.isDirectory()) && !(dirKey === '' && e.name.startsWith(RESERVED_PREFIX)),
      )
      .map((e) => ({ e, sortKey: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name, 'utf8') }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    for (const { e } of sorted) {
      const key = dirKey + e.name;
      if (e.isDirectory()) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(sub, prefix);
      } else if (key.startsWith(prefix)) {
        const file = path.join(dir, e.name);
        let st;
        try {
          st = await fs.stat(file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted while listing
          throw this.mapError(err, 'list', prefix);
        }
        yield await this.info(key, file, st);
      }
    }
  }

  private mapError(err: unknown, op: string, key: string): Error {
    if (err instanceof StorageError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${op} ${JSON.stringify(key)} in ${this.rootUri}`;
    if (op === 'put' && code === 'EISDIR') {
      return new StorageError(
        'invalid-key',
        `${where}: the key collides with an existing key used as a folder`,
        { cause: err },
      );
    }
    if (code === 'ENOENT' || code === 'EISDIR')
      return new StorageError('not-found', `${where}: no such object`, { cause: err });
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      return new StorageError(
        'invalid-key',
        `${where}: the key collides with an existing key used as a folder (or vice versa)`,
        { cause: err },
      );
    }
    if (code === 'EACCES' || code === 'EPERM')
      return new StorageError('access-denied', `${where}: permission denied`, { cause: err });
    const retryable = code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EBUSY';
    return new StorageError('io', `${where}: ${(err as Error).message}`, { cause: err, retryable });
  }
}
