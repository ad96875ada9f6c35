/**
 * A faster `Conv2DBackpropFilter` for the tfjs `webgpu` backend, built from the backend's own
 * kernels (reshape, strided slice, transpose, batch matmul, conv2d).
 *
 * The stock kernel (tfjs-backend-webgpu 4.22) runs one thread per filter element, each summing over
 * N·Ho·Wo products — e.g. 64·64·9 threads looping 100k times for a ResNet50 3×3 layer. Instead:
 * - 1×1 filters, no padding: dW = Xᵀ · dY, a matrix product over M = N·Ho·Wo rows, where X is the
 *   input (sliced with the stride first) as [M, Cin] and dY the output gradient as [M, Cout]; the
 *   backend's split-K matmul parallelises the long inner dimension.
 * - other filters: dW is the *forward* convolution of the input with the batch as channels,
 *   [Cin, H, W, N] ⊛ [Ho, Wo, N, Cout] with dilation = stride and the forward padding, which gives
 *   [Cin, kh, kw, Cout]; transposed to [kh, kw, Cin, Cout].
 * Both are exact reformulations (same sums in another order); channels-last only, other layouts use
 * the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { convGeometry, type ConvGeometry } from '../conv-geometry';

type TensorInfo = tf.TensorInfo;
interface BackendLike {
  disposeData(dataId: unknown, force?: boolean): boolean;
}
type KernelFn = (args: {
  inputs: Record<string, TensorInfo>;
  backend: BackendLike;
  attrs: Record<string, unknown>;
}) => TensorInfo;

function kernel(name: string): KernelFn {
  const cfg = tf.getKernel(name, 'webgpu');
  if (!cfg) throw new Error(`webgpu kernel ${name} is not registered`);
  return cfg.kernelFunc as unknown as KernelFn;
}

/** How a filter gradient is computed for a given geometry (exported for tests and the bench). */
export type FilterGradPath = 'matmul' | 'conv' | 'stock';

/** The conv2d geometry the filter-gradient kernel needs. */
export type FilterGradGeometry = ConvGeometry;

/** The geometry, or null for a layout the reformulations do not cover (not channels-last). */
function geometry(
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
): FilterGradGeometry | null {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') return null;
  return convGeometry(xShape, filterShape, attrs);
}

/** Which reformulation applies to a geometry. */
export function filterGradPath(g: FilterGradGeometry): FilterGradPath {
  if (g.kh === 1 && g.kw === 1 && g.padTop === 0 && g.padLeft === 0) return 'matmul';
  return 'conv';
}

function conv2DBackpropFilterWebGpu(
  stock: KernelFn,
): (args: {
  inputs: Record<string, TensorInfo>;
  backend: BackendLike;
  attrs: Record<string, unknown>;
}) => TensorInfo {
  const reshape = kernel('Reshape');
  const stridedSlice = kernel('StridedSlice');
  const transpose = kernel('Transpose');
  const batchMatMul = kernel('BatchMatMul');
  const conv2d = kernel('Conv2D');
  return (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x;
    const dy = inputs.dy;
    const filterShape = attrs.filterShape as number[];
    const g = geometry(x.shape, filterShape, attrs);
    if (!g || x.dtype !== 'float32') return stock(args);
    const temps: TensorInfo[] = [];
    const keep = (t: TensorInfo): TensorInfo => {
      temps.push(t);
      return t;
    };
    try {
      if (filterGradPath(g) === 'matmul') {
        // Rows the 1×1 filter actually reads: x[:, 0::sh, 0::sw, :] (exactly oh × ow of them).
        let xs = x;
        if (g.sh !== 1 || g.sw !== 1 || g.oh * g.sh < g.h || g.ow * g.sw < g.w) {
          xs = keep(
            stridedSlice({
              inputs: { x },
              backend,
              attrs: {
                begin: [0, 0, 0, 0],
                end: [g.n, (g.oh - 1) * g.sh + 1, (g.ow - 1) * g.sw + 1, g.ci],
                strides: [1, g.sh, g.sw, 1],
                beginMask: 0,
                endMask: 0,
                ellipsisMask: 0,
                newAxisMask: 0,
                shrinkAxisMask: 0,
              },
            }),
          );
        }
        const m = g.n * g.oh * g.ow;
        const a = keep(reshape({ inputs: { x: xs }, backend, attrs: { shape: [1, m, g.ci] } }));
        const b = keep(reshape({ inputs: { x: dy }, backend, attrs: { shape: [1, m, g.co] } }));
        const prod = keep(
          batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA: true, transposeB: false } }),
        );
        return reshape({ inputs: { x: prod }, backend, attrs: { shape: [1, 1, g.ci, g.co] } });
      }
      // Forward convolution with the batch as channels. Output rows r = 0..kh−1 read input rows
      // r + sh·i − padTop (i < oh); pad the bottom/right so that exactly kh × kw outputs come out,
      // cropping the input first where the forward pass never read its last rows/columns.
      const needH = (g.oh - 1) * g.sh + g.kh - g.padTop; // input rows the forward pass spans
      const needW = (g.ow - 1) * g.sw + g.kw - g.padLeft;
      let xc = x;
      const hUse = Math.min(g.h, needH);
      const wUse = Math.min(g.w, needW);
      if (hUse < g.h || wUse < g.w) {
        xc = keep(
          stridedSlice({
            inputs: { x },
            backend,
            attrs: {
              begin: [0, 0, 0, 0],
              end: [g.n, hUse, wUse, g.ci],
              strides: [1, 1, 1, 1],
              beginMask: 0,
              endMask: 0,
              ellipsisMask: 0,
              newAxisMask: 0,
              shrinkAxisMask: 0,
            },
          }),
        );
      }
      const xt = keep(transpose({ inputs: { x: xc }, backend, attrs: { perm: [3, 1, 2, 0] } }));
      const dyt = keep(transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }));
      const pad = [
        [0, 0],
        [g.padTop, needH - hUse],
        [g.padLeft, needW - wUse],
        [0, 0],
      ];
      const conv = keep(
        conv2d({
          inputs: { x: xt, filter: dyt },
          backend,
          attrs: {
            strides: [1, 1],
            pad,
            dataFormat: 'NHWC',
            dilations: [g.sh, g.sw],
            dimRoundingMode: undefined,
          },
        }),
      );
      return transpose({ inputs: { x: conv }, backend, attrs: { perm: [1, 2, 0, 3] } });
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

let registered = false;

/**
 * Registers the faster `Conv2DBackpropFilter` for the `webgpu` backend in place of the stock one
 * (process-wide; call after `@tensorflow/tfjs-backend-webgpu` is imported). Idempotent.
 * @throws Error when the webgpu backend's kernels are not registered.
 */
export function registerWebGpuConvFilterGradient(): void {
  if (registered) return;
  const stockCfg = tf.getKernel('Conv2DBackpropFilter', 'webgpu');
  if (!stockCfg) throw new Error('the webgpu backend is not loaded');
  const stock = stockCfg.kernelFunc as unknown as KernelFn;
  const fast = conv2DBackpropFilterWebGpu(stock);
  tf.unregisterKernel('Conv2DBackpropFilter', 'webgpu');
  tf.registerKernel({
    ...stockCfg,
    kernelFunc: fast as unknown as tf.KernelFunc,
  });
  registered = true;
}

/** True once `registerWebGpuConvFilterGradient` has replaced the stock kernel. */
export function webGpuConvFilterGradientRegistered(): boolean {
  return registered;
}
