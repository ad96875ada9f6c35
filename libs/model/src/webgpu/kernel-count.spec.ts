/**
 * GPU programs per ResNet50 training step on the webgpu backend (lavapipe where there is no GPU):
 * a deterministic count, asserted so that changes to it are deliberate. The target is
 * ≤ 700; this records where the code stands (see bench/gpu-train/RESULTS.md for the breakdown).
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../architectures';
import { initBackend } from '../backends';
import { meanLoss } from '../losses';
import { countKernels, makeTrainingStep, patchLayersBatchNorm } from '.';

describe('webgpu programs per ResNet50 training step', () => {
  beforeAll(async () => {
    await initBackend('webgpu');
  });

  it('is deterministic and uses the fast filter gradient', async () => {
    const model = createModel({ architecture: 'resnet50', inputSize: 32, seed: 3 });
    const step = makeTrainingStep(model);
    const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const y = tf.tensor1d([1], 'int32');
    const first = await countKernels(() => step.run(x, y));
    const second = await countKernels(() => step.run(x, y));
    expect(Number.isFinite(second.result)).toBe(true);
    expect(second.count.total).toBe(first.count.total);
    expect(Object.fromEntries(second.count.byProgram)).toEqual(Object.fromEntries(first.count.byProgram));
    // Where the count stands (issue 12 target: ≤ 700). Stock tfjs kernels: 5,727 at 224 px.
    expect(second.count.total).toBe(EXPECTED_PROGRAMS);
    expect(second.count.byProgram.get('Conv2DDerFilterProgram')).toBeUndefined();
    // Optimizer (Adam over 161 variables) and batch-norm maths dominate: elementwise programs.
    expect(second.count.byProgram.get('BinaryOpProgram')).toBe(4057);
    // With FusedAdam, Adam takes 3 programs per variable instead of ~13.
    const fusedStep = makeTrainingStep(model, { fusedAdam: true });
    const fused = await countKernels(() => fusedStep.run(x, y));
    expect(Number.isFinite(fused.result)).toBe(true);
    expect(fused.count.total).toBe(EXPECTED_PROGRAMS_FUSED_ADAM);
    fusedStep.dispose();
    tf.dispose([x, y]);
    step.dispose();
    model.dispose();
  }, 300_000);

  it('with FusedAdam and batchNormTraining in the layers: same loss, fewer programs', async () => {
    // Forward loss in training mode, stock layers vs patched, at 64 px, batch 4 (at batch 2 and
    // 32 px the last stages normalise 2 values per channel and even the stock path varies ~0.3 %
    // from run to run on webgpu).
    const lossOf = async (): Promise<number> => {
      const model = createModel({ architecture: 'resnet50', inputSize: 64, seed: 3 });
      const x = tf.randomNormal([4, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const y = tf.tensor1d([1, 0, 1, 0], 'int32');
      const l = tf.tidy(() => meanLoss(FOCAL, model.apply(x, { training: true }) as tf.Tensor2D, y));
      const v = (await l.data())[0];
      tf.dispose([x, y, l]);
      model.dispose();
      return v;
    };
    const stockLoss = await lossOf();
    const unpatch = patchLayersBatchNorm();
    try {
      const patchedLoss = await lossOf();
      expect(Math.abs(patchedLoss - stockLoss)).toBeLessThanOrEqual(1e-4 * Math.abs(stockLoss));
      const model = createModel({ architecture: 'resnet50', inputSize: 32, seed: 3 });
      const step = makeTrainingStep(model, { fusedAdam: true });
      const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const y = tf.tensor1d([1], 'int32');
      const first = await countKernels(() => step.run(x, y));
      const second = await countKernels(() => step.run(x, y));
      expect(Number.isFinite(second.result)).toBe(true);
      expect(second.count.total).toBe(first.count.total);
      expect(second.count.total).toBe(EXPECTED_PROGRAMS_FUSED_ALL);
      tf.dispose([x, y]);
      step.dispose();
      model.dispose();
    } finally {
      unpatch();
    }
  }, 300_000);
});

// ResNet50 at 32 px, batch 1 (at 224 px, batch 8 or 32, the H200 run counted 5,786: algorithm choices differ by size).
const FOCAL = { kind: 'focal-seed', alpha: 2, gamma: 2 } as const;
const EXPECTED_PROGRAMS = 5796;
const EXPECTED_PROGRAMS_FUSED_ADAM = 3442;
const EXPECTED_PROGRAMS_FUSED_ALL = 2349;
