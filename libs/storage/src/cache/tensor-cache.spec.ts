import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TensorCache, hashParams, type CachedTensor } from './tensor-cache';

const PARAMS = hashParams({ size: 8, crop: 'fov', normalise: 'imagenet' });
/** 8x8x3 float32 = 768 bytes + 20 bytes header. */
const tensorFor = (seed: number): CachedTensor => ({
  data: Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => Math.sin(seed * 1000 + i)),
  shape: [8, 8, 3],
});
const ENTRY_BYTES = 8 * 8 * 3 * 4 + 8 + 12;

describe('TensorCache', () => {
  let dir: string;
  let clock: number;
  const now = () => clock;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fundus-cache-'));
    clock = 1_700_000_000_000;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes parameters stably regardless of key order, and differently for any change', () => {
    expect(hashParams({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      hashParams({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
    expect(hashParams({ a: 1, b: { c: [1, 2], d: 'x' } })).not.toBe(
      hashParams({ a: 1, b: { c: [2, 1], d: 'x' } }),
    );
    expect(hashParams({ size: 224 })).not.toBe(hashParams({ size: 256 }));
  });

  it('computes once, then serves float32 and uint8 tensors from disk, also to a new instance', async () => {
    const cache = await TensorCache.open({ dir, maxBytes: 1e6 });
    let computed = 0;
    const compute = async () => {
      computed += 1;
      return tensorFor(1);
    };
    const first = await cache.getOrCompute({ etag: '"e1"', params: PARAMS }, compute);
    const second = await cache.getOrCompute({ etag: '"e1"', params: PARAMS }, compute);
    expect([first.hit, second.hit, computed]).toEqual([false, true, 1]);
    expect(second.data).toEqual(tensorFor(1).data);
    expect(second.shape).toEqual([8, 8, 3]);

    const bytes: CachedTensor = { data: Uint8Array.from([1, 2, 3, 250, 255, 0]), shape: [2, 3] };
    await cache.put({ etag: '"u8"', params: PARAMS }, bytes);
    const reopened = await TensorCache.open({ dir, maxBytes: 1e6 });
    const back = await reopened.get({ etag: '"u8"', params: PARAMS });
    expect(back?.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(back!.data)).toEqual([1, 2, 3, 250, 255, 0]);
    expect(await reopened.get({ etag: '"e1"', params: hashParams({ size: 9 }) })).toBeUndefined();
    expect(await reopened.get({ etag: '"e2"', params: PARAMS })).toBeUndefined();
    expect(reopened.stats).toMatchObject({ hits: 1, misses: 2 });
  });

  it('shares one computation between concurrent calls for the same key', async () => {
    const cache = await TensorCache.open({ dir, maxBytes: 1e6 });
    let computed = 0;
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        cache.getOrCompute({ etag: '"same"', params: PARAMS }, async () => {
          computed += 1;
          return tensorFor(2);
        }),
      ),
    );
    expect(computed).toBe(1);
    expect(results.every((r) => r.data.length === 192)).toBe(true);
  });

  it('evicts the least recently used entries to stay under the bound', async () => {
    const cache = await TensorCache.open({ dir, maxBytes: 10 * ENTRY_BYTES, lowWater: 0.8, now });
    const key = (i: number) => ({ etag: `"e${i}"`, params: PARAMS });
    for (let i = 0; i < 10; i++) {
      clock += 1000;
      await cache.put(key(i), tensorFor(i));
    }
    // Use entries 0 and 1 again: they become the most recent.
    clock += 1000;
    expect(await cache.get(key(0))).toBeDefined();
    clock += 1000;
    expect(await cache.get(key(1))).toBeDefined();
    clock += 1000;
    await cache.put(key(10), tensorFor(10)); // 11 entries > bound: evict down to 8
    expect(await cache.sizeOnDisk()).toBeLessThanOrEqual(8 * ENTRY_BYTES);
    const present = [];
    for (let i = 0; i <= 10; i++) if (await cache.get(key(i))) present.push(i);
    expect(present).toEqual([0, 1, 5, 6, 7, 8, 9, 10]);
    expect(cache.stats.evicted).toBe(3);
  });

  it('treats corrupt and truncated files as misses and recomputes them', async () => {
    const cache = await TensorCache.open({ dir, maxBytes: 1e6 });
    const k = { etag: '"c"', params: PARAMS };
    await cache.put(k, tensorFor(3));
    const [sub] = (await readdir(dir)).filter((d) => d !== '.tmp');
    const [file] = await readdir(path.join(dir, sub));
    await writeFile(path.join(dir, sub, file), Buffer.from('not a tensor'));
    const again = await cache.getOrCompute(k, async () => tensorFor(3));
    expect(again.hit).toBe(false);
    expect(cache.stats.discarded).toBe(1);
    expect((await cache.get(k))?.data).toEqual(tensorFor(3).data);
  });

  it('stays correct when two instances share a folder and evict under each other', async () => {
    await mkdir(dir, { recursive: true });
    const a = await TensorCache.open({ dir, maxBytes: 6 * ENTRY_BYTES, rescanEvery: 1 });
    const b = await TensorCache.open({ dir, maxBytes: 6 * ENTRY_BYTES, rescanEvery: 1 });
    const work = (cache: TensorCache, offset: number) =>
      Promise.all(
        Array.from({ length: 60 }, async (_, j) => {
          const i = (j * 7 + offset) % 20;
          const t = await cache.getOrCompute({ etag: `"s${i}"`, params: PARAMS }, async () => tensorFor(i));
          expect(t.data).toEqual(tensorFor(i).data);
        }),
      );
    await Promise.all([work(a, 0), work(b, 3)]);
    expect(await a.sizeOnDisk()).toBeLessThanOrEqual(6 * ENTRY_BYTES);
    expect(a.stats.evicted + b.stats.evicted).toBeGreaterThan(0);
  });

  it('rejects data whose length does not match the shape', async () => {
    const cache = await TensorCache.open({ dir, maxBytes: 1e6 });
    await expect(
      cache.put({ etag: '"x"', params: PARAMS }, { data: new Float32Array(5), shape: [2, 3] }),
    ).rejects.toThrow(/6 values, data has 5/);
  });
});
