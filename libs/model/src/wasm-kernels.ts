/**
 * Training kernels for the tfjs `wasm` backend.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter`, so no convolutional model can train on it,
 * and its `Conv2DBackpropInput` is a plain C++ loop. Both are rebuilt here from im2col/col2im in
 * JavaScript plus the backend's own `BatchMatMul` (XNNPACK), which is fast only when neither
 * transpose flag is set — so every operand is laid out explicitly and the flags stay false.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convGeometry as geometry, type ConvGeometry } from './conv-geometry';

type TensorInfo = tf.TensorInfo;

// Module-level copies: global lookups are slow inside vm contexts (e.g. Jest's).
const max = Math.max;
const min = Math.min;
const floor = Math.floor;
type KernelFn = (args: {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: Record<string, unknown>;
}) => TensorInfo;

/** Largest im2col block, in floats, built at once (bounds wasm heap growth for big batches). */
let maxBlockFloats = 8 * 1024 * 1024;

/**
 * Sets the largest im2col block (floats) the wasm backprop kernels build at once; returns the old
 * value. Smaller blocks bound memory, larger ones make fewer matmul calls. Default 8 Mi floats.
 */
export function setWasmKernelBlockFloats(n: number): number {
  const old = maxBlockFloats;
  maxBlockFloats = Math.max(1, Math.floor(n));
  return old;
}

function kernelFn(name: string): KernelFn {
  const cfg = tf.getKernel(name, 'wasm');
  if (!cfg) throw new Error(`wasm kernel ${name} is not registered`);
  return cfg.kernelFunc as unknown as KernelFn;
}

function isPointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0;
}

/** Images per block so that one im2col block stays under maxBlockFloats. */
function imagesPerBlock(g: ConvGeometry): number {
  const perImage = g.oh * g.ow * g.kh * g.kw * g.ci;
  return max(1, min(g.n, floor(maxBlockFloats / max(1, perImage))));
}

/** Fills `p` ([rows of images n0..n1) × K], row-major) with the im2col patches of `x` (NHWC). */
function im2col(x: Float32Array, p: Float32Array, g: ConvGeometry, n0: number, n1: number): void {
  const { h, w, ci, kh, kw, oh, ow, sh, sw, padTop, padLeft } = g;
  const k = kh * kw * ci;
  const rowW = w * ci;
  let row = 0;
  for (let n = n0; n < n1; n++) {
    const xImg = n * h * rowW;
    for (let y = 0; y < oh; y++) {
      const iy0 = y * sh - padTop;
      for (let xo = 0; xo < ow; xo++, row++) {
        const ix0 = xo * sw - padLeft;
        const kwLo = max(0, -ix0);
        const kwHi = min(kw, w - ix0);
        let dst = row * k;
        for (let a = 0; a < kh; a++, dst += kw * ci) {
          const iy = iy0 + a;
          if (iy < 0 || iy >= h || kwHi <= kwLo) {
            p.fill(0, dst, dst + kw * ci);
            continue;
          }
          if (kwLo > 0) p.fill(0, dst, dst + kwLo * ci);
          const src = xImg + iy * rowW + (ix0 + kwLo) * ci;
          p.set(x.subarray(src, src + (kwHi - kwLo) * ci), dst + kwLo * ci);
          if (kwHi < kw) p.fill(0, dst + kwHi * ci, dst + kw * ci);
        }
      }
    }
  }
}

/** Adds the column gradients `g` ([rows of images n0..n1) × K]) back into `dx` (NHWC). */
function col2imAdd(gcol: Float32Array, dx: Float32Array, g: ConvGeometry, n0: number, n1: number): void {
  const { h, w, ci, kh, kw, oh, ow, sh, sw, padTop, padLeft } = g;
  const k = kh * kw * ci;
  const rowW = w * ci;
  let row = 0;
  for (let n = n0; n < n1; n++) {
    const xImg = n * h * rowW;
    for (let y = 0; y < oh; y++) {
      const iy0 = y * sh - padTop;
      for (let xo = 0; xo < ow; xo++, row++) {
        const ix0 = xo * sw - padLeft;
        const kwLo = max(0, -ix0);
        const kwHi = min(kw, w - ix0);
        if (kwHi <= kwLo) continue;
        const len = (kwHi - kwLo) * ci;
        for (let a = 0; a < kh; a++) {
          const iy = iy0 + a;
          if (iy < 0 || iy >= h) continue;
          const src = row * k + (a * kw + kwLo) * ci;
          const dst = xImg + iy * rowW + (ix0 + kwLo) * ci;
          for (let i = 0; i < len; i++) dx[dst + i] += gcol[src + i];
        }
      }
    }
  }
}

