import sharp from 'sharp';
import type { Metadata, OutputInfo, Sharp, SharpOptions } from 'sharp';
import { ImagingError } from './errors';
import { sniffHeader } from './sniff';

/** Safety limits applied before and during decoding. */
export interface DecodeLimits {
  /** Largest accepted `width × height` (after EXIF orientation). Default 50 000 000 (≈ 8660²). */
  maxPixels?: number;
  /** Largest accepted encoded size in bytes. Default 50 MiB. */
  maxBytes?: number;
  /** Smallest accepted side in pixels. Default 32. */
  minSide?: number;
}

/** Defaults for {@link DecodeLimits}. Fundus cameras top out around 24 MP; 50 MP leaves headroom. */
export const DEFAULT_LIMITS: Required<DecodeLimits> = {
  maxPixels: 50_000_000,
  maxBytes: 50 * 1024 * 1024,
  minSide: 32,
};

/** Formats we decode. Everything else (SVG, PDF, HEIF, RAW, …) is refused as `unsupported`. */
export const SUPPORTED_FORMATS = ['jpeg', 'png', 'webp', 'tiff', 'gif'] as const;
export type SupportedFormat = (typeof SUPPORTED_FORMATS)[number];

/** A decoded image: 8-bit sRGB, 3 channels, row-major HWC, EXIF orientation already applied. */
export interface DecodedImage {
  /** `width * height * 3` bytes, R G B interleaved, rows top to bottom. */
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** Header facts, validated against the limits. Width/height are after EXIF orientation. */
export interface ImageInfo {
  format: SupportedFormat;
  width: number;
  height: number;
  /** EXIF orientation tag 1–8 (1 when absent). */
  orientation: number;
}

function resolveLimits(limits?: DecodeLimits): Required<DecodeLimits> {
  const l = { ...DEFAULT_LIMITS, ...(limits ?? {}) };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`imaging limits.${k} must be a finite number ≥ 0`);
  }
  return l;
}

/** Maps an error thrown by sharp/libvips to an {@link ImagingError}. */
export function toImagingError(e: unknown): ImagingError {
  if (e instanceof ImagingError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/unsupported image format/i.test(msg))
    return new ImagingError('unsupported', 'not a supported image', { cause: e });
  if (/pixel limit/i.test(msg))
    return new ImagingError('too-many-pixels', 'image exceeds the pixel limit', { cause: e });
  if (/buffer is empty/i.test(msg)) return new ImagingError('empty', 'input is empty', { cause: e });
  const truncated = /premature end|truncat|end of (file|stream)/i.test(msg);
  // The libvips message can contain file-internal detail but never pixel content; keep it first-line only.
  const detail = msg.split('\n')[0].slice(0, 160);
  return new ImagingError(
    'corrupt',
    truncated ? `truncated image data (${detail})` : `cannot decode image (${detail})`,
    {
      cause: e,
    },
  );
}

function checkBytes(buf: Buffer | Uint8Array, l: Required<DecodeLimits>): void {
  if (!buf || buf.length === 0) throw new ImagingError('empty', 'input is empty');
  if (buf.length > l.maxBytes) {
    throw new ImagingError('too-many-bytes', `input is ${buf.length} bytes; the limit is ${l.maxBytes}`);
  }
}

/** sharp constructor options shared by every decode: fail on real errors (truncation, CRC), cap pixels. */
export function sharpInputOptions(l: Required<DecodeLimits>): SharpOptions {
  return { failOn: 'error', limitInputPixels: Math.max(1, Math.floor(l.maxPixels)), sequentialRead: true };
}

/**
 * Reads and validates the header only (no pixel decode): JPEG and PNG headers are parsed here, other
 * formats by libvips. Throws {@link ImagingError} with codes
 * `empty`, `too-many-bytes`, `unsupported`, `corrupt`, `too-many-pixels`, `too-small`.
 */
