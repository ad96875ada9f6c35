import { createModel } from './architectures';
import { initBackend } from './backends';
import { ModelError } from './errors';
import {
  loadCheckpoint,
  loadModel,
  loadPretrainedWeights,
  MemoryModelStore,
  saveCheckpoint,
  saveModel,
} from './model-io';
import { predictProbabilities } from './predict';
import { allImages, SpotData } from './spec-helpers';
import { trainModel } from './train';

async function rejectsWith(p: Promise<unknown>, code: string, msg: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelError);
  expect((err as ModelError).code).toBe(code);
  expect((err as ModelError).message).toMatch(msg);
}

describe('model save/load', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('save → load gives bit-identical predictions (trained tiny ResNet, moving statistics included)', async () => {
    const data = new SpotData({ n: 24, size: 16, seed: 1 });
    const model = createModel({ architecture: 'tiny-resnet', inputSize: 16, seed: 3, widths: [4, 8] });
    await trainModel({
      model,
      train: data,
      config: {
        loss: { kind: 'cross-entropy' },
        optimizer: { kind: 'adam' },
        learningRate: 1e-2,
        epochs: 1,
        batchSize: 8,
        seed: 1,
      },
    });
    const store = new MemoryModelStore();
    const keys = await saveModel(model, store, 'models/m1/', { architecture: 'tiny-resnet', threshold: 0.4 });
    expect(keys).toEqual({ modelKey: 'models/m1/model.json', weightsKey: 'models/m1/weights.bin' });
    const json = JSON.parse((await store.getBuffer('models/m1/model.json')).toString('utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);

    const { model: loaded, meta } = await loadModel(store, 'models/m1');
    expect(meta).toEqual({
      format: 'fundus-model/v1',
      inputSize: 16,
      extra: { architecture: 'tiny-resnet', threshold: 0.4 },
    });
    const x = allImages(data);
    const a = await predictProbabilities(model, x, 8);
    const b = await predictProbabilities(loaded, x, 8);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    // Moving statistics travelled too (they differ from their initial 0 / 1 after training).
    const mv = loaded.getLayer('conv1_bn').getWeights()[2].dataSync();
    expect(Array.from(mv)).toEqual(Array.from(model.getLayer('conv1_bn').getWeights()[2].dataSync()));
    expect(Array.from(mv).some((v) => v !== 0)).toBe(true);
    model.dispose();
    loaded.dispose();
  });

  it('round-trips ResNet50 with its Keras layer names', async () => {
    const model = createModel({ architecture: 'resnet50', inputSize: 32, seed: 9 });
    const store = new MemoryModelStore();
    await saveModel(model, store, 'r50');
    const { model: loaded } = await loadModel(store, 'r50');
    expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    const x = new Float32Array(2 * 32 * 32 * 3).map((_, i) => Math.sin(i));
    const a = await predictProbabilities(model, x);
    const b = await predictProbabilities(loaded, x);
    expect(Array.from(b)).toEqual(Array.from(a));
    model.dispose();
    loaded.dispose();
  });

  it('loads pretrained weights by name from a stored tfjs layers model (e.g. converted Keras ImageNet weights)', async () => {
    const store = new MemoryModelStore();
    const source = createModel({ architecture: 'resnet18', inputSize: 32, seed: 1 });
    await saveModel(source, store, 'pretrained/resnet18');
    const target = createModel({ architecture: 'resnet18', inputSize: 64, seed: 2 });
    const { loaded, missing } = await loadPretrainedWeights(target, store, 'pretrained/resnet18');
    expect(missing).toEqual([]);
    expect(loaded).toContain('conv5_block2_2_conv/kernel');
    expect(Array.from(target.getLayer('conv4_block1_0_bn').getWeights()[0].dataSync())).toEqual(
      Array.from(source.getLayer('conv4_block1_0_bn').getWeights()[0].dataSync()),
    );
    const tiny = createModel({ architecture: 'tiny-resnet', inputSize: 32, seed: 1 });
    await rejectsWith(
      loadPretrainedWeights(tiny, store, 'pretrained/resnet18'),
      'incompatible-checkpoint',
      /does not match/,
    );
    source.dispose();
    target.dispose();
    tiny.dispose();
  });

  it('reports missing and malformed objects with codes', async () => {
    const store = new MemoryModelStore();
    await rejectsWith(loadModel(store, 'nope'), 'not-found', /no object at "nope\/model\.json"/);
    await store.put('bad/model.json', '{"modelTopology": 1');
    await rejectsWith(loadModel(store, 'bad'), 'incompatible-checkpoint', /is not JSON/);
    await rejectsWith(loadCheckpoint(store, 'bad'), 'not-found', /train-state\.json/);

    const model = createModel({ architecture: 'tiny-resnet', inputSize: 16, seed: 3, widths: [4] });
    const res = await trainModel({
      model,
      train: new SpotData({ n: 8, size: 16, seed: 1 }),
      config: {
        loss: { kind: 'cross-entropy' },
        optimizer: { kind: 'adam' },
        learningRate: 1e-3,
        epochs: 1,
        batchSize: 4,
        seed: 1,
      },
    });
    await saveCheckpoint(model, res.state, store, 'ck');
    const bin = await store.getBuffer('ck/optimizer.bin');
    await store.put('ck/optimizer.bin', bin.subarray(0, bin.length - 4));
    await rejectsWith(
      loadCheckpoint(store, 'ck'),
      'incompatible-checkpoint',
      /optimizer\.bin holds \d+ floats/,
    );
    model.dispose();
  });
});
