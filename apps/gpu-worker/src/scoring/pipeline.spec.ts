import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import type { ModelVersion } from '@fundus/db';
import { generateFundus, preprocess } from '@fundus/imaging';
import { createModel, exportOnnx } from '@fundus/model';
import { createObjectStore } from '@fundus/storage';
import { InferenceBatcher } from './batcher';
import { DecodePool, type DecodeResult } from './decode-pool';
import { ModelCache } from './model-cache';
import { createOrtSession, cudaProviderPresent } from './ort-providers';

describe('InferenceBatcher', () => {
  /** A forward pass whose result per image is its first float, finished when the test says so. */
  function gatedModel() {
    const calls: Array<{ n: number; release: () => void; fail: (e: Error) => void }> = [];
    const infer = (x: Float32Array, n: number) =>
      new Promise<Float32Array>((resolve, reject) => {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = x[i * 2];
        calls.push({ n, release: () => resolve(out), fail: reject });
      });
    return { calls, infer };
  }
  const img = (v: number) => new Float32Array([v, 0]);
  const tick = () => new Promise((r) => setImmediate(r));

  it('fills passes from several callers up to the batch size, keeps two in flight, answers each image', async () => {
    const { calls, infer } = gatedModel();
    const b = new InferenceBatcher(2, infer, 4);
    // Three "chunks" of 5 images each, submitted interleaved as their decodes finish.
    const results: Array<Promise<number>> = [];
    for (let i = 0; i < 5; i++) for (let c = 0; c < 3; c++) results.push(b.predict(img(c * 10 + i)));
    await tick();
    // The first image left at once (the model was idle); a full pass of 4, with images of all three
    // chunks, queued behind it; the rest wait for a free slot.
    expect(calls.map((c) => c.n)).toEqual([1, 4]);
    calls[0].release();
    await tick();
    expect(calls.map((c) => c.n)).toEqual([1, 4, 4]);
    for (let i = 1; i < 10 && calls.length < 6; i++) {
      calls[i]?.release();
      await tick();
    }
    for (const c of calls) c.release();
    await tick();
    expect(calls.every((c) => c.n <= 4)).toBe(true);
    expect(calls.reduce((s, c) => s + c.n, 0)).toBe(15);
    expect(b.images).toBe(15);
    expect(b.passes).toBe(calls.length);
    let k = 0;
    for (let i = 0; i < 5; i++) for (let c = 0; c < 3; c++) expect(await results[k++]).toBe(c * 10 + i);
  });

  it('while the model is busy, a partial pass waits; it leaves when the model is idle', async () => {
    const { calls, infer } = gatedModel();
    const b = new InferenceBatcher(2, infer, 4);
    const p = [1, 2, 3].map((v) => b.predict(img(v)));
    await tick();
    expect(calls.map((c) => c.n)).toEqual([1]);
    calls[0].release();
    await tick();
    expect(calls.map((c) => c.n)).toEqual([1, 2]);
    calls[1].release();
    expect(await Promise.all(p)).toEqual([1, 2, 3]);
  });

  it('a failed pass rejects its images only; the next pass still runs', async () => {
    const { calls, infer } = gatedModel();
    const b = new InferenceBatcher(2, infer, 2, 1);
    const p = [1, 2, 3].map((v) => b.predict(img(v)));
    await tick();
    calls[0].fail(new Error('boom'));
    await expect(p[0]).rejects.toThrow('boom');
    await tick();
    calls[1].release();
    expect(await Promise.all([p[1], p[2]])).toEqual([2, 3]);
    await expect(b.predict(new Float32Array(3))).rejects.toThrow(/expected 2/);
  });
});

/** A tensor result as its kind and bytes (bit-identical check; typed arrays from threads are another realm's). */
function bytesOf(r: DecodeResult): { kind: string; hex?: string } {
  return r.kind === 'tensor'
    ? { kind: r.kind, hex: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString('hex') }
    : { kind: r.kind };
}

