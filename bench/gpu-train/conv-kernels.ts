/**
 * GPU time of each convolution kernel of a ResNet50 training step, per distinct layer shape, for the
 * variants the webgpu backend can run: forward (FusedConv2D with bias: tfjs' programs vs our opt-in
 * implicit GEMM, conv-forward.ts), input gradient (tfjs' naive
 * program, the stock default, vs its tiled MM program, which conv-input-grad.ts picks for large
 * gradients, vs our opt-in implicit GEMM) and
 * filter gradient (the stock kernel vs our implicit GEMM). Each figure is wall time of `reps`
 * back-to-back launches ended by `queue.onSubmittedWorkDone()` — no readback — divided by `reps`;
 * totals weight each shape by how many layers share it. Run through gpu-train.ts `--conv-kernels`
 * (same Dawn set-up and bundle as the training bench).
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../../libs/model/src/architectures';
import { Rng } from '../../libs/model/src/rng';
import {
  forceConvInputGradProgram,
  stockConvFilterGradient,
  submitWebGpuWork,
  useWebGpuConvGemm,
  webGpuConvGemmMode,
} from '../../libs/model/src/webgpu';
import type { ConvGeometry } from '../../libs/model/src/conv-geometry';
import { isConv, modelLayers, type ConvLayer } from './resnet-convs';

interface Backend {
  device: { queue: { onSubmittedWorkDone(): Promise<void> } };
  disposeData(id: unknown): boolean;
}

async function sync(): Promise<void> {
  submitWebGpuWork();
  await (tf.backend() as unknown as Backend).device.queue.onSubmittedWorkDone();
}

/** Milliseconds per launch of `launch` (which returns what to free). */
async function time(reps: number, launch: () => () => void): Promise<number> {
  launch()(); // shader compilation, buffer pools
  await sync();
  const frees: Array<() => void> = [];
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) frees.push(launch());
  await sync();
  const ms = (performance.now() - t0) / reps;
  for (const f of frees) f();
  return ms;
}

export interface ConvKernelRow {
  shape: string;
  layers: number;
  gflop: number;
  forward: number;
  forwardGemm: number;
  inputGradNaive: number;
  inputGradTiled: number;
  inputGradGemm: number;
  filterGradStock: number;
  filterGradOurs: number;
}

/** Times every distinct convolution shape of ResNet50 at `size` px, batch `batch`. */
export async function convKernelBench(
  size: number,
  batch: number,
  reps: number,
  log: (line: string) => void,
): Promise<{ rows: ConvKernelRow[]; totals: Omit<ConvKernelRow, 'shape' | 'layers'> }> {
  const stockFilter = stockConvFilterGradient();
  if (!stockFilter) throw new Error('our webgpu training kernels are not registered (run without --stock)');
  const model = createModel({ architecture: 'resnet50', inputSize: size, seed: 1 });
  const groups = new Map<string, { layer: ConvLayer; n: number }>();
  for (const l of modelLayers(model, batch)) {
    if (!isConv(l)) continue;
    const g = l.geometry;
    const key = `${g.kh}×${g.kw}/${g.sh} ${g.ci}→${g.co} ${g.h}×${g.w}→${g.oh}×${g.ow} ${l.pad}`;
    const e = groups.get(key);
    if (e) e.n++;
    else groups.set(key, { layer: l, n: 1 });
  }
  model.dispose();
  const rng = new Rng(5);
  const rand = (shape: number[]): tf.Tensor =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
      shape,
    );
  const rows: ConvKernelRow[] = [];
  log(
    `shape (× layers)                                  GFLOP   fwd ms  fwd gemm  dx naive  dx tiled   dx gemm  dW stock   dW ours`,
  );
  for (const [key, { layer, n }] of groups) {
    const g: ConvGeometry = layer.geometry;
    const x = rand([g.n, g.h, g.w, g.ci]);
    const w = rand([g.kh, g.kw, g.ci, g.co]);
    const bias = rand([g.co]);
    const dy = rand([g.n, g.oh, g.ow, g.co]);
    const strides: [number, number] = [g.sh, g.sw];
    const convAttrs = { strides, pad: layer.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const dispose = (t: tf.Tensor) => () => t.dispose();
    const fwd = (): (() => void) =>
      dispose(
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias, strides, pad: layer.pad }),
      );
    const mode = webGpuConvGemmMode();
    useWebGpuConvGemm('off');
    const forward = await time(reps, fwd);
    useWebGpuConvGemm('all');
    const forwardGemm = await time(reps, fwd).finally(() => useWebGpuConvGemm(mode));
    const inputGrad = async (program: 'naive' | 'tiled' | 'gemm'): Promise<number> => {
      forceConvInputGradProgram(program);
      try {
        return await time(reps, () =>
          dispose(
            tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
              ...convAttrs,
              inputShape: [g.n, g.h, g.w, g.ci],
            } as unknown as tf.NamedAttrMap) as tf.Tensor,
          ),
        );
      } finally {
        forceConvInputGradProgram(null);
      }
    };
    const inputGradNaive = await inputGrad('naive');
    const inputGradTiled = await inputGrad('tiled');
    const inputGradGemm = await inputGrad('gemm');
    const filterAttrs = { ...convAttrs, filterShape: [g.kh, g.kw, g.ci, g.co] };
    const filterGradStock = await time(reps, () => {
      const info = (stockFilter as unknown as (a: unknown) => tf.TensorInfo)({
        inputs: { x, dy },
        backend: tf.backend(),
        attrs: filterAttrs,
      });
      return () => (tf.backend() as unknown as Backend).disposeData(info.dataId);
    });
    const filterGradOurs = await time(reps, () =>
      dispose(
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            filterAttrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
      ),
    );
    tf.dispose([x, w, bias, dy]);
    const row: ConvKernelRow = {
      shape: key,
      layers: n,
      gflop: (2 * g.n * g.oh * g.ow * g.kh * g.kw * g.ci * g.co) / 1e9,
      forward,
      forwardGemm,
      inputGradNaive,
      inputGradTiled,
      inputGradGemm,
      filterGradStock,
      filterGradOurs,
    };
    rows.push(row);
    log(
      `${`${key} (×${n})`.padEnd(48)} ${row.gflop.toFixed(2).padStart(6)} ${[forward, forwardGemm, inputGradNaive, inputGradTiled, inputGradGemm, filterGradStock, filterGradOurs].map((v) => v.toFixed(3).padStart(9)).join(' ')}`,
    );
  }
  const sum = (k: keyof ConvKernelRow): number => rows.reduce((a, r) => a + (r[k] as number) * r.layers, 0);
  const totals = {
    gflop: sum('gflop'),
    forward: sum('forward'),
    forwardGemm: sum('forwardGemm'),
    inputGradNaive: sum('inputGradNaive'),
    inputGradTiled: sum('inputGradTiled'),
    inputGradGemm: sum('inputGradGemm'),
    filterGradStock: sum('filterGradStock'),
    filterGradOurs: sum('filterGradOurs'),
  };
  log(
    `per step (all ${rows.reduce((a, r) => a + r.layers, 0)} convolutions): ${totals.gflop.toFixed(1)} GFLOP per pass; forward stock ${totals.forward.toFixed(2)} / gemm ${totals.forwardGemm.toFixed(2)} ms, input gradient naive ${totals.inputGradNaive.toFixed(2)} / tiled ${totals.inputGradTiled.toFixed(2)} / gemm ${totals.inputGradGemm.toFixed(2)} ms, filter gradient stock ${totals.filterGradStock.toFixed(2)} / ours ${totals.filterGradOurs.toFixed(2)} ms`,
  );
  return { rows, totals };
}
