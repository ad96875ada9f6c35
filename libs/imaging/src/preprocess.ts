import { augmentUint8, type AugmentOptions } from './augment';
import { decodeScaled, type DecodeLimits, type ScaledDecode } from './decode';
import { benGraham, clahe, type Enhancement } from './enhance';
import { detectFov, type Fov, type FovDetection } from './fov';
import { bilinearSquare, resampleSquare } from './resample';
import { assessQuality, type QualityGateOptions, type QualityReport } from './quality';

/** ImageNet channel means (RGB, on 0–1 values). */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB, on 0–1 values). */
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/** Options of {@link preprocess}. */
export interface PreprocessOptions {
  /** Output side in pixels (square), 8–4096. */
  size: number;
  /** Per-channel mean on 0–1 values. Default ImageNet. */
  mean?: [number, number, number];
  /** Per-channel std on 0–1 values. Default ImageNet. */
  std?: [number, number, number];
  /** Contrast enhancement of the crop. Default 'none'. */
  enhance?: Enhancement;
  /** Seeded training augmentation; omit for evaluation/scoring. */
  augment?: AugmentOptions;
  limits?: DecodeLimits;
  quality?: QualityGateOptions;
}

/** Options of {@link preprocessToUint8}: the deterministic, cacheable part of {@link PreprocessOptions}. */
export type PreprocessUint8Options = Pick<PreprocessOptions, 'size' | 'enhance' | 'limits' | 'quality'>;

/** Output of {@link preprocessToUint8}. */
export interface PreprocessUint8Result {
  /**
   * `size * size * 3` bytes, RGB interleaved (HWC): the FOV's bounding square, FOV = inscribed circle;
   * pixels outside the circle (beyond a 1-pixel margin) are black.
   */
  data: Uint8Array;
  size: number;
  quality: QualityReport;
  /** FOV in pixels of the full-resolution, EXIF-oriented image. */
  fov: Fov;
  /** Full-resolution width and height (after EXIF orientation). */
  sourceWidth: number;
  sourceHeight: number;
}

/** Output of {@link preprocess}. */
export interface PreprocessResult {
  /** NHWC with N = 1: `size * size * 3` float32, `(v/255 − mean[c]) / std[c]`. */
  data: Float32Array;
  size: number;
  quality: QualityReport;
  /** FOV in pixels of the full-resolution, EXIF-oriented image. */
  fov: Fov;
}

/** Working resolution relative to the output size (see preprocessToUint8). */
const WORK_FACTOR = 1.1;
const ENHANCEMENTS: readonly Enhancement[] = ['none', 'ben-graham', 'clahe'];
/** Smallest working shorter side (pixels), so the FOV spans ≥ ~2 pixels per quality-grid cell. */
const MIN_WORK_SHORT_SIDE = 212;
/** Largest reduction done with plain bilinear sampling; beyond it the antialiasing triangle filter is used. */
const BILINEAR_MAX_RATIO = 1.3;

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 8 || size > 4096) {
    throw new RangeError(`preprocess: size must be an integer in 8..4096, got ${size}`);
  }
}

interface Analysis {
  img: ScaledDecode;
  det: FovDetection;
  quality: QualityReport;
}

/** Decode at working resolution, find the FOV (re-decoding larger for a small disc), quality gate. */
async function analyse(buf: Buffer, opts: PreprocessUint8Options): Promise<Analysis> {
  checkSize(opts.size);
  // Work at ~1.1× the output size: a fundus disc spans 0.9–1.0 of the shorter side, so the crop is
  // then reduced slightly (never enlarged) and the decode stays as cheap as a plain thumbnail.
  // Never below MIN_WORK_SHORT_SIDE: the quality gate's measures must not depend on the output size.
  const work = Math.max(Math.ceil(opts.size * WORK_FACTOR), MIN_WORK_SHORT_SIDE);
  let img = await decodeScaled(
    buf,
    work,
    opts.limits,
    Math.min(work, Math.max(opts.size, MIN_WORK_SHORT_SIDE - 12)),
  );
  let det: FovDetection = detectFov(img.data, img.width, img.height);
  if (det.found && 2 * det.r < Math.max(opts.size, MIN_WORK_SHORT_SIDE * 0.85) && img.scaleX > 1.001) {
    // Small disc in a large file: decode again at the resolution that gives the crop ≥ size pixels.
    const need = Math.ceil((work * Math.min(img.width, img.height)) / (2 * det.r));
    const first = img;
    img = await decodeScaled(buf, need, opts.limits);
    // Search a window around the first estimate: the grid's cells then resolve the small disc finely.
    const sx = first.scaleX / img.scaleX;
    const sy = first.scaleY / img.scaleY;
    det = detectFov(img.data, img.width, img.height, {
      x: (det.cx - 1.3 * det.r) * sx,
      y: (det.cy - 1.3 * det.r) * sy,
      w: 2.6 * det.r * sx,
      h: 2.6 * det.r * sy,
    });
  }
  const quality = assessQuality(img.data, img.width, img.height, det, opts.quality);
  return { img, det, quality };
}

