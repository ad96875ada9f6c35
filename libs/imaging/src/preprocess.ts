import sharp from 'sharp';
import { augmentUint8, type AugmentOptions } from './augment';
import { decodeScaled, type DecodeLimits } from './decode';
import { benGraham, clahe, type Enhancement } from './enhance';
import { detectFov, type Fov, type FovDetection } from './fov';
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
  /** `size * size * 3` bytes, RGB interleaved (HWC): the FOV's bounding square, FOV = inscribed circle. */
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

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 8 || size > 4096) {
    throw new RangeError(`preprocess: size must be an integer in 8..4096, got ${size}`);
  }
}

/**
 * Crops the square around a circle (centre/radius in `rgb`'s pixels) and resizes it to `size × size`,
 * padding with black where the square leaves the image. One sharp pipeline: extract → resize → extend.
 */
export async function cropSquare(
  rgb: Uint8Array,
  width: number,
  height: number,
  circle: Fov,
  size: number,
): Promise<Uint8Array> {
  const side = 2 * circle.r;
  const sx0 = circle.cx - circle.r;
  const sy0 = circle.cy - circle.r;
  const ix0 = Math.max(0, Math.round(sx0));
  const iy0 = Math.max(0, Math.round(sy0));
  const ix1 = Math.min(width, Math.round(sx0 + side));
  const iy1 = Math.min(height, Math.round(sy0 + side));
  if (ix1 - ix0 < 1 || iy1 - iy0 < 1 || !(side > 0)) return new Uint8Array(size * size * 3);
  const k = size / side;
  const rw = Math.min(size, Math.max(1, Math.round((ix1 - ix0) * k)));
  const rh = Math.min(size, Math.max(1, Math.round((iy1 - iy0) * k)));
  const left = Math.min(size - rw, Math.max(0, Math.round((ix0 - sx0) * k)));
  const top = Math.min(size - rh, Math.max(0, Math.round((iy0 - sy0) * k)));
  let p = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width, height, channels: 3 } })
    .extract({ left: ix0, top: iy0, width: ix1 - ix0, height: iy1 - iy0 })
    .resize(rw, rh, { fit: 'fill', kernel: 'lanczos3' });
  if (rw !== size || rh !== size) {
    p = p.extend({
      left,
      top,
      right: size - rw - left,
      bottom: size - rh - top,
      background: { r: 0, g: 0, b: 0 },
    });
  }
  const out = await p.raw().toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Decode → find the FOV → quality gate → square crop around the FOV → resize → optional enhancement.
 * Deterministic; the result is what a training cache stores. Decoding uses JPEG shrink-on-load so
 * that the shorter side is still ≥ `size` (no upsampling of a normal fundus photo).
 * Bad bytes raise `ImagingError`; a decodable but poor image returns `quality.gradable = false`.
 */
export async function preprocessToUint8(
  buf: Buffer,
  opts: PreprocessUint8Options,
): Promise<PreprocessUint8Result> {
  checkSize(opts.size);
  const img = await decodeScaled(buf, opts.size, opts.limits);
  const det: FovDetection = detectFov(img.data, img.width, img.height);
  const quality = assessQuality(img.data, img.width, img.height, det, opts.quality);
  let data = await cropSquare(img.data, img.width, img.height, det, opts.size);
  const enhance = opts.enhance ?? 'none';
  if (enhance === 'ben-graham') data = await benGraham(data, opts.size);
  else if (enhance === 'clahe') data = clahe(data, opts.size, opts.size);
  else if (enhance !== 'none') throw new RangeError(`preprocess: unknown enhancement '${String(enhance)}'`);
  return {
    data,
    size: opts.size,
    quality,
    fov: { cx: det.cx * img.scaleX, cy: det.cy * img.scaleY, r: det.r * Math.max(img.scaleX, img.scaleY) },
    sourceWidth: img.info.width,
    sourceHeight: img.info.height,
  };
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
  // Lookup tables: 3 × 256 floats, then one load per byte.
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
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
  const u = await preprocessToUint8(buf, opts);
  const rgb = opts.augment ? augmentUint8(u.data, u.size, opts.augment) : u.data;
  return { data: normalize(rgb, opts.mean, opts.std), size: u.size, quality: u.quality, fov: u.fov };
}