describe('DecodePool', () => {
  const pools: DecodePool[] = [];
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  it('gives on its threads exactly what preprocess gives here: tensor, ungradable, imaging error', async () => {
    const fundus = await generateFundus({ seed: 3, size: 160, exposure: 1, disease: false });
    const black = await sharp({ create: { width: 96, height: 96, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
    const truncated = fundus.subarray(0, Math.floor(fundus.length / 2));
    const here = await preprocess(fundus, { size: 48 });
    const inThreads = new DecodePool(2);
    const onMain = new DecodePool(0);
    pools.push(inThreads, onMain);
    for (const pool of [inThreads, onMain]) {
      // Several at once, so both threads work.
      const [a, b, c, d] = await Promise.all([
        pool.prepare(fundus, 48),
        pool.prepare(black, 48),
        pool.prepare(truncated, 48),
        pool.prepare(fundus, 48),
      ]);
      expect(bytesOf(a)).toEqual(bytesOf({ kind: 'tensor', data: here.data }));
      expect(bytesOf(d)).toEqual(bytesOf(a));
      expect(b.kind).toBe('ungradable');
      expect(b.kind === 'ungradable' && b.reasons.length).toBeGreaterThan(0);
      expect(c).toMatchObject({ kind: 'imaging-error', code: 'corrupt' });
    }
    // The caller's bytes are copied, not moved to the thread.
    expect(fundus.length).toBeGreaterThan(0);
    expect(bytesOf(await inThreads.prepare(fundus, 48))).toEqual(
      bytesOf({ kind: 'tensor', data: here.data }),
    );
    expect(() => new DecodePool(-1)).toThrow(RangeError);
    // Grows (a GPU provider frees the cores), never shrinks; 0 stays on this thread.
    inThreads.grow(3);
    inThreads.grow(1);
    onMain.grow(3);
    expect([inThreads.threads, onMain.threads]).toEqual([3, 0]);
    const three = await Promise.all([1, 2, 3].map(() => inThreads.prepare(fundus, 48)));
    for (const r of three) expect(bytesOf(r)).toEqual(bytesOf({ kind: 'tensor', data: here.data }));
  });
});

describe('ONNX Runtime execution providers', () => {
  let onnx: Uint8Array;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    const model = createModel({ architecture: 'tiny-resnet', inputSize: 16, seed: 3 });
    onnx = exportOnnx(model);
    model.dispose();
  });

  // onnxruntime-node is installed with ONNXRUNTIME_NODE_INSTALL=skip, so its CUDA provider library is
  // absent here and CUDA falls back to CPU; where the library is present, CUDA is used or its failure said.
  it('cuda without its provider library falls back to CPU, saying why once', async () => {
    const first = await createOrtSession(onnx, { providers: 'cuda', threads: 1 });
    const second = await createOrtSession(onnx, { providers: 'cuda', threads: 1 });
    try {
      if (cudaProviderPresent()) {
        expect(first.provider === 'cuda' || /cuda/i.test(first.note ?? '')).toBe(true);
        return;
      }
      expect(first.provider).toBe('cpu');
      expect(first.note).toMatch(
        /cuda execution provider is not installed .*ONNXRUNTIME_NODE_INSTALL=skip.*scoring on CPU/,
      );
      expect(second.provider).toBe('cpu');
      expect(second.note).toBeUndefined();
    } finally {
      await first.session.release();
      await second.session.release();
    }
  });

  it('the model cache logs the fallback once, however many models it loads', async () => {
    const store = createObjectStore(`file://${mkdtempSync(join(tmpdir(), 'ort-providers-spec-'))}`);
    await store.put('m/model.onnx', onnx);
    const warned: string[] = [];
    const logged: string[] = [];
    const logger = { warn: (m: string) => warned.push(m), log: (m: string) => logged.push(m) };
    const cache = new ModelCache(store, 'cpu', 2, 'auto', { providers: 'cuda', threads: 1 }, logger);
    try {
      const mv = (id: string) =>
        ({
          id,
          format: 'tfjs-layers',
          uri: store.uriFor('m'),
          onnxUri: store.uriFor('m/model.onnx'),
          inputSize: 16,
          threshold: 0.5,
        }) as ModelVersion;
      const a = await cache.use(mv('00000000-0000-4000-8000-00000000000a'), async (m) => m.provider);
      const b = await cache.use(mv('00000000-0000-4000-8000-00000000000b'), async (m) => m.provider);
      expect([a, b]).toEqual(['cpu', 'cpu']);
      if (!cudaProviderPresent()) expect(warned).toEqual([expect.stringMatching(/cuda .*scoring on CPU/)]);
      expect(logged).toEqual([]);
    } finally {
      await cache.close();
      await store.close();
    }
  });

  // ORT's WebGPU provider compiles its shaders for ~10 s on lavapipe (scripts/ci/install-lavapipe.sh,
  // which .ci/run installs); any adapter does.
  it('webgpu gives the CPU probabilities to 1e-4 (any adapter, lavapipe included)', async () => {
    const store = createObjectStore(`file://${mkdtempSync(join(tmpdir(), 'ort-webgpu-spec-'))}`);
    await store.put('m/model.onnx', onnx);
    const mv = {
      id: '00000000-0000-4000-8000-00000000000c',
      format: 'tfjs-layers',
      uri: store.uriFor('m'),
      onnxUri: store.uriFor('m/model.onnx'),
      inputSize: 16,
      threshold: 0.5,
    } as ModelVersion;
    const x = new Float32Array(3 * 16 * 16 * 3).map((_, i) => Math.sin(i * 0.37));
    const run = async (providers: 'cpu' | 'webgpu') => {
      const cache = new ModelCache(store, 'cpu', 2, 'auto', { providers, threads: 1 });
      try {
        return await cache.use(mv, async (m) => ({
          provider: m.provider,
          p: await m.predict(x.slice(), 3),
        }));
      } finally {
        await cache.close();
      }
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    await store.close();
    expect(gpu.provider).toBe('webgpu');
    expect(cpu.provider).toBe('cpu');
    gpu.p.forEach((v, i) => expect(Math.abs(v - cpu.p[i])).toBeLessThan(1e-4));
  });

  it('auto picks CPU here and says why (no CUDA library, no hardware WebGPU adapter)', async () => {
    const r = await createOrtSession(onnx, { providers: 'auto', threads: 1 });
    // A machine with a GPU (or the CUDA library) picks that instead; this checks the CPU-only case.
    if (r.provider === 'cpu') {
      expect(r.note).toMatch(/^SCORING_ORT_PROVIDERS=auto: ONNX Runtime scores on CPU \(.*WebGPU adapter/);
    }
    await r.session.release();
  });
});