/** Square crop around the FOV resized to `size`: bilinear for small ratios, triangle filter beyond. */
function cropBytes(a: Analysis, size: number): Uint8Array {
  const { img, det } = a;
  return (2 * det.r) / size <= BILINEAR_MAX_RATIO
    ? bilinearSquare(img.data, img.width, img.height, det, size)
    : resampleSquare(img.data, img.width, img.height, det, size);
}

function fullResFov(a: Analysis): Fov {
  const { img, det } = a;
  return { cx: det.cx * img.scaleX, cy: det.cy * img.scaleY, r: det.r * Math.max(img.scaleX, img.scaleY) };
}

/**
 * Decode → find the FOV → quality gate → square crop around the FOV → resize → optional enhancement.
 * Deterministic; the result is what a training cache stores. Decoding uses JPEG shrink-on-load to a
 * shorter side of ~max(1.1 × `size`, 212 px) (re-decoding larger when the disc is small), so a normal fundus photo
 * is never upsampled.
 * Bad bytes raise `ImagingError`; a decodable but poor image returns `quality.gradable = false`.
 */
export async function preprocessToUint8(
  buf: Buffer,
  opts: PreprocessUint8Options,
): Promise<PreprocessUint8Result> {
  const enhance = opts.enhance ?? 'none';
  if (!ENHANCEMENTS.includes(enhance))
    throw new RangeError(`preprocess: unknown enhancement '${String(enhance)}'`);
  const a = await analyse(buf, opts);
  let data = cropBytes(a, opts.size);
  if (enhance === 'ben-graham') data = await benGraham(data, opts.size);
  else if (enhance === 'clahe') data = clahe(data, opts.size, opts.size);
  return {
    data,
    size: opts.size,
    quality: a.quality,
    fov: fullResFov(a),
    sourceWidth: a.img.info.width,
    sourceHeight: a.img.info.height,
  };
}

/** 3 × 256 lookup table (channel-major) of `(v / 255 − mean[c]) / std[c]`. */
function normalizeLut(mean: [number, number, number], std: [number, number, number]): Float32Array {
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  return lut;
}

/**
 * Normalises RGB bytes to float32: `(v / 255 − mean[c]) / std[c]`, channel c = index % 3.
 * @param rgb HWC bytes (any length divisible by 3). @returns Float32Array of the same length.
 */
export function normalize(
  rgb: Uint8Array,
  mean: [number, number, number] = IMAGENET_MEAN,
  std: [number, number, number] = IMAGENET_STD,
): Float32Array {
  if (rgb.length % 3 !== 0) throw new RangeError('normalize: length must be a multiple of 3');
  if (std.some((s) => !(s > 0))) throw new RangeError('normalize: std must be > 0');
  const out = new Float32Array(rgb.length);
  const lut = normalizeLut(mean, std);
  for (let i = 0; i < rgb.length; i += 3) {
    out[i] = lut[rgb[i]];
    out[i + 1] = lut[256 + rgb[i + 1]];
    out[i + 2] = lut[512 + rgb[i + 2]];
  }
  return out;
}

/** Inverse of {@link normalize}, clamped to bytes (for contact sheets and debugging). */
export function denormalize(
  data: Float32Array,
  mean: [number, number, number] = IMAGENET_MEAN,
  std: [number, number, number] = IMAGENET_STD,
): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = i % 3;
    const v = (data[i] * std[c] + mean[c]) * 255;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/**
 * Image file bytes → model input tensor data: {@link preprocessToUint8}, then seeded augmentation when
 * `opts.augment` is given, then {@link normalize}. Output is NHWC float32 of length `size * size * 3`.
 */
export async function preprocess(buf: Buffer, opts: PreprocessOptions): Promise<PreprocessResult> {
  const enhance = opts.enhance ?? 'none';
  if (!opts.augment && enhance === 'none') {
    // Scoring path: crop, resize and normalise in one pass (bit-identical to the byte path below).
    const a = await analyse(buf, opts);
    const mean = opts.mean ?? IMAGENET_MEAN;
    const std = opts.std ?? IMAGENET_STD;
    if ((2 * a.det.r) / opts.size <= BILINEAR_MAX_RATIO) {
      if (std.some((s) => !(s > 0))) throw new RangeError('normalize: std must be > 0');
      const { img, det } = a;
      const data = bilinearSquare(img.data, img.width, img.height, det, opts.size, normalizeLut(mean, std));
      return { data, size: opts.size, quality: a.quality, fov: fullResFov(a) };
    }
    return {
      data: normalize(cropBytes(a, opts.size), mean, std),
      size: opts.size,
      quality: a.quality,
      fov: fullResFov(a),
    };
  }
  const u = await preprocessToUint8(buf, opts);
  const rgb = opts.augment ? augmentUint8(u.data, u.size, opts.augment) : u.data;
  return { data: normalize(rgb, opts.mean, opts.std), size: u.size, quality: u.quality, fov: u.fov };
}
