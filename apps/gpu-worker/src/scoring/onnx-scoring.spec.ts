import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ModelVersion } from '@fundus/db';
import { createModel, exportOnnx, Rng, saveModel } from '@fundus/model';
import { createObjectStore } from '@fundus/storage';
import { ModelCache } from './model-cache';
import { randomiseStatistics } from '../../../../libs/model/src/spec-helpers';

const SIZE = 24;

function images(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n * SIZE * SIZE * 3);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return x;
}

describe('ModelCache scoring engines (tfjs vs ONNX Runtime)', () => {
  const store = createObjectStore(`file://${mkdtempSync(join(tmpdir(), 'onnx-scoring-spec-'))}`);
  const caches: ModelCache[] = [];
  let mv: ModelVersion;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const model = createModel({ architecture: 'tiny-resnet', inputSize: SIZE, seed: 11 });
    randomiseStatistics(model, 12);
    await saveModel(model, store, 'models/v1');
    await store.put('models/v1/model.onnx', exportOnnx(model));
    model.dispose();
    mv = {
      id: '00000000-0000-4000-8000-000000000001',
      format: 'tfjs-layers',
      uri: store.uriFor('models/v1'),
      onnxUri: null,
      inputSize: SIZE,
      threshold: 0.5,
    } as ModelVersion;
  });

  afterAll(async () => {
    for (const c of caches) await c.close();
    await store.close();
  });

  function cache(engine: 'auto' | 'tfjs' | 'onnx'): ModelCache {
    const c = new ModelCache(store, 'cpu', 2, engine);
    caches.push(c);
    return c;
  }

  async function score(c: ModelCache, version: ModelVersion, x: Float32Array, batch: number) {
    return c.use(version, async (m) => ({ engine: m.engine, p: await m.predict(x.slice(), batch) }));
  }

  it('ONNX Runtime (exported on load) gives the tfjs probabilities to 1e-4, in any batch split', async () => {
    const x = images(7, 1);
    const tfjs = await score(cache('tfjs'), mv, x, 4);
    const onnxCache = cache('onnx');
    const onnx = await score(onnxCache, mv, x, 3);
    expect(tfjs.engine).toBe('tfjs');
    expect(onnx.engine).toBe('onnx');
    expect(onnx.p).toHaveLength(7);
    for (let i = 0; i < 7; i++) expect(Math.abs(onnx.p[i] - tfjs.p[i])).toBeLessThan(1e-4);
    // The session is cached: a second chunk does not load again.
    await score(onnxCache, mv, x, 7);
    expect(onnxCache.loads).toBe(1);
  });

  it('auto uses tfjs without an onnxUri and the stored ONNX graph with one', async () => {
    const x = images(3, 2);
    const auto = cache('auto');
    const plain = await score(auto, mv, x, 8);
    const withOnnx = {
      ...mv,
      id: '00000000-0000-4000-8000-000000000002',
      onnxUri: store.uriFor('models/v1/model.onnx'),
    };
    const fromGraph = await score(auto, withOnnx, x, 8);
    expect(plain.engine).toBe('tfjs');
    expect(fromGraph.engine).toBe('onnx');
    for (let i = 0; i < 3; i++) expect(Math.abs(fromGraph.p[i] - plain.p[i])).toBeLessThan(1e-4);
  });

  it('refuses an unreadable ONNX graph', async () => {
    const missing = {
      ...mv,
      id: '00000000-0000-4000-8000-000000000004',
      onnxUri: store.uriFor('models/none.onnx'),
    };
    await expect(score(cache('auto'), missing, images(1, 3), 1)).rejects.toMatchObject({
      code: 'model-unreadable',
    });
  });
});