/** Like col2imAdd, but the column gradients are transposed: `gT` is [K × M] for all M rows. */
function col2imAddTransposed(gT: Float32Array, dx: Float32Array, g: ConvGeometry, m: number): void {
  const { n, h, w, ci, kh, kw, oh, ow, sh, sw, padTop, padLeft } = g;
  const rowW = w * ci;
  let row = 0;
  for (let img = 0; img < n; img++) {
    const xImg = img * h * rowW;
    for (let y = 0; y < oh; y++) {
      const iy0 = y * sh - padTop;
      for (let xo = 0; xo < ow; xo++, row++) {
        const ix0 = xo * sw - padLeft;
        const kwLo = max(0, -ix0);
        const kwHi = min(kw, w - ix0);
        if (kwHi <= kwLo) continue;
        const len = (kwHi - kwLo) * ci;
        for (let a = 0; a < kh; a++) {
          const iy = iy0 + a;
          if (iy < 0 || iy >= h) continue;
          let src = (a * kw + kwLo) * ci * m + row;
          const dst = xImg + iy * rowW + (ix0 + kwLo) * ci;
          for (let i = 0; i < len; i++, src += m) dx[dst + i] += gT[src];
        }
      }
    }
  }
}

/**
 * Conv2DBackpropFilter for wasm: dW[K, CO] = P[M, K]ᵀ · dY[M, CO] with P the im2col patches,
 * computed block by block with explicit (native) transposes, no transpose flags.
 * Inputs x [N, H, W, CI], dy [N, OH, OW, CO]; output [KH, KW, CI, CO]. NHWC only, dilation 1.
 */
