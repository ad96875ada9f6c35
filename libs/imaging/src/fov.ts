/** A circular field of view: centre and radius in pixels of the image it was measured on. */
export interface Fov {
  cx: number;
  cy: number;
  r: number;
}

/** {@link Fov} plus how it was found. */
export interface FovDetection extends Fov {
  /** false when no bright disc was found (e.g. an all-black image); the circle is then a centred fallback. */
  found: boolean;
  /** Brightness threshold (0–255) used for the disc mask. */
  threshold: number;
  /** Fraction of the image area above the threshold, 0–1. */
  coverage: number;
  /** How the circle was obtained. */
  method: 'circle-fit' | 'bounding-box' | 'fallback';
}

/** Target number of analysis cells along the long side: enough for ±1 % radius accuracy, cheap to scan. */
const GRID_LONG_SIDE = 96;

/**
 * Finds the fundus field of view — the bright disc on a black surround — in an RGB image.
 *
 * Method: sample max(R,G,B) (mean of the 2×2 pixels at each cell centre) on a ≤96-cell grid; threshold at 15 % of the 99th percentile (≥ 8);
 * take the left/right-most mask cell of every row and the top/bottom-most of every column, place the
 * boundary between it and its outside neighbour by linear interpolation of the threshold crossing, dropping
 * points that lie on the image border (the disc is often cut by the frame); least-squares circle fit
 * (Kåsa) with one round of outlier rejection. Falls back to the mask's bounding box, then to the
 * centred inscribed circle.
 *
 * @param rgb `width * height * 3` bytes, RGB interleaved.
 * @param roi optional window to search (e.g. around a first estimate, for finer cells); falls back to
 *   the whole image when nothing is found there.
 * @returns circle in the pixel coordinates of `rgb` (x right, y down; pixel centres at +0.5).
 */
export function detectFov(rgb: Uint8Array, width: number, height: number, roi?: Region): FovDetection {
  if (roi) {
    // Search only a window (e.g. around a first estimate): same grid size, finer cells.
    const x0 = Math.max(0, Math.floor(roi.x));
    const y0 = Math.max(0, Math.floor(roi.y));
    const x1 = Math.min(width, Math.ceil(roi.x + roi.w));
    const y1 = Math.min(height, Math.ceil(roi.y + roi.h));
    if (x1 - x0 >= 8 && y1 - y0 >= 8) {
      const d = detectInWindow(rgb, width, x0, y0, x1 - x0, y1 - y0);
      if (d.found) return { ...d, cx: d.cx + x0, cy: d.cy + y0 };
    }
  }
  return detectInWindow(rgb, width, 0, 0, width, height);
}

/** A rectangle in pixels. */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * detectFov on the window [ox, ox + width) × [oy, oy + height) of an image `stride` pixels wide;
 * result in window coordinates. Boundary points on a window edge are dropped (no outside neighbour).
 */
