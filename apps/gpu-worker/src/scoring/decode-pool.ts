import { extname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { isImagingError, preprocess } from '@fundus/imaging';

/** What preparing one image gave: a tensor to infer, an ungradable verdict, or unreadable bytes. */
export type DecodeResult =
  | { kind: 'tensor'; data: Float32Array }
  | { kind: 'ungradable'; reasons: string[] }
  | { kind: 'imaging-error'; code: string; message: string };

interface Slot {
  worker: Worker;
  busy: number;
}

interface Pending {
  resolve: (r: DecodeResult) => void;
  reject: (e: Error) => void;
  slot: Slot;
}

/**
 * Starts the worker-thread entry `name` beside this file, with this file's extension: .ts under tsx
 * or jest, .js once built. Loader hooks given with --import do not reach worker threads, so a .ts
 * entry registers tsx itself.
 */
export function spawnThread(name: string): Worker {
  const entry = resolve(__dirname, `${name}${extname(__filename)}`);
  return extname(entry) === '.ts'
    ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true })
    : new Worker(entry);
}

/**
 * Decode, crop, resize, normalise and quality-gate images on `threads` worker threads
 * (decode-thread.ts), least busy thread first, so preparing images uses several cores while the
 * inference thread runs. With `threads` = 0 the work runs in this thread (sharp on libuv's pool,
 * the FOV crop and quality gate on the event loop), as before the pool existed. A thread that dies
 * fails its pending images (retryable: the chunk throws) and is replaced on the next call.
 */
export class DecodePool {
  private readonly slots: Array<Slot | undefined>;
  private readonly pending = new Map<number, Pending>();
  private next = 1;

  constructor(private size: number) {
    checkThreads(size);
    this.slots = new Array<Slot | undefined>(size).fill(undefined);
  }

  /** Number of decode threads (0: decoding in this thread). */
  get threads(): number {
    return this.size;
  }

  /**
   * Raises the number of threads to `n` (started as needed), e.g. once inference turns out to run on
   * a GPU and the cores are free for decoding. Never shrinks, and a pool of 0 stays 0.
   */
  grow(n: number): void {
    checkThreads(n);
    if (this.size === 0 || n <= this.size) return;
    for (let i = this.size; i < n; i++) this.slots.push(undefined);
    this.size = n;
  }

  /**
   * Prepares one image at `size` px. `buf` is copied into the thread (the caller keeps it, e.g. to
   * hash it). Rejects only for failures that are not about the image (a dead thread, a bug).
   */
  async prepare(buf: Buffer, size: number): Promise<DecodeResult> {
    if (this.size === 0) return prepareHere(buf, size);
    const slot = this.pick();
    const req = this.next++;
    const copy = new Uint8Array(buf.byteLength);
    copy.set(buf);
    if (slot.busy++ === 0) slot.worker.ref();
    return new Promise<DecodeResult>((resolve, reject) => {
      this.pending.set(req, { resolve, reject, slot });
      slot.worker.postMessage({ req, buf: copy, size }, [copy.buffer]);
    });
  }

  /** Stops the threads (process shutdown, tests); pending images fail. */
  async close(): Promise<void> {
    const workers = this.slots.filter((s): s is Slot => s !== undefined).map((s) => s.worker);
    this.slots.fill(undefined);
    for (const [, p] of this.pending) p.reject(new Error('decode pool closed'));
    this.pending.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private pick(): Slot {
    let best: Slot | undefined;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i] ?? (this.slots[i] = this.spawn(i));
      if (!best || s.busy < best.busy) best = s;
      if (best.busy === 0) break;
    }
    return best!;
  }

  private spawn(index: number): Slot {
    const worker = spawnThread('decode-thread');
    const slot: Slot = { worker, busy: 0 };
    worker.on(
      'message',
      (m: { req: number; ok: boolean; result?: DecodeResult; error?: { message: string } }) => {
        const p = this.pending.get(m.req);
        if (!p) return;
        this.pending.delete(m.req);
        if (--slot.busy === 0) worker.unref();
        if (m.ok) p.resolve(m.result!);
        else p.reject(new Error(`decode thread: ${m.error?.message ?? 'failed'}`));
      },
    );
    const fail = (why: string) => {
      if (this.slots[index] !== slot) return;
      this.slots[index] = undefined;
      for (const [req, p] of this.pending) {
        if (p.slot !== slot) continue;
        this.pending.delete(req);
        p.reject(new Error(why));
      }
    };
    worker.on('error', (err) => fail(`decode thread failed: ${err.message}`));
    worker.on('exit', (code) => fail(`decode thread exited with code ${code}`));
    // Idle threads do not keep the process alive.
    worker.unref();
    return slot;
  }
}

function checkThreads(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 64)
    throw new RangeError(`decode threads must be an integer in 0..64, got ${n}`);
}

/**
 * Preprocesses one image (in whichever thread calls it). libvips keeps one error buffer per
 * process, so a decode failing while another thread's decode clears it comes back as "Unknown
 * error"; such a failure is tried once more so the stored message usually names the real fault.
 */
export async function prepareHere(buf: Buffer, size: number, retry = true): Promise<DecodeResult> {
  try {
    const pre = await preprocess(buf, { size });
    return pre.quality.gradable
      ? { kind: 'tensor', data: pre.data }
      : { kind: 'ungradable', reasons: pre.quality.reasons };
  } catch (err) {
    if (!isImagingError(err)) throw err;
    if (retry && /Unknown error/i.test(err.message)) return prepareHere(buf, size, false);
    return { kind: 'imaging-error', code: err.code, message: err.message };
  }
}
