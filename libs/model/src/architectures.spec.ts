import * as tf from '@tensorflow/tfjs';
import {
  createModel,
  HEAD_LAYER_NAME,
  loadWeightsByName,
  ModelConfig,
  resolveModelConfig,
} from './architectures';
import { initBackend } from './backends';
import { ModelError } from './errors';
import { predictProbabilities } from './predict';
import { Rng } from './rng';

function randomImages(n: number, s: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * s * s * 3 }, () => rng.normal());
}

describe('architectures', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('ResNet50 uses the Keras layer names and parameter count (23,587,712 + 2-logit head)', () => {
    const m = createModel({ architecture: 'resnet50', inputSize: 32, seed: 1 });
    const names = new Set(m.layers.map((l) => l.name));
    for (const n of [
      'conv1_pad',
      'conv1_conv',
      'conv1_bn',
      'conv1_relu',
      'pool1_pad',
      'pool1_pool',
      'conv2_block1_0_conv',
      'conv2_block1_0_bn',
      'conv2_block1_1_conv',
      'conv2_block1_2_conv',
      'conv2_block1_3_conv',
      'conv2_block1_add',
      'conv2_block1_out',
      'conv3_block4_out',
      'conv4_block6_out',
      'conv5_block3_3_bn',
      'conv5_block3_out',
      'avg_pool',
      HEAD_LAYER_NAME,
    ]) {
      expect(names.has(n)).toBe(true);
    }
    expect(names.has('conv2_block2_0_conv')).toBe(false); // identity shortcut, as in Keras
    expect(m.layers.length).toBe(177);
    expect(m.countParams()).toBe(23_587_712 + 2048 * 2 + 2);
    expect(
      m
        .getLayer('conv1_conv')
        .getWeights()
        .map((w) => w.shape),
    ).toEqual([[7, 7, 3, 64], [64]]);
    expect(m.getLayer('conv3_block1_1_conv').getWeights()[0].shape).toEqual([1, 1, 256, 128]);
    m.dispose();
  });

  it.each<[Partial<ModelConfig>, number]>([
    [{ architecture: 'resnet50', inputSize: 32 }, 2],
    [{ architecture: 'resnet50', inputSize: 45 }, 1],
    [{ architecture: 'resnet18', inputSize: 40 }, 3],
    [{ architecture: 'tiny-resnet', inputSize: 16 }, 4],
    [{ architecture: 'tiny-resnet', inputSize: 24, widths: [4, 8], blocksPerStage: 2 }, 2],
  ])('%j gives [N, 2] logits and probabilities in [0, 1]', async (cfg, n) => {
    const m = createModel({ ...cfg, seed: 3 });
    const s = cfg.inputSize as number;
    const before = tf.memory().numTensors;
    const logits = tf.tidy(() => m.predict(tf.tensor4d(randomImages(n, s, 1), [n, s, s, 3])) as tf.Tensor);
    expect(logits.shape).toEqual([n, 2]);
    logits.dispose();
    const p = await predictProbabilities(m, randomImages(n, s, 1), 2);
    expect(p.length).toBe(n);
    p.forEach((v) => expect(v >= 0 && v <= 1).toBe(true));
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('is seeded: same seed gives identical weights, another seed different ones', () => {
    const w = (seed: number): Float32Array => {
      const m = createModel({ architecture: 'tiny-resnet', inputSize: 16, seed });
      const v = m.getLayer('conv2_block1_1_conv').getWeights()[0].dataSync() as Float32Array;
      const out = Float32Array.from(v);
      m.dispose();
      return out;
    };
    expect(w(7)).toEqual(w(7));
    expect(w(7)).not.toEqual(w(8));
  });

  it('loads weights by Keras name (head left alone and reported missing)', async () => {
    const src = createModel({ architecture: 'resnet18', inputSize: 32, seed: 1 });
    const dst = createModel({ architecture: 'resnet18', inputSize: 32, seed: 2 });
    const map: Record<string, tf.Tensor> = {};
    for (const w of src.weights)
      if (!w.originalName.startsWith(HEAD_LAYER_NAME)) map[w.originalName] = w.read();
    const { loaded, missing } = loadWeightsByName(dst, map);
    expect(missing.sort()).toEqual([`${HEAD_LAYER_NAME}/bias`, `${HEAD_LAYER_NAME}/kernel`]);
    expect(loaded.length).toBe(src.weights.length - 2);
    expect(dst.getLayer('conv3_block2_2_conv').getWeights()[0].dataSync()).toEqual(
      src.getLayer('conv3_block2_2_conv').getWeights()[0].dataSync(),
    );
    const bad = { 'conv1_conv/kernel': tf.zeros([3, 3, 3, 64]) };
    expect(() => loadWeightsByName(dst, bad)).toThrow(/conv1_conv\/kernel.*does not match/);
    bad['conv1_conv/kernel'].dispose();
    src.dispose();
    dst.dispose();
  });

  it.each<[unknown, RegExp]>([
    [{}, /"architecture" is required/],
    [
      { architecture: 'resnet101' },
      /"architecture" must be one of resnet50, resnet18, tiny-resnet; got "resnet101"/,
    ],
    [
      { architecture: 'resnet50', inputSize: 16 },
      /"inputSize" must be an integer in \[32, 1024\] for resnet50; got 16/,
    ],
    [{ architecture: 'resnet18', inputSize: 64.5 }, /"inputSize" must be an integer/],
    [
      { architecture: 'tiny-resnet', widths: [8, 0] },
      /"widths\[1\]" must be an integer in \[1, 2048\]; got 0/,
    ],
    [{ architecture: 'resnet50', widths: [8] }, /apply to tiny-resnet only/],
    [{ architecture: 'tiny-resnet', seed: 1.5 }, /"seed" must be an integer/],
    [{ architecture: 'tiny-resnet', bnMomentum: 1 }, /"bnMomentum" must be in \[0, 1\)/],
  ])('rejects %j with a precise ModelError', (cfg, msg) => {
    let err: unknown;
    try {
      resolveModelConfig(cfg as Partial<ModelConfig>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('invalid-config');
    expect((err as ModelError).message).toMatch(msg);
  });
});