function detectInWindow(
  rgb: Uint8Array,
  stride: number,
  ox: number,
  oy: number,
  width: number,
  height: number,
): FovDetection {
  const step = Math.max(1, Math.ceil(Math.max(width, height) / GRID_LONG_SIDE));
  const gw = Math.floor(width / step);
  const gh = Math.floor(height / step);
  const grid = new Float32Array(gw * gh);
  // Each cell: mean of max(R,G,B) over up to 2×2 pixels at its centre (cheap, and enough to beat JPEG noise).
  const half = step >> 1;
  const x2 = step > 1 ? 1 : 0;
  const y2 = step > 1 ? stride * 3 : 0;
  for (let gy = 0; gy < gh; gy++) {
    const y = oy + gy * step + half - (step > 1 ? 1 : 0);
    for (let gx = 0; gx < gw; gx++) {
      const o = (y * stride + ox + gx * step + half - x2) * 3;
      grid[gy * gw + gx] =
        (max3(rgb, o) + max3(rgb, o + 3 * x2) + max3(rgb, o + y2) + max3(rgb, o + y2 + 3 * x2)) * 0.25;
    }
  }
  const fallback = (threshold: number, coverage: number): FovDetection => ({
    cx: width / 2,
    cy: height / 2,
    r: Math.min(width, height) / 2,
    found: false,
    threshold,
    coverage,
    method: 'fallback',
  });
  if (gw < 4 || gh < 4) return fallback(0, 0);

  const hist = new Uint32Array(256);
  for (let i = 0; i < grid.length; i++) hist[Math.min(255, grid[i] | 0)]++;
  let acc = 0;
  let p99 = 0;
  for (let v = 0; v < 256; v++) {
    acc += hist[v];
    if (acc >= 0.99 * grid.length) {
      p99 = v;
      break;
    }
  }
  const threshold = Math.max(8, 0.15 * p99);
  const mask = new Uint8Array(grid.length);
  let count = 0;
  for (let i = 0; i < grid.length; i++) {
    if (grid[i] > threshold) {
      mask[i] = 1;
      count++;
    }
  }
  const coverage = count / grid.length;
  if (p99 < 12 || coverage < 0.005) return fallback(threshold, coverage);

  // Boundary points in pixel units. A cell counts only as part of a run of ≥ 2 (ignores isolated specks).
  const px: number[] = [];
  const py: number[] = [];
  let bx0 = gw;
  let bx1 = -1;
  let by0 = gh;
  let by1 = -1;
  for (let gy = 0; gy < gh; gy++) {
    const row = gy * gw;
    let first = -1;
    let last = -1;
    for (let gx = 0; gx < gw - 1; gx++) {
      if (mask[row + gx] && mask[row + gx + 1]) {
        first = gx;
        break;
      }
    }
    if (first < 0) continue;
    for (let gx = gw - 1; gx > 0; gx--) {
      if (mask[row + gx] && mask[row + gx - 1]) {
        last = gx;
        break;
      }
    }
    bx0 = Math.min(bx0, first);
    bx1 = Math.max(bx1, last);
    by0 = Math.min(by0, gy);
    by1 = Math.max(by1, gy);
    const y = (gy + 0.5) * step;
    if (first > 0) {
      px.push(crossing(grid[row + first - 1], grid[row + first], first - 1, threshold, step));
      py.push(y);
    }
    if (last < gw - 1) {
      px.push(crossing(grid[row + last + 1], grid[row + last], last + 1, threshold, step, -1));
      py.push(y);
    }
  }
  for (let gx = 0; gx < gw; gx++) {
    let first = -1;
    let last = -1;
    for (let gy = 0; gy < gh - 1; gy++) {
      if (mask[gy * gw + gx] && mask[(gy + 1) * gw + gx]) {
        first = gy;
        break;
      }
    }
    if (first < 0) continue;
    for (let gy = gh - 1; gy > 0; gy--) {
      if (mask[gy * gw + gx] && mask[(gy - 1) * gw + gx]) {
        last = gy;
        break;
      }
    }
    const x = (gx + 0.5) * step;
    if (first > 0) {
      px.push(x);
      py.push(crossing(grid[(first - 1) * gw + gx], grid[first * gw + gx], first - 1, threshold, step));
    }
    if (last < gh - 1) {
      px.push(x);
      py.push(crossing(grid[(last + 1) * gw + gx], grid[last * gw + gx], last + 1, threshold, step, -1));
    }
  }
  if (bx1 < 0) return fallback(threshold, coverage);

  const bbox: FovDetection = {
    cx: ((bx0 + bx1 + 1) / 2) * step,
    cy: ((by0 + by1 + 1) / 2) * step,
    r: (Math.max(bx1 - bx0 + 1, by1 - by0 + 1) / 2) * step,
    found: true,
    threshold,
    coverage,
    method: 'bounding-box',
  };
  let fit = fitCircle(px, py);
  if (fit) {
    // One round of outlier rejection: drop points far from the first fit (glare, notches, labels).
    const res = px.map((x, i) => Math.abs(Math.hypot(x - fit!.cx, py[i] - fit!.cy) - fit!.r));
    const sorted = [...res].sort((a, b) => a - b);
    const tol = Math.max(2 * step, 3 * sorted[Math.floor(sorted.length / 2)]);
    const keepX: number[] = [];
    const keepY: number[] = [];
    res.forEach((d, i) => {
      if (d <= tol) {
        keepX.push(px[i]);
        keepY.push(py[i]);
      }
    });
    fit = fitCircle(keepX, keepY) ?? fit;
  }
  // Trust the fit only if it is consistent with the mask's extent (a disc cut by the frame can be larger
  // than the image, but not wildly so, and its centre must lie inside the mask's bounding box).
  const diag = Math.hypot(width, height);
  if (
    fit &&
    fit.r > 2 * step &&
    fit.r < diag &&
    fit.cx >= bx0 * step &&
    fit.cx <= (bx1 + 1) * step &&
    fit.cy >= by0 * step &&
    fit.cy <= (by1 + 1) * step
  ) {
    return { ...fit, found: true, threshold, coverage, method: 'circle-fit' };
  }
  return bbox;
}

/** Kåsa algebraic circle fit; null when under-determined or degenerate. */
function fitCircle(xs: number[], ys: number[]): Fov | null {
  const n = xs.length;
  if (n < 8) return null;
  // Centre the data for numerical stability.
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let suu = 0;
  let svv = 0;
  let suv = 0;
  let suuu = 0;
  let svvv = 0;
  let suvv = 0;
  let svuu = 0;
  for (let i = 0; i < n; i++) {
    const u = xs[i] - mx;
    const v = ys[i] - my;
    suu += u * u;
    svv += v * v;
    suv += u * v;
    suuu += u * u * u;
    svvv += v * v * v;
    suvv += u * v * v;
    svuu += v * u * u;
  }
  const det = suu * svv - suv * suv;
  if (Math.abs(det) < 1e-9) return null;
  const b1 = 0.5 * (suuu + suvv);
  const b2 = 0.5 * (svvv + svuu);
  const uc = (b1 * svv - b2 * suv) / det;
  const vc = (b2 * suu - b1 * suv) / det;
  const r = Math.sqrt(uc * uc + vc * vc + (suu + svv) / n);
  if (!Number.isFinite(r)) return null;
  return { cx: uc + mx, cy: vc + my, r };
}

function max3(rgb: Uint8Array, o: number): number {
  const r = rgb[o];
  const g = rgb[o + 1];
  const b = rgb[o + 2];
  return r > g ? (r > b ? r : b) : g > b ? g : b;
}

/**
 * Sub-cell position (in pixels) where brightness crosses `t` between an outside cell (index `outIdx`,
 * value `vOut`) and its inside neighbour (`vIn`, at `outIdx + dir`), by linear interpolation of the
 * cell-centre values. Falls back to the cell edge when the values do not bracket `t`.
 */
function crossing(vOut: number, vIn: number, outIdx: number, t: number, step: number, dir = 1): number {
  const c = (outIdx + 0.5) * step;
  if (!(vIn > t && vOut <= t)) return c + dir * 0.5 * step;
  return c + (dir * step * (t - vOut)) / (vIn - vOut);
}
