import * as tf from '@tensorflow/tfjs';

/** A channels-last conv2d's shapes, strides and padding, as the hand-written gradient kernels use them. */
export interface ConvGeometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  co: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  padTop: number;
  padLeft: number;
}

/**
 * The geometry of a conv2d (dilation 1, NHWC) from the input and filter shapes and the kernel's
 * attributes (`strides`, `pad`, `dimRoundingMode`), computed by tfjs' own `computeConv2DInfo`.
 */
export function convGeometry(
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    co: info.outChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** The geometry fields the WebGPU convolution programs declare as uniforms, in this order (WGSL). */
export const CONV_GEOMETRY_UNIFORMS =
  'h : i32, w : i32, ci : i32, kw : i32, co : i32, oh : i32, ow : i32, sh : i32, sw : i32, padTop : i32, padLeft : i32,';

/** Their values for tfjs' `runWebGPUProgram`, followed by `extra` int32 uniforms. */
export function convGeometryUniforms(
  g: ConvGeometry,
  ...extra: number[]
): Array<{ type: 'int32'; data: number[] }> {
  return [g.h, g.w, g.ci, g.kw, g.co, g.oh, g.ow, g.sh, g.sw, g.padTop, g.padLeft, ...extra].map((v) => ({
    type: 'int32' as const,
    data: [v],
  }));
}