export async function inspectImage(buf: Buffer, limits?: DecodeLimits): Promise<ImageInfo> {
  const l = resolveLimits(limits);
  checkBytes(buf, l);
  const sniffed = sniffHeader(buf);
  let format: string;
  let w: number;
  let h: number;
  let orientation: number;
  if (sniffed) {
    ({ format, width: w, height: h, orientation } = sniffed);
  } else {
    let meta: Metadata;
    try {
      // limitInputPixels is not applied by metadata(); we check the header's claim ourselves below.
      meta = await sharp(buf, { failOn: 'error', limitInputPixels: false }).metadata();
    } catch (e) {
      throw toImagingError(e);
    }
    format = meta.format as string;
    orientation = meta.orientation && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
    w = meta.width ?? 0;
    h = meta.height ?? 0;
  }
  if (!(SUPPORTED_FORMATS as readonly string[]).includes(format)) {
    throw new ImagingError('unsupported', `format '${format}' is not accepted`);
  }
  if (!(w > 0 && h > 0)) throw new ImagingError('corrupt', 'header has no valid dimensions');
  if (w * h > l.maxPixels) {
    throw new ImagingError('too-many-pixels', `header claims ${w}×${h} pixels; the limit is ${l.maxPixels}`);
  }
  if (Math.min(w, h) < l.minSide) {
    throw new ImagingError('too-small', `image is ${w}×${h}; the smallest accepted side is ${l.minSide}`);
  }
  const swap = orientation >= 5;
  return {
    format: format as SupportedFormat,
    width: swap ? h : w,
    height: swap ? w : h,
    orientation,
  };
}

/** Adds the common colour steps: EXIF rotate, alpha flattened onto black, 8-bit sRGB, raw bytes. */
function toRgbPipeline(p: Sharp): Sharp {
  return p.flatten({ background: '#000000' }).toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' });
}

async function runToRgb(build: () => Sharp): Promise<DecodedImage> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    // Building the pipeline can throw synchronously (bad options, empty input): map that too.
    out = await build().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw toImagingError(e);
  }
  if (out.info.channels !== 3 || out.data.length !== out.info.width * out.info.height * 3) {
    throw new ImagingError('corrupt', `decoder returned ${out.info.channels} channels`);
  }
  return {
    data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length),
    width: out.info.width,
    height: out.info.height,
    channels: 3,
  };
}

/**
 * Decodes JPEG (baseline/progressive, CMYK), PNG (8/16-bit, palette, grey, alpha), WebP, TIFF or GIF
 * (first frame) into 8-bit sRGB RGB bytes with EXIF orientation applied and alpha flattened onto black.
 * Never throws anything but {@link ImagingError} for bad input (see its codes).
 */
export async function decodeImage(buf: Buffer, limits?: DecodeLimits): Promise<DecodedImage> {
  const l = resolveLimits(limits);
  await inspectImage(buf, l);
  return runToRgb(() => toRgbPipeline(sharp(buf, sharpInputOptions(l)).rotate()));
}

/** A decode at reduced resolution plus the geometry needed to map back to full-resolution pixels. */
export interface ScaledDecode extends DecodedImage {
  info: ImageInfo;
  /** Full-resolution pixels per decoded pixel, along x and y. */
  scaleX: number;
  scaleY: number;
}

/**
 * Decodes at reduced resolution so that the shorter side is about `minShortSide` (never upsampled).
 * For JPEG, sharp's shrink-on-load then decodes at 1/2, 1/4 or 1/8 scale in the DCT and only a small
 * triangle-filter reduction follows. libvips halves the DCT scale when the shrink's integer part equals
 * it (a libjpeg rounding guard), so when the requested shrink lands in [4, 5) or [8, 9) we shrink a
 * little further (to 5 or 9) if that keeps the shorter side ≥ `floorShortSide`: same picture, half the decode work.
 */
export async function decodeScaled(
  buf: Buffer,
  minShortSide: number,
  limits?: DecodeLimits,
  floorShortSide = minShortSide,
): Promise<ScaledDecode> {
  const l = resolveLimits(limits);
  const info = await inspectImage(buf, l);
  const short = Math.min(info.width, info.height);
  let shrink = short / minShortSide;
  for (const p of [8, 4, 2]) {
    if (shrink >= p && shrink < p + 1 && short / (p + 1) >= floorShortSide) {
      shrink = p + 1;
      break;
    }
  }
  const img = await runToRgb(() => {
    const p = sharp(buf, sharpInputOptions(l)).rotate();
    if (shrink <= 1) return toRgbPipeline(p);
    const w = Math.max(1, Math.round(info.width / shrink));
    const h = Math.max(1, Math.round(info.height / shrink));
    return toRgbPipeline(p.resize(w, h, { fit: 'fill', kernel: 'linear' }));
  });
  return { ...img, info, scaleX: info.width / img.width, scaleY: info.height / img.height };
}
