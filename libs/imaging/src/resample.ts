import type { Fov } from './fov';

interface Taps {
  /** first source index per output index */
  start: Int32Array;
  /** number of taps per output index */
  count: Int32Array;
  /** weights, `maxTaps` per output index, already normalised (out-of-image taps count as black) */
  weights: Float32Array;
  maxTaps: number;
}

/** Triangle-filter taps for `n` outputs covering source [origin, origin + n·step), antialiased when step > 1. */
function taps(origin: number, step: number, n: number, limit: number): Taps {
  const radius = Math.max(1, step);
  const maxTaps = Math.ceil(2 * radius) + 1;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Float32Array(n * maxTaps);
  for (let i = 0; i < n; i++) {
    const c = origin + (i + 0.5) * step - 0.5;
    const j0 = Math.ceil(c - radius);
    const j1 = Math.floor(c + radius);
    let total = 0;
    for (let j = j0; j <= j1; j++) total += Math.max(0, 1 - Math.abs(j - c) / radius);
    // Keep only in-image taps; the weight of the others is black (0) — so a square that leaves the
    // image fades to black exactly at the image border.
    const a = Math.max(0, j0);
    const b = Math.min(limit - 1, j1);
    start[i] = a;
    count[i] = Math.max(0, b - a + 1);
    for (let j = a; j <= b; j++)
      weights[i * maxTaps + (j - a)] = Math.max(0, 1 - Math.abs(j - c) / radius) / (total || 1);
  }
  return { start, count, weights, maxTaps };
}

/**
 * Resamples the square bounding `circle` (centre/radius in `rgb`'s pixels) to `size × size` with a
 * separable triangle filter (bilinear when enlarging, area-like antialiasing when reducing). Parts of
 * the square outside the image, and outside the FOV circle (see {@link maskOutsideCircle}), are black.
 * Pure JS: cheaper than a second native pipeline at these sizes.
 * @param rgb `width * height * 3` bytes. @returns `size * size * 3` bytes.
 */
export function resampleSquare(
  rgb: Uint8Array,
  width: number,
  height: number,
  circle: Fov,
  size: number,
): Uint8Array {
  const step = (2 * circle.r) / size;
  const tx = taps(circle.cx - circle.r, step, size, width);
  const ty = taps(circle.cy - circle.r, step, size, height);
  // Source rows that any output row needs.
  let rowLo = height;
  let rowHi = -1;
  for (let i = 0; i < size; i++) {
    if (ty.count[i] === 0) continue;
    rowLo = Math.min(rowLo, ty.start[i]);
    rowHi = Math.max(rowHi, ty.start[i] + ty.count[i] - 1);
  }
  const out = new Uint8Array(size * size * 3);
  if (rowHi < rowLo) return out;
  const rows = rowHi - rowLo + 1;
  const tmp = new Float32Array(rows * size * 3);
  for (let y = rowLo; y <= rowHi; y++) {
    const src = y * width * 3;
    const dst = (y - rowLo) * size * 3;
    for (let i = 0; i < size; i++) {
      const n = tx.count[i];
      let p = src + tx.start[i] * 3;
      let w = i * tx.maxTaps;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < n; k++, p += 3, w++) {
        const f = tx.weights[w];
        r += rgb[p] * f;
        g += rgb[p + 1] * f;
        b += rgb[p + 2] * f;
      }
      tmp[dst + i * 3] = r;
      tmp[dst + i * 3 + 1] = g;
      tmp[dst + i * 3 + 2] = b;
    }
  }
  const rowStride = size * 3;
  for (let j = 0; j < size; j++) {
    const n = ty.count[j];
    if (n === 0) continue;
    const base = (ty.start[j] - rowLo) * rowStride;
    const wBase = j * ty.maxTaps;
    const o = j * rowStride;
    for (let x = 0; x < rowStride; x++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += tmp[base + k * rowStride + x] * ty.weights[wBase + k];
      out[o + x] = s <= 0 ? 0 : s >= 255 ? 255 : s + 0.5;
    }
  }
  return maskOutsideCircle(out, size);
}

/**
 * Bilinear resampling of the square bounding `circle` to `size × size` (black outside the image and
 * outside the circle, like {@link maskOutsideCircle}; those pixels are not even sampled). Only
 * right for reductions up to ~1.3× (no antialiasing); {@link resampleSquare} handles any ratio.
 * When `lut` (768 floats: channel-major, 256 per channel) is given, writes `lut[c·256 + round(v)]` into
 * a Float32Array instead of bytes — i.e. resampling and normalisation in one pass, bit-identical to
 * normalising the byte output.
 */