function conv2DBackpropFilterWasm(args: {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: Record<string, unknown>;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  if (attrs.dataFormat != null && attrs.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${String(attrs.dataFormat)}`);
  }
  const g = geometry(x.shape, filterShape, attrs);
  const k = g.kh * g.kw * g.ci;
  const mImg = g.oh * g.ow;
  const matMul = kernelFn('BatchMatMul');
  const transpose = kernelFn('Transpose');

  const block = imagesPerBlock(g);
  const pointwise = isPointwise(g);
  const blocks = Math.ceil(g.n / block);
  const mb0 = min(block, g.n) * mImg;
  // Two layouts, no transpose flags either way; pick the one that transposes fewer floats
  // (the wasm Transpose kernel is slower than the GEMM here):
  //  patches-first: dW[K, CO] = Pᵀ[K, Mb] · dY[Mb, CO]             transposes P (Mb·K)
  //  dy-first:      dWᵀ[CO, K] = dYᵀ[CO, Mb] · P[Mb, K], then ᵀ    transposes dY (Mb·CO) and dWᵀ (K·CO)
  const patchesFirst = mb0 * k <= (mb0 + k) * g.co;
  // Several blocks are summed in JS, in the layout of the product.
  const acc = blocks > 1 ? new Float32Array(k * g.co) : undefined;
  let product: TensorInfo | undefined;
  for (let n0 = 0; n0 < g.n; n0 += block) {
    const n1 = min(g.n, n0 + block);
    const mb = (n1 - n0) * mImg;
    const whole = n0 === 0 && n1 === g.n;
    let dyBlock: TensorInfo = { dataId: dy.dataId, shape: [1, mb, g.co], dtype: 'float32' };
    if (!whole) {
      dyBlock = backend.makeOutput([1, mb, g.co], 'float32');
      const src = backend.typedArrayFromHeap(dy) as Float32Array;
      (backend.typedArrayFromHeap(dyBlock) as Float32Array).set(
        src.subarray(n0 * mImg * g.co, n1 * mImg * g.co),
      );
    }
    let patches: TensorInfo;
    let ownPatches = true;
    if (pointwise && whole) {
      patches = { dataId: x.dataId, shape: [1, mb, k], dtype: 'float32' };
      ownPatches = false;
    } else {
      patches = backend.makeOutput([1, mb, k], 'float32');
      const xs = backend.typedArrayFromHeap(x) as Float32Array;
      im2col(xs, backend.typedArrayFromHeap(patches) as Float32Array, g, n0, n1);
    }
    const [a, b] = patchesFirst
      ? [transpose({ inputs: { x: patches }, backend, attrs: { perm: [0, 2, 1] } }), dyBlock]
      : [transpose({ inputs: { x: dyBlock }, backend, attrs: { perm: [0, 2, 1] } }), patches];
    const prod = matMul({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } });
    backend.disposeData(a.dataId);
    if (ownPatches) backend.disposeData(patches.dataId);
    if (!whole) backend.disposeData(dyBlock.dataId);
    if (!acc) {
      product = prod;
      break;
    }
    const prodArr = backend.typedArrayFromHeap(prod) as Float32Array;
    for (let i = 0; i < acc.length; i++) acc[i] += prodArr[i];
    backend.disposeData(prod.dataId);
  }
  if (product && patchesFirst) return { dataId: product.dataId, shape: filterShape, dtype: 'float32' };
  if (product) {
    const t = transpose({
      inputs: { x: { dataId: product.dataId, shape: [g.co, k], dtype: 'float32' } },
      backend,
      attrs: { perm: [1, 0] },
    });
    backend.disposeData(product.dataId);
    return { dataId: t.dataId, shape: filterShape, dtype: 'float32' };
  }
  const out = backend.makeOutput(filterShape, 'float32');
  const outArr = backend.typedArrayFromHeap(out) as Float32Array;
  const sums = acc as Float32Array;
  if (patchesFirst) {
    outArr.set(sums);
  } else {
    for (let c = 0; c < g.co; c++) {
      const base = c * k;
      for (let j = 0; j < k; j++) outArr[j * g.co + c] = sums[base + j];
    }
  }
  return out;
}

/**
 * Conv2DBackpropInput for wasm: G[M, K] = dY[M, CO] · Wᵀ[CO, K] with the backend's matmul, then
 * col2im scatter-add into dX [N, H, W, CI]. Inputs dy [N, OH, OW, CO], filter [KH, KW, CI, CO].
 */
function conv2DBackpropInputWasm(args: {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: Record<string, unknown>;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const inputShape = attrs.inputShape as number[];
  if (attrs.dataFormat != null && attrs.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropInput (wasm): only NHWC is supported, got ${String(attrs.dataFormat)}`);
  }
  const g = geometry(inputShape, filter.shape, attrs);
  const k = g.kh * g.kw * g.ci;
  const mImg = g.oh * g.ow;
  const matMul = kernelFn('BatchMatMul');
  const transpose = kernelFn('Transpose');

  const m = g.n * mImg;
  // Which operand XNNPACK packs matters when one side is small: with few output positions
  // (deep layers, M < K) compute Gᵀ[K, M] = W[K, CO] · dYᵀ[CO, M] so the small dYᵀ is packed.
  if (m < k) {
    const dyT = transpose({
      inputs: { x: { dataId: dy.dataId, shape: [m, g.co], dtype: 'float32' } },
      backend,
      attrs: { perm: [1, 0] },
    });
    const gT = matMul({
      inputs: {
        a: { dataId: filter.dataId, shape: [1, k, g.co], dtype: 'float32' },
        b: { dataId: dyT.dataId, shape: [1, g.co, m], dtype: 'float32' },
      },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    backend.disposeData(dyT.dataId);
    if (isPointwise(g)) {
      const dx = transpose({
        inputs: { x: { dataId: gT.dataId, shape: [k, m], dtype: 'float32' } },
        backend,
        attrs: { perm: [1, 0] },
      });
      backend.disposeData(gT.dataId);
      return { dataId: dx.dataId, shape: inputShape, dtype: 'float32' };
    }
    const out = backend.makeOutput(inputShape, 'float32');
    const outArr = backend.typedArrayFromHeap(out) as Float32Array;
    outArr.fill(0);
    col2imAddTransposed(backend.typedArrayFromHeap(gT) as Float32Array, outArr, g, m);
    backend.disposeData(gT.dataId);
    return out;
  }

  const wT = transpose({
    inputs: { x: { dataId: filter.dataId, shape: [k, g.co], dtype: 'float32' } },
    backend,
    attrs: { perm: [1, 0] },
  });
  const wT3: TensorInfo = { dataId: wT.dataId, shape: [1, g.co, k], dtype: 'float32' };

  if (isPointwise(g)) {
    const prod = matMul({
      inputs: { a: { dataId: dy.dataId, shape: [1, m, g.co], dtype: 'float32' }, b: wT3 },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    backend.disposeData(wT.dataId);
    return { dataId: prod.dataId, shape: inputShape, dtype: 'float32' };
  }

  const out = backend.makeOutput(inputShape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  const block = imagesPerBlock(g);
  for (let n0 = 0; n0 < g.n; n0 += block) {
    const n1 = min(g.n, n0 + block);
    const mb = (n1 - n0) * mImg;
    let dyBlock: TensorInfo = { dataId: dy.dataId, shape: [1, mb, g.co], dtype: 'float32' };
    const whole = n0 === 0 && n1 === g.n;
    if (!whole) {
      dyBlock = backend.makeOutput([1, mb, g.co], 'float32');
      const src = backend.typedArrayFromHeap(dy) as Float32Array;
      (backend.typedArrayFromHeap(dyBlock) as Float32Array).set(
        src.subarray(n0 * mImg * g.co, n1 * mImg * g.co),
      );
    }
    const cols = matMul({
      inputs: { a: dyBlock, b: wT3 },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    if (!whole) backend.disposeData(dyBlock.dataId);
    col2imAdd(
      backend.typedArrayFromHeap(cols) as Float32Array,
      backend.typedArrayFromHeap(out) as Float32Array,
      g,
      n0,
      n1,
    );
    backend.disposeData(cols.dataId);
  }
  backend.disposeData(wT.dataId);
  return out;
}

/**
 * Sum/Mean over all axes but the last (per-channel statistics of NHWC tensors: batch norm's
 * moments and its gradient). The stock wasm kernels first transpose the whole tensor to make the
 * reduced axes innermost, which costs more than the reduction for tall [rows, C] views; a running
 * column sum (float32, like the stock kernel) in JavaScript reads the tensor once, in order. Other
 * reductions, and wide views (rows < 4·C), go to the stock kernel.
 */
function leadingAxesReduction(original: tf.KernelConfig, mean: boolean): tf.KernelConfig {
  const stock = original.kernelFunc as unknown as KernelFn;
  const kernelFunc = (args: {
    inputs: Record<string, TensorInfo>;
    backend: BackendWasm;
    attrs: Record<string, unknown>;
  }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const rank = x.shape.length;
    const size = x.shape.reduce((a, b) => a * b, 1);
    if (x.dtype !== 'float32' || rank < 2 || size === 0) return stock(args);
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
    if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return stock(args);
    const c = x.shape[rank - 1];
    const rows = size / c;
    // Wide, short tensors (deep layers: few positions, many channels) transpose cheaply: stock kernel.
    if (rows < 4 * c) return stock(args);
    const acc = new Float32Array(c);
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    for (let r = 0, base = 0; r < rows; r++, base += c) {
      for (let j = 0; j < c; j++) acc[j] += xs[base + j];
    }
    const shape = attrs.keepDims ? [...Array.from({ length: rank - 1 }, () => 1), c] : [c];
    const out = backend.makeOutput(shape, 'float32');
    const o = backend.typedArrayFromHeap(out) as Float32Array;
    for (let j = 0; j < c; j++) o[j] = mean ? acc[j] / rows : acc[j];
    return out;
  };
  return { ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
}

let registered = false;

/**
 * Registers our `Conv2DBackpropFilter` and `Conv2DBackpropInput` for the `wasm` backend
 * (replacing the stock, slow backprop-input kernel), and per-channel fast paths for `Sum` and
 * `Mean`. Idempotent; call before training on wasm.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  if (tf.getKernel('Conv2DBackpropInput', 'wasm')) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropInputWasm as unknown as tf.KernelFunc,
  });
  for (const [name, mean] of [
    ['Sum', false],
    ['Mean', true],
  ] as const) {
    const original = tf.getKernel(name, 'wasm');
    if (!original) continue;
    tf.unregisterKernel(name, 'wasm');
    // Keeps the stock setupFunc: the stock kernel, still used for other reductions, needs it.
    tf.registerKernel(leadingAxesReduction(original, mean));
  }
  registered = true;
}
