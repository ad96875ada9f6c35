import { Rng } from './random';

/**
 * Seeded training augmentation. Ranges are symmetric maxima; set one to 0 to disable it.
 * The same `seed` (with the same options and input) always yields byte-identical output.
 */
export interface AugmentOptions {
  seed: number;
  /** Random horizontal flip (p = 0.5; left/right eyes mirror each other). Default true. */
  hflip?: boolean;
  /** Random vertical flip (p = 0.5). Default false. */
  vflip?: boolean;
  /** Max rotation in degrees, uniform in [−rotation, rotation]. Default 20. */
  rotation?: number;
  /** Max relative zoom, factor uniform in [1 − scale, 1 + scale]. Default 0.1. */
  scale?: number;
  /** Max shift as a fraction of the side, per axis. Default 0.05. */
  translate?: number;
  /** Max relative brightness change, factor in [1 − b, 1 + b]. Default 0.2. */
  brightness?: number;
  /** Max relative contrast change. Default 0.2. */
  contrast?: number;
  /** Max relative saturation change. Default 0.2. */
  saturation?: number;
}

/** Concrete parameters drawn for one augmentation. */
export interface AugmentParams {
  hflip: boolean;
  vflip: boolean;
  /** radians */
  angle: number;
  zoom: number;
  /** shift in pixels of the output */
  dx: number;
  dy: number;
  brightness: number;
  contrast: number;
  saturation: number;
}

/** Draws augmentation parameters for an image of `size` pixels; deterministic in `opts.seed`. */
export function sampleAugmentParams(opts: AugmentOptions, size: number): AugmentParams {
  const rng = new Rng(opts.seed);
  const rot = opts.rotation ?? 20;
  const sc = opts.scale ?? 0.1;
  const tr = opts.translate ?? 0.05;
  const br = opts.brightness ?? 0.2;
  const co = opts.contrast ?? 0.2;
  const sa = opts.saturation ?? 0.2;
  // Always draw every value so that disabling one option does not shift the others' random streams.
  const h = rng.chance(0.5);
  const v = rng.chance(0.5);
  return {
    hflip: (opts.hflip ?? true) && h,
    vflip: (opts.vflip ?? false) && v,
    angle: (rng.uniform(-rot, rot) * Math.PI) / 180,
    zoom: rng.uniform(1 - sc, 1 + sc),
    dx: rng.uniform(-tr, tr) * size,
    dy: rng.uniform(-tr, tr) * size,
    brightness: rng.uniform(1 - br, 1 + br),
    contrast: rng.uniform(1 - co, 1 + co),
    saturation: rng.uniform(1 - sa, 1 + sa),
  };
}

/**
 * Applies seeded augmentation to a square RGB crop.
 * Geometry: flips, rotation about the centre, zoom and shift, bilinear sampling, black outside.
 * Photometry (only on pixels inside the field of view, so the black surround stays black):
 * brightness (multiplicative), contrast (about the FOV's mean grey), saturation (about each pixel's grey).
 * @param rgb `size * size * 3` bytes. @returns a new array of the same shape.
 */
export function augmentUint8(rgb: Uint8Array, size: number, opts: AugmentOptions): Uint8Array {
  if (rgb.length !== size * size * 3) throw new RangeError(`augmentUint8: expected ${size * size * 3} bytes`);
  const p = sampleAugmentParams(opts, size);
  const out = new Uint8Array(rgb.length);
  const fov = new Uint8Array(size * size);
  const c = size / 2;
  const cos = Math.cos(p.angle) / p.zoom;
  const sin = Math.sin(p.angle) / p.zoom;
  const rIn = c * c;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Inverse map: output → source.
      const u = x + 0.5 - c - p.dx;
      const v = y + 0.5 - c - p.dy;
      let sx = cos * u + sin * v + c - 0.5;
      let sy = -sin * u + cos * v + c - 0.5;
      if (p.hflip) sx = size - 1 - sx;
      if (p.vflip) sy = size - 1 - sy;
      const o = (y * size + x) * 3;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 >= size || y0 >= size) continue;
      const fx = sx - x0;
      const fy = sy - y0;
      const dxs = sx + 0.5 - c;
      const dys = sy + 0.5 - c;
      if (dxs * dxs + dys * dys < rIn) fov[y * size + x] = 1;
      for (let ch = 0; ch < 3; ch++) {
        const s00 = x0 >= 0 && y0 >= 0 ? rgb[(y0 * size + x0) * 3 + ch] : 0;
        const s10 = x0 + 1 < size && y0 >= 0 ? rgb[(y0 * size + x0 + 1) * 3 + ch] : 0;
        const s01 = x0 >= 0 && y0 + 1 < size ? rgb[((y0 + 1) * size + x0) * 3 + ch] : 0;
        const s11 = x0 + 1 < size && y0 + 1 < size ? rgb[((y0 + 1) * size + x0 + 1) * 3 + ch] : 0;
        out[o + ch] = Math.round((s00 * (1 - fx) + s10 * fx) * (1 - fy) + (s01 * (1 - fx) + s11 * fx) * fy);
      }
    }
  }
  // Photometric jitter inside the FOV.
  let greySum = 0;
  let n = 0;
  for (let i = 0; i < size * size; i++) {
    if (!fov[i]) continue;
    greySum += 0.299 * out[i * 3] + 0.587 * out[i * 3 + 1] + 0.114 * out[i * 3 + 2];
    n++;
  }
  const meanGrey = n ? (greySum / n) * p.brightness : 0;
  for (let i = 0; i < size * size; i++) {
    if (!fov[i]) continue;
    const o = i * 3;
    let r = out[o] * p.brightness;
    let g = out[o + 1] * p.brightness;
    let b = out[o + 2] * p.brightness;
    r = (r - meanGrey) * p.contrast + meanGrey;
    g = (g - meanGrey) * p.contrast + meanGrey;
    b = (b - meanGrey) * p.contrast + meanGrey;
    const grey = 0.299 * r + 0.587 * g + 0.114 * b;
    out[o] = clampByte(grey + (r - grey) * p.saturation);
    out[o + 1] = clampByte(grey + (g - grey) * p.saturation);
    out[o + 2] = clampByte(grey + (b - grey) * p.saturation);
  }
  return out;
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
