import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** A preprocessed image: row-major values and their shape (e.g. `[224, 224, 3]`). */
export interface CachedTensor {
  data: Float32Array | Uint8Array;
  shape: number[];
}

/** Identifies a cache entry: the source object's ETag and a hash of the preprocessing parameters. */
export interface TensorCacheKey {
  etag: string;
  /** e.g. from `hashParams({ size: 224, crop: 'fov', normalise: 'imagenet' })`. */
  params: string;
}

export interface TensorCacheOptions {
  /** Folder of the cache; shared by every worker process on the machine. Created if missing. */
  dir: string;
  /** Size bound in bytes for the files of the cache (e.g. `CACHE_MAX_BYTES`). */
  maxBytes: number;
  /** After an eviction the cache holds at most this share of `maxBytes`. Default 0.9. */
  lowWater?: number;
  /** Rescan the folder after this many writes even below the bound (other processes write too). Default 256. */
  rescanEvery?: number;
  /** Clock in ms used for recency; injectable so tests can order accesses. Default `Date.now`. */
  now?: () => number;
}

export interface TensorCacheStats {
  hits: number;
  misses: number;
  writes: number;
  evicted: number;
  /** Corrupt or foreign files found and removed. */
  discarded: number;
}

const MAGIC = 0x31435446; // "FTC1" little-endian
const DTYPES = { float32: 1, uint8: 2 } as const;
const TMP = '.tmp';

/**
 * Stable hash of preprocessing parameters: JSON with sorted keys, SHA-256, 16 hex chars. Any change
 * of a parameter gives another cache entry.
 */
export function hashParams(params: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canon(params)))
    .digest('hex')
    .slice(0, 16);
}

/**
 * On-disk cache of preprocessed tensors for training and scoring workers, so that epoch 2 onwards
 * and later sweep trials neither download nor decode an image again.
 *
 * Safe with several processes on one folder: entries are written to a temporary file and renamed
 * into place (readers see a whole entry or none), a file evicted by another process is a plain miss,
 * and recency is the file's mtime, touched on every hit, so eviction is least-recently-used across
 * processes. The size bound is checked against a fresh scan of the folder whenever this process's
 * running estimate crosses it and every `rescanEvery` writes; it can be exceeded by what other
 * processes wrote since their last scan.
 */
export class TensorCache {
  readonly stats: TensorCacheStats = { hits: 0, misses: 0, writes: 0, evicted: 0, discarded: 0 };
  private approxBytes = 0;
  private writesSinceScan = 0;
  private lastTouch = 0;
  private readonly inflight = new Map<string, Promise<CachedTensor & { hit: boolean }>>();
  private evicting: Promise<void> | undefined;
  private evictQueued: Promise<void> | undefined;
  private readonly lowWater: number;
  private readonly rescanEvery: number;
  private readonly now: () => number;

  private constructor(private readonly options: TensorCacheOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError(`maxBytes must be > 0, got ${options.maxBytes}`);
    this.lowWater = options.lowWater ?? 0.9;
    this.rescanEvery = options.rescanEvery ?? 256;
    this.now = options.now ?? Date.now;
  }

  /** Opens (creating) the cache folder and measures its current size. */
  static async open(options: TensorCacheOptions): Promise<TensorCache> {
    const cache = new TensorCache(options);
    await fs.mkdir(path.join(options.dir, TMP), { recursive: true });
    cache.approxBytes = (await cache.scan()).reduce((s, f) => s + f.size, 0);
    return cache;
  }

  /** Current bytes on disk, from a scan of the folder. */
  async sizeOnDisk(): Promise<number> {
    return (await this.scan()).reduce((s, f) => s + f.size, 0);
  }

