/**
 * GPU time of every convolution kernel call inside a real ResNet50 training step and inference batch
 * (tf.profile with timestamp queries, so per-call GPU time without launch overhead), under each way
 * the webgpu backend can run them:
 * - `default`: the rules in conv-input-grad.ts / conv-forward.ts as they stand (ConvGemmMode 'auto');
 * - `previous`: tfjs' programs for the forward convolution and its tiled program for every input
 *   gradient (the fast path's choice before the H200 layer profile of 2026-11-26);
 * - `dx-tiled`: the default forward convolutions, every input gradient through tfjs' tiled program;
 * - `gemm`: our implicit GEMM for every forward convolution and input gradient (mode 'all').
 * Two profiled steps per variant (after one that compiles the shaders); each call's two times are
 * kept, keyed by kernel and input shapes, so `summarize.ts` / a reader can pick the fastest program
 * per layer shape from in-situ numbers (conv-kernels.ts times kernels in isolation, launch overhead
 * included). Run through gpu-train.ts `--layer-profile`.
 */
import * as tf from '@tensorflow/tfjs';
import { compileInference } from '../../libs/model/src/inference';
import {
  forceConvInputGradProgram,
  makeTrainingStep,
  useWebGpuConvGemm,
  webGpuConvGemmMode,
  type ConvGemmMode,
  type ConvInputGradProgram,
} from '../../libs/model/src/webgpu';

const CONV_KERNELS = new Set(['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']);

/** One convolution kernel call: kernel, input shapes, GPU ms in each profiled run. */
export type ProfiledCall = [string, string, number[]];

export interface VariantProfile {
  /** Sum of all kernels' GPU time per run (ms). */
  trainGpuMs: number[];
  inferGpuMs: number[];
  /** Per kernel name: GPU ms per run, convolution kernels only. */
  trainByKernel: Record<string, number[]>;
  train: ProfiledCall[];
  infer: ProfiledCall[];
}

/** Each variant: the ConvGemmMode and forced input-gradient program it runs with (unset: as is). */
const VARIANTS: Record<string, { mode?: ConvGemmMode; dx?: ConvInputGradProgram }> = {
  default: {},
  previous: { mode: 'off', dx: 'tiled' },
  'dx-tiled': { dx: 'tiled' },
  gemm: { mode: 'all' },
};

async function profiled(
  runs: number,
  f: () => Promise<unknown>,
): Promise<{ total: number[]; calls: ProfiledCall[] }> {
  const total: number[] = [];
  const calls: ProfiledCall[] = [];
  for (let r = 0; r < runs; r++) {
    const prof = await tf.profile(f as () => Promise<tf.TensorContainer>);
    let sum = 0;
    let i = 0;
    for (const k of prof.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number.NaN;
      if (Number.isFinite(ms)) sum += ms;
      if (!CONV_KERNELS.has(k.name)) continue;
      if (r === 0) calls.push([k.name, JSON.stringify(k.inputShapes), [ms]]);
      else if (calls[i]) calls[i][2].push(ms);
      i++;
    }
    total.push(sum);
  }
  return { total, calls };
}

/** Profiles each variant at batch `b` (training step and folded inference). */
export async function layerProfile(
  model: tf.LayersModel,
  images: (n: number) => tf.Tensor4D,
  b: number,
  log: (line: string) => void,
  runs = 2,
): Promise<Record<string, VariantProfile>> {
  const out: Record<string, VariantProfile> = {};
  const x = images(b);
  const y = tf.tensor1d(
    Int32Array.from({ length: b }, (_, i) => i % 2),
    'int32',
  );
  for (const [name, v] of Object.entries(VARIANTS)) {
    const before = webGpuConvGemmMode();
    useWebGpuConvGemm(v.mode ?? before);
    forceConvInputGradProgram(v.dx ?? null);
    try {
      const step = makeTrainingStep(model, { fast: true });
      await step.run(x, y); // compiles this variant's shaders
      const train = await profiled(runs, () => step.run(x, y));
      step.dispose();
      const graph = compileInference(model);
      const forward = async (): Promise<void> => {
        const o = graph.logits(x);
        await o.data();
        o.dispose();
      };
      await forward();
      const infer = await profiled(runs, forward);
      graph.dispose();
      const trainByKernel: Record<string, number[]> = {};
      for (const [k, , ms] of train.calls) {
        const acc = (trainByKernel[k] ??= ms.map(() => 0));
        ms.forEach((m, r) => (acc[r] += m));
      }
      out[name] = {
        trainGpuMs: train.total,
        inferGpuMs: infer.total,
        trainByKernel,
        train: train.calls,
        infer: infer.calls,
      };
      const fmt = (a: number[]): string => a.map((m) => m.toFixed(1)).join(' / ');
      log(
        `layer profile ${name} b${b}: training step GPU ${fmt(train.total)} ms (${Object.entries(
          trainByKernel,
        )
          .map(([k, ms]) => `${k} ${fmt(ms)}`)
          .join(', ')}); inference GPU ${fmt(infer.total)} ms`,
      );
    } finally {
      useWebGpuConvGemm(before);
      forceConvInputGradProgram(null);
    }
  }
  tf.dispose([x, y]);
  return out;
}