export function bilinearSquare(
  rgb: Uint8Array,
  width: number,
  height: number,
  circle: Fov,
  size: number,
): Uint8Array;
export function bilinearSquare(
  rgb: Uint8Array,
  width: number,
  height: number,
  circle: Fov,
  size: number,
  lut: Float32Array,
): Float32Array;
export function bilinearSquare(
  rgb: Uint8Array,
  width: number,
  height: number,
  circle: Fov,
  size: number,
  lut?: Float32Array,
): Uint8Array | Float32Array {
  const step = (2 * circle.r) / size;
  const ox = circle.cx - circle.r;
  const oy = circle.cy - circle.r;
  // Per column/row: two source indices (clamped) and their weights (0 for taps outside the image).
  const xi0 = new Int32Array(size);
  const xi1 = new Int32Array(size);
  const xw0 = new Float32Array(size);
  const xw1 = new Float32Array(size);
  const yi0 = new Int32Array(size);
  const yi1 = new Int32Array(size);
  const yw0 = new Float32Array(size);
  const yw1 = new Float32Array(size);
  const setup = (
    o: number,
    limit: number,
    i0: Int32Array,
    i1: Int32Array,
    w0: Float32Array,
    w1: Float32Array,
    mul: number,
  ) => {
    for (let i = 0; i < size; i++) {
      const c = o + (i + 0.5) * step - 0.5;
      const a = Math.floor(c);
      const f = c - a;
      const inA = a >= 0 && a < limit;
      const inB = a + 1 >= 0 && a + 1 < limit;
      i0[i] = (inA ? a : 0) * mul;
      i1[i] = (inB ? a + 1 : 0) * mul;
      w0[i] = inA ? 1 - f : 0;
      w1[i] = inB ? f : 0;
    }
  };
  setup(ox, width, xi0, xi1, xw0, xw1, 3);
  setup(oy, height, yi0, yi1, yw0, yw1, width * 3);
  const n = size * size * 3;
  const out = lut ? new Float32Array(n) : new Uint8Array(n);
  // Without a LUT, an identity table gives the bytes: one loop body for both outputs.
  const table = lut ?? IDENTITY_LUT;
  const black0 = table[0];
  const black1 = table[256];
  const black2 = table[512];
  const half = size / 2;
  const rMask = (half + MASK_MARGIN) ** 2;
  for (let y = 0; y < size; y++) {
    const r0 = yi0[y];
    const r1 = yi1[y];
    const a0 = yw0[y];
    const a1 = yw1[y];
    // Only the pixels inside the FOV circle are sampled; the rest is black (see maskOutsideCircle).
    const dy = y + 0.5 - half;
    const span = rMask > dy * dy ? Math.sqrt(rMask - dy * dy) : -1;
    const xs = span < 0 ? size : Math.max(0, Math.ceil(half - span - 0.5));
    const xe = span < 0 ? size : Math.min(size, Math.floor(half + span - 0.5) + 1);
    let o = y * size * 3;
    for (let x = 0; x < xs; x++, o += 3) {
      out[o] = black0;
      out[o + 1] = black1;
      out[o + 2] = black2;
    }
    for (let x = xs; x < xe; x++, o += 3) {
      const b0 = xw0[x];
      const b1 = xw1[x];
      const w00 = a0 * b0;
      const w01 = a0 * b1;
      const w10 = a1 * b0;
      const w11 = a1 * b1;
      const p00 = r0 + xi0[x];
      const p01 = r0 + xi1[x];
      const p10 = r1 + xi0[x];
      const p11 = r1 + xi1[x];
      out[o] = table[(rgb[p00] * w00 + rgb[p01] * w01 + rgb[p10] * w10 + rgb[p11] * w11 + 0.5) | 0];
      out[o + 1] =
        table[
          256 +
            ((rgb[p00 + 1] * w00 + rgb[p01 + 1] * w01 + rgb[p10 + 1] * w10 + rgb[p11 + 1] * w11 + 0.5) | 0)
        ];
      out[o + 2] =
        table[
          512 +
            ((rgb[p00 + 2] * w00 + rgb[p01 + 2] * w01 + rgb[p10 + 2] * w10 + rgb[p11 + 2] * w11 + 0.5) | 0)
        ];
    }
    for (let x = Math.max(xs, xe); x < size; x++, o += 3) {
      out[o] = black0;
      out[o + 1] = black1;
      out[o + 2] = black2;
    }
  }
  return out;
}

/** Pixels whose centre lies more than this (output pixels) outside the FOV circle are set to black. */
const MASK_MARGIN = 1;

/**
 * Sets every pixel of a square `size × size` RGB crop whose centre lies outside the inscribed circle
 * (plus a 1-pixel margin) to black: the camera's surround (noise, JPEG ringing, burnt-in text) carries
 * no retinal information and differs between cameras. Works in place; returns `rgb`.
 */
export function maskOutsideCircle(rgb: Uint8Array, size: number): Uint8Array {
  const half = size / 2;
  const rMask = (half + MASK_MARGIN) ** 2;
  for (let y = 0; y < size; y++) {
    const dy = y + 0.5 - half;
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - half;
      if (dx * dx + dy * dy > rMask) rgb.fill(0, (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
  }
  return rgb;
}

/** v → v for each of the three channels (768 entries). */
const IDENTITY_LUT = Float32Array.from({ length: 768 }, (_, i) => i % 256);