  /** The cached tensor, or undefined (absent, evicted meanwhile, or corrupt). Counts a hit or miss. */
  async get(key: TensorCacheKey): Promise<CachedTensor | undefined> {
    const file = this.fileFor(key);
    let buf: Buffer;
    try {
      buf = await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.stats.misses += 1;
        return undefined;
      }
      throw err;
    }
    const tensor = decode(buf);
    if (!tensor) {
      this.stats.discarded += 1;
      this.stats.misses += 1;
      await fs.rm(file, { force: true });
      return undefined;
    }
    this.stats.hits += 1;
    await this.touch(file);
    return tensor;
  }

  /** Stores a tensor (replacing any entry of the same key), then evicts if over the bound. */
  async put(key: TensorCacheKey, tensor: CachedTensor): Promise<void> {
    const bytes = encode(tensor);
    const file = this.fileFor(key);
    const tmp = path.join(this.options.dir, TMP, `${randomBytes(8).toString('hex')}.part`);
    try {
      await fs.writeFile(tmp, bytes);
      const t = this.tick() / 1000;
      await fs.utimes(tmp, t, t);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    this.stats.writes += 1;
    this.approxBytes += bytes.length;
    this.writesSinceScan += 1;
    if (this.approxBytes > this.options.maxBytes || this.writesSinceScan >= this.rescanEvery)
      await this.evict();
  }

  /**
   * The cached tensor for `key`, or `compute()`'s result, stored for next time. Concurrent calls
   * for one key in this process share one computation. `hit` says whether it came from the cache.
   */
  getOrCompute(
    key: TensorCacheKey,
    compute: () => Promise<CachedTensor>,
  ): Promise<CachedTensor & { hit: boolean }> {
    const id = this.idFor(key);
    const running = this.inflight.get(id);
    if (running) return running;
    const p = (async () => {
      const cached = await this.get(key);
      if (cached) return { ...cached, hit: true };
      const fresh = await compute();
      await this.put(key, fresh);
      return { ...fresh, hit: false };
    })().finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }

  /** Evicts least-recently-used entries until the folder is under `lowWater * maxBytes`. */
  evict(): Promise<void> {
    if (this.evicting) {
      // One running, at most one queued: the queued one scans after every write that asked for it.
      this.evictQueued ??= this.evicting.then(() => {
        this.evictQueued = undefined;
        return this.evict();
      });
      return this.evictQueued;
    }
    this.evicting = this.evictNow().finally(() => (this.evicting = undefined));
    return this.evicting;
  }

  private async evictNow(): Promise<void> {
    const files = await this.scan();
    let total = files.reduce((s, f) => s + f.size, 0);
    this.writesSinceScan = 0;
    if (total > this.options.maxBytes) {
      const target = this.options.maxBytes * this.lowWater;
      files.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : 1));
      for (const f of files) {
        if (total <= target) break;
        await fs.rm(f.path, { force: true }); // another process may have removed it already
        total -= f.size;
        this.stats.evicted += 1;
      }
    }
    this.approxBytes = total;
  }

  private async scan(): Promise<Array<{ path: string; size: number; mtimeMs: number }>> {
    const out: Array<{ path: string; size: number; mtimeMs: number }> = [];
    const dirs = await fs.readdir(this.options.dir, { withFileTypes: true });
    for (const d of dirs) {
      if (!d.isDirectory()) continue;
      const sub = path.join(this.options.dir, d.name);
      const names = await fs.readdir(sub).catch(() => [] as string[]);
      for (const name of names) {
        const p = path.join(sub, name);
        try {
          const st = await fs.stat(p);
          if (d.name === TMP) {
            // Leftovers of a crashed writer; live writes finish in well under an hour.
            if (this.now() - st.mtimeMs > 3_600_000) await fs.rm(p, { force: true });
            continue;
          }
          out.push({ path: p, size: st.size, mtimeMs: st.mtimeMs });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // evicted meanwhile
        }
      }
    }
    return out;
  }

  private async touch(file: string): Promise<void> {
    const t = this.tick() / 1000;
    await fs.utimes(file, t, t).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Strictly increasing within this process, so accesses in one millisecond keep their order. */
  private tick(): number {
    this.lastTouch = Math.max(this.now(), this.lastTouch + 1);
    return this.lastTouch;
  }

  private idFor(key: TensorCacheKey): string {
    return createHash('sha256').update(`${key.etag}\n${key.params}`).digest('hex');
  }

  private fileFor(key: TensorCacheKey): string {
    const id = this.idFor(key);
    return path.join(this.options.dir, id.slice(0, 2), `${id}.t`);
  }
}

/** Header: magic u32, dtype u8, ndim u8, 2 spare bytes, ndim × u32 dims, padded to 4 bytes; then data. */
function encode(t: CachedTensor): Buffer {
  const dtype =
    t.data instanceof Float32Array ? DTYPES.float32 : t.data instanceof Uint8Array ? DTYPES.uint8 : 0;
  if (!dtype) throw new TypeError('TensorCache stores Float32Array or Uint8Array data only');
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length)
    throw new RangeError(`shape [${t.shape.join(', ')}] has ${n} values, data has ${t.data.length}`);
  const headerLen = 8 + 4 * t.shape.length;
  const header = Buffer.alloc(headerLen);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt8(dtype, 4);
  header.writeUInt8(t.shape.length, 5);
  t.shape.forEach((d, i) => header.writeUInt32LE(d, 8 + 4 * i));
  return Buffer.concat([header, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
}

function decode(buf: Buffer): CachedTensor | undefined {
  if (buf.length < 8 || buf.readUInt32LE(0) !== MAGIC) return undefined;
  const dtype = buf.readUInt8(4);
  const ndim = buf.readUInt8(5);
  const headerLen = 8 + 4 * ndim;
  if (buf.length < headerLen) return undefined;
  const shape = Array.from({ length: ndim }, (_, i) => buf.readUInt32LE(8 + 4 * i));
  const n = shape.reduce((a, b) => a * b, 1);
  const bytesPer = dtype === DTYPES.float32 ? 4 : dtype === DTYPES.uint8 ? 1 : 0;
  if (!bytesPer || buf.length !== headerLen + n * bytesPer) return undefined;
  const offset = buf.byteOffset + headerLen;
  if (dtype === DTYPES.uint8) return { data: new Uint8Array(buf.buffer, offset, n), shape };
  if (offset % 4 === 0) return { data: new Float32Array(buf.buffer, offset, n), shape };
  const copy = new Uint8Array(n * 4); // misaligned (pooled buffer): copy once
  copy.set(buf.subarray(headerLen));
  return { data: new Float32Array(copy.buffer), shape };
}
