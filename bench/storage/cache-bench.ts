/**
 * Data loading for training, epoch 1 versus epoch 2+ served from the preprocessed-tensor cache.
 *
 *   npx tsx bench/storage/cache-bench.ts [images=64] [size=224] [width=1536]
 *
 * Synthetic fundus JPEGs (width × 3/4 width, like the seed's 1k+ photographs) are put into an S3
 * store (s3rver over a temp folder, through the same S3ObjectStore the workers use) and listed once,
 * as dataset registration does (a training job reads (key, ETag) from its DatasetItem rows, not from
 * the store). Epoch 1 then per image downloads, decodes and preprocesses (libs/imaging `preprocessToUint8`:
 * FOV crop + resize, the deterministic part) and stores the bytes in a TensorCache keyed by
 * (ETag, hash of the preprocessing options). Every epoch then normalises to float32 (and, in training,
 * would augment), which stays per-epoch work. Epoch 2 runs on the same cache instance; "trial 2"
 * opens a fresh instance on the same folder, as a second sweep trial or worker process would.
 * The anchor is epoch 1 in the same run. Downloads and decodes are counted, not assumed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateFundus, normalize, preprocessToUint8 } from '@fundus/imaging';
import { S3ObjectStore, TensorCache, hashParams, type ObjectInfo } from '@fundus/storage';
import { startS3rver } from '../../test/support/s3rver';

const [images = 64, size = 224, width = 1536] = process.argv.slice(2).map(Number);

async function main(): Promise<void> {
  const s3 = await startS3rver({ bucket: 'bench' });
  const cacheDir = await mkdtemp(path.join(tmpdir(), 'fundus-cache-bench-'));
  const store = new S3ObjectStore('bench', 'data/', {
    endpoint: s3.endpoint,
    credentials: s3.credentials,
    region: s3.region,
  });
  try {
    const tGen = performance.now();
    for (let i = 0; i < images; i++) {
      const jpeg = await generateFundus({
        seed: 1000 + i,
        size: width,
        height: Math.round((width * 3) / 4),
        disease: i % 2 === 0,
      });
      await store.put(`train/${i % 2 === 0 ? 'disease' : 'normal'}/${String(i).padStart(4, '0')}.jpg`, jpeg, {
        contentType: 'image/jpeg',
      });
    }
    const genMs = performance.now() - tGen;

    const opts = { size, enhance: 'none' as const };
    const params = hashParams({ fn: 'preprocessToUint8', ...opts });
    let downloads = 0;
    let downloadedBytes = 0;
    let decodes = 0;

    const objects: ObjectInfo[] = [];
    for await (const o of store.list('train/')) objects.push(o);

    async function epoch(
      cache: TensorCache,
    ): Promise<{ ms: number; downloads: number; decodes: number; hits: number; checksum: number }> {
      const d0 = downloads;
      const p0 = decodes;
      const h0 = cache.stats.hits;
      const t0 = performance.now();
      let checksum = 0;
      for (const o of objects) {
        const t = await cache.getOrCompute({ etag: o.etag, params }, async () => {
          const jpeg = await store.getBuffer(o.key);
          downloads += 1;
          downloadedBytes += jpeg.length;
          const u = await preprocessToUint8(jpeg, opts);
          decodes += 1;
          return { data: u.data, shape: [u.size, u.size, 3] };
        });
        const x = normalize(t.data as Uint8Array);
        checksum += x[(x.length >> 1) + 1];
      }
      return {
        ms: performance.now() - t0,
        downloads: downloads - d0,
        decodes: decodes - p0,
        hits: cache.stats.hits - h0,
        checksum,
      };
    }

    const cache = await TensorCache.open({ dir: cacheDir, maxBytes: 2 * 1024 ** 3 });
    const e1 = await epoch(cache);
    const e2 = await epoch(cache);
    const e3 = await epoch(cache);
    const trial2 = await epoch(await TensorCache.open({ dir: cacheDir, maxBytes: 2 * 1024 ** 3 }));
    if ([e2, e3, trial2].some((e) => e.checksum !== e1.checksum))
      throw new Error('cached epochs produced different tensors');

    const rate = (e: { ms: number }) => (images / e.ms) * 1000;
    const row = (name: string, e: typeof e1) =>
      `| ${name} | ${e.ms.toFixed(0)} | ${rate(e).toFixed(1)} | ${(e1.ms / e.ms).toFixed(1)}× | ${e.downloads} | ${e.decodes} | ${e.hits} |`;
    const lines = [
      `images: ${images} synthetic JPEGs ${width}×${Math.round((width * 3) / 4)} (${(downloadedBytes / images / 1024).toFixed(0)} KiB each), output ${size}×${size}×3`,
      `cache on disk: ${((await cache.sizeOnDisk()) / 1024 / 1024).toFixed(1)} MiB (uint8)`,
      `machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; setup (generate + upload) ${(genMs / 1000).toFixed(1)} s`,
      '',
      '| pass | ms | img/s | speed-up vs epoch 1 | downloads | decodes | cache hits |',
      '|---|---:|---:|---:|---:|---:|---:|',
      row('epoch 1 (anchor: download + decode + preprocess)', e1),
      row('epoch 2 (same cache instance)', e2),
      row('epoch 3 (same cache instance)', e3),
      row('trial 2 (fresh cache instance, same folder)', trial2),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await store.close();
    await s3.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
