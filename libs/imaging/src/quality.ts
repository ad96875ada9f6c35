import type { FovDetection } from './fov';

/** Why an image was marked ungradable. */
export type QualityReason =
  'fov-not-found' | 'too-dark' | 'too-bright' | 'fov-too-small' | 'blurred' | 'monochrome';

/**
 * Thresholds of the quality gate. Defaults were set on the synthetic generator's images (sharp vs
 * Gaussian-blurred, dimmed, over-exposed); recalibrate them on a validation set of real, graded images.
 */
export interface QualityGateOptions {
  /** Mean luminance (0–255, Rec.601) inside the field of view below this → `too-dark`. Default 25. */
  minMeanLuminance?: number;
  /** Mean luminance inside the field of view above this → `too-bright`. Default 180. */
  maxMeanLuminance?: number;
  /** FOV diameter / shorter image side below this → `fov-too-small`. Default 0.5. */
  minFovFraction?: number;
  /** Sharpness (see {@link QualityReport.sharpness}) below this → `blurred`. Default 20 (a Gaussian blur of σ ≈ 2 % of the FOV radius). */
  minSharpness?: number;
  /** Mean channel spread inside the FOV below this → `monochrome` (red-free or greyscale). Default 4. */
  minColourfulness?: number;
}

export const DEFAULT_QUALITY: Required<QualityGateOptions> = {
  minMeanLuminance: 25,
  maxMeanLuminance: 180,
  minFovFraction: 0.5,
  minSharpness: 20,
  minColourfulness: 4,
};

/** Result of the quality gate. Measures are reported even when the image passes. */
export interface QualityReport {
  /** false when any reason applies: the image must be reported as ungradable, not scored. */
  gradable: boolean;
  reasons: QualityReason[];
  fovFound: boolean;
  /** Mean Rec.601 luminance inside the FOV (whole image when no FOV), 0–255. */
  meanLuminance: number;
  /** FOV diameter divided by the shorter image side (can exceed 1 when the frame cuts the disc). */
  fovFraction: number;
  /**
   * Variance of the 4-neighbour Laplacian of the green channel, on a 96×96 grid (cell = area average) over the FOV's
   * bounding square (so it does not depend on the file's resolution), after scaling green to mean 100
   * (so it does not depend on exposure). Central 80 % of the radius only (the rim is a strong edge).
   */
  sharpness: number;
  /** Mean of max(|R−G|, |G−B|) inside the FOV, 0–255. */
  colourfulness: number;
}

const GRID = 96;

/** Cells of the GRID×GRID square whose centre lies within `frac` of the inscribed circle's radius. */
function discMask(frac: number): Uint8Array {
  const m = new Uint8Array(GRID * GRID);
  const c = GRID / 2;
  for (let j = 0; j < GRID; j++) {
    for (let i = 0; i < GRID; i++) {
      const dx = i + 0.5 - c;
      const dy = j + 0.5 - c;
      m[j * GRID + i] = dx * dx + dy * dy < (frac * c) ** 2 ? 1 : 0;
    }
  }
  return m;
}
const INSIDE_95 = discMask(0.95);
const SCRATCH = {
  R: new Float32Array(GRID * GRID),
  G: new Float32Array(GRID * GRID),
  B: new Float32Array(GRID * GRID),
  valid: new Uint8Array(GRID * GRID),
};
const INSIDE_80 = discMask(0.8);

/**
 * Measures exposure, field of view, sharpness and colour of an RGB image whose FOV is known, and applies
 * the thresholds. Pure function of the pixels: same input, same report.
 */
export function assessQuality(
  rgb: Uint8Array,
  width: number,
  height: number,
  fov: FovDetection,
  options?: QualityGateOptions,
): QualityReport {
  const o = { ...DEFAULT_QUALITY, ...(options ?? {}) };
  const reasons: QualityReason[] = [];
  // Resample the FOV's bounding square (clipped to the image) onto a GRID×GRID area-average grid.
  const side = 2 * fov.r;
  const x0 = fov.cx - fov.r;
  const y0 = fov.cy - fov.r;
  // Scratch grids reused across calls (this function is synchronous, so no call can interleave).
  const { R, G, B, valid } = SCRATCH;
  valid.fill(0);
  const cell = side / GRID;
  // Each cell: mean of an n×n lattice of pixels spread over the cell (an area average that stays cheap:
  // n = 2 at the usual working resolution, more when cells span more pixels).
  const n = Math.min(6, Math.max(2, Math.round(cell)));
  const inv = 1 / (n * n);
  const offs = new Float64Array(n);
  for (let t = 0; t < n; t++) offs[t] = ((t + 0.5) / n) * cell;
  const xs = new Int32Array(n);
  for (let j = 0; j < GRID; j++) {
    const yTop = y0 + j * cell;
    if (Math.floor(yTop + offs[0]) < 0 || Math.floor(yTop + offs[n - 1]) >= height) continue;
    for (let i = 0; i < GRID; i++) {
      const xLeft = x0 + i * cell;
      if (Math.floor(xLeft + offs[0]) < 0 || Math.floor(xLeft + offs[n - 1]) >= width) continue;
      const k = j * GRID + i;
      valid[k] = 1;
      if (n === 2) {
        // The common case, unrolled: 4 pixels at ¼ and ¾ of the cell.
        const ra = Math.floor(yTop + offs[0]) * width * 3;
        const rb = Math.floor(yTop + offs[1]) * width * 3;
        const xa = Math.floor(xLeft + offs[0]) * 3;
        const xb = Math.floor(xLeft + offs[1]) * 3;
        const p00 = ra + xa;
        const p01 = ra + xb;
        const p10 = rb + xa;
        const p11 = rb + xb;
        R[k] = (rgb[p00] + rgb[p01] + rgb[p10] + rgb[p11]) * 0.25;
        G[k] = (rgb[p00 + 1] + rgb[p01 + 1] + rgb[p10 + 1] + rgb[p11 + 1]) * 0.25;
        B[k] = (rgb[p00 + 2] + rgb[p01 + 2] + rgb[p10 + 2] + rgb[p11 + 2]) * 0.25;
        continue;
      }
      for (let t = 0; t < n; t++) xs[t] = Math.floor(xLeft + offs[t]) * 3;
      let sr = 0;
      let sg = 0;
      let sb = 0;
      for (let u = 0; u < n; u++) {
        const row = Math.floor(yTop + offs[u]) * width * 3;
        for (let t = 0; t < n; t++) {
          const p = row + xs[t];
          sr += rgb[p];
          sg += rgb[p + 1];
          sb += rgb[p + 2];
        }
      }
      R[k] = sr * inv;
      G[k] = sg * inv;
      B[k] = sb * inv;
    }
  }
  let lum = 0;
  let colour = 0;
  let gSum = 0;
  let count = 0;
  const centre = fov.found ? INSIDE_95 : null;
  for (let k = 0; k < GRID * GRID; k++) {
    if (!valid[k] || (centre && !centre[k])) continue;
    const r = R[k];
    const g = G[k];
    const b = B[k];
    lum += 0.299 * r + 0.587 * g + 0.114 * b;
    const rg = r > g ? r - g : g - r;
    const gb = g > b ? g - b : b - g;
    colour += rg > gb ? rg : gb;
    gSum += g;
    count++;
  }
  const meanLuminance = count ? lum / count : 0;
  const colourfulness = count ? colour / count : 0;
  const gMean = count ? gSum / count : 0;

  let sharpness = 0;
  if (gMean > 1) {
    const scale = 100 / gMean;
    let s = 0;
    let s2 = 0;
    let m = 0;
    for (let j = 1; j < GRID - 1; j++) {
      for (let i = 1; i < GRID - 1; i++) {
        const k = j * GRID + i;
        if (
          !INSIDE_80[k] ||
          !valid[k] ||
          !valid[k - 1] ||
          !valid[k + 1] ||
          !valid[k - GRID] ||
          !valid[k + GRID]
        ) {
          continue;
        }
        const l = (4 * G[k] - G[k - 1] - G[k + 1] - G[k - GRID] - G[k + GRID]) * scale;
        s += l;
        s2 += l * l;
        m++;
      }
    }
    sharpness = m ? s2 / m - (s / m) ** 2 : 0;
  }
  const fovFraction = (2 * fov.r) / Math.min(width, height);

  if (!fov.found) reasons.push('fov-not-found');
  if (meanLuminance < o.minMeanLuminance) reasons.push('too-dark');
  if (meanLuminance > o.maxMeanLuminance) reasons.push('too-bright');
  if (fov.found && fovFraction < o.minFovFraction) reasons.push('fov-too-small');
  if (fov.found && meanLuminance >= o.minMeanLuminance && sharpness < o.minSharpness) reasons.push('blurred');
  if (fov.found && meanLuminance >= o.minMeanLuminance && colourfulness < o.minColourfulness)
    reasons.push('monochrome');
  return {
    gradable: reasons.length === 0,
    reasons,
    fovFound: fov.found,
    meanLuminance,
    fovFraction,
    sharpness,
    colourfulness,
  };
}
