import sharp from 'sharp';
import { Rng } from './random';

/** Disease severity of a synthetic image. `subtle` = one to three small lesions. */
export type Severity = 'subtle' | 'mild' | 'moderate' | 'severe';
export const SEVERITIES: readonly Severity[] = ['subtle', 'mild', 'moderate', 'severe'];

/** Lesion kinds drawn on disease images. */
export type LesionKind = 'microaneurysm' | 'haemorrhage' | 'hard-exudate' | 'cotton-wool';

/** Options of {@link renderFundus} / {@link generateFundus}. */
export interface SyntheticFundusOptions {
  seed: number;
  /** Image width in pixels, 32–4096. Default 1024 (realistic sizes are 1024–2048; tests use 64–256). */
  size?: number;
  /** Image height in pixels; default = `size` (square). */
  height?: number;
  /** Draw diabetic-retinopathy-like lesions. */
  disease: boolean;
  /** Lesion load when `disease`; default drawn from the seed (uniform over the four levels). */
  severity?: Severity;
  /** Field of view in pixels; default centred with r = 0.47 × shorter side (may exceed the frame). */
  fov?: { cx: number; cy: number; r: number };
  /** Overall exposure multiplier (1 = normal; < 0.3 gives dark images). Default drawn near 1. */
  exposure?: number;
  /**
   * Independent per-channel sensor noise, peak amplitude in 8-bit levels (triangular distribution).
   * Default 0: luminance-only noise of 1.2–3 levels drawn from the seed. Raise it (e.g. 6–12) for files
   * whose size per pixel resembles real camera JPEGs, whose noise and fine texture compress worse.
   */
  sensorNoise?: number;
  /** JPEG quality 1–100. Default drawn in 82–95. */
  jpegQuality?: number;
}

/** A lesion as drawn, in pixels. */
export interface LesionInfo {
  kind: LesionKind;
  x: number;
  y: number;
  r: number;
}

/** Pixels plus the ground truth of what was drawn. */
export interface RenderedFundus {
  /** `width * height * 3` bytes RGB. */
  rgb: Uint8Array;
  width: number;
  height: number;
  fov: { cx: number; cy: number; r: number };
  disc: { x: number; y: number; r: number };
  fovea: { x: number; y: number };
  severity: Severity | null;
  lesions: LesionInfo[];
}

/** Smooth value noise on a lattice with `cell` pixels spacing; returns a sampler in [−1, 1]. */
function valueNoise(rng: Rng, width: number, height: number, cell: number): (x: number, y: number) => number {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const g = new Float32Array(gw * gh);
  for (let i = 0; i < g.length; i++) g[i] = rng.random() * 2 - 1;
  return (x, y) => {
    const fx = x / cell;
    const fy = y / cell;
    const ix = Math.floor(fx);
    const iy = Math.floor(fy);
    let tx = fx - ix;
    let ty = fy - iy;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    const o = iy * gw + ix;
    const a = g[o] + (g[o + 1] - g[o]) * tx;
    const b = g[o + gw] + (g[o + gw + 1] - g[o + gw]) * tx;
    return a + (b - a) * ty;
  };
}

interface Segment {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  w0: number;
  w1: number;
}

/** Rasterises a tapered segment into `map` (max-composited profile, 0–1), anti-aliased for thin widths. */
function drawSegment(map: Float32Array, width: number, height: number, s: Segment): void {
  const hwMax = Math.max(s.w0, s.w1) / 2;
  const pad = Math.max(hwMax, 0.8) + 1.5;
  const xa = Math.max(0, Math.floor(Math.min(s.x0, s.x1) - pad));
  const xb = Math.min(width - 1, Math.ceil(Math.max(s.x0, s.x1) + pad));
  const ya = Math.max(0, Math.floor(Math.min(s.y0, s.y1) - pad));
  const yb = Math.min(height - 1, Math.ceil(Math.max(s.y0, s.y1) + pad));
  const dx = s.x1 - s.x0;
  const dy = s.y1 - s.y0;
  const len2 = dx * dx + dy * dy || 1e-9;
  for (let y = ya; y <= yb; y++) {
    const py = y + 0.5 - s.y0;
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5 - s.x0;
      let t = (px * dx + py * dy) / len2;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * dx;
      const ey = py - t * dy;
      const d = Math.sqrt(ex * ex + ey * ey);
      const hw = (s.w0 + (s.w1 - s.w0) * t) / 2;
      let v: number;
      if (hw >= 0.7) {
        // Cylinder-like absorption profile with a 1-pixel soft edge.
        const q = d / hw;
        v = q >= 1 ? Math.max(0, 1 - (d - hw)) * 0.5 : Math.sqrt(1 - q * q) * 0.5 + 0.5;
      } else {
        // Sub-pixel vessel: Gaussian spot whose strength scales with width.
        v = (hw / 0.7) * Math.exp(-(d * d) / 0.98);
      }
      const k = y * width + x;
      if (v > map[k]) map[k] = v;
    }
  }
}

interface VesselCtx {
  rng: Rng;
  r: number;
  cx: number;
  cy: number;
  segments: Segment[];
  /** macula centre, which arcades avoid */
  mx: number;
  my: number;
}

/** Grows one vessel as a tapered random walk with recursive branching. Widths and steps in pixels. */
function growVessel(
  ctx: VesselCtx,
  x: number,
  y: number,
  angle: number,
  width: number,
  curvature: number,
  depth: number,
  maxLen: number,
): void {
  const { rng, r } = ctx;
  const step = Math.max(1.5, r * 0.018);
  let len = 0;
  let w = width;
  let a = angle;
  const minW = Math.max(0.25, r * 0.0025);
  while (len < maxLen && w > minW) {
    // Steer away from the fovea (vessels arc around it) and wander a little.
    const fdx = x - ctx.mx;
    const fdy = y - ctx.my;
    const fd = Math.hypot(fdx, fdy);
    let steer = 0;
    if (fd < r * 0.3) {
      const away = Math.atan2(fdy, fdx);
      let diff = away - a;
      while (diff > Math.PI) diff -= 2 * Math.PI;
      while (diff < -Math.PI) diff += 2 * Math.PI;
      steer = 0.12 * Math.sign(diff) * (1 - fd / (r * 0.3));
    }
    a += curvature * Math.exp(-len / (r * 0.9)) + steer + rng.normal() * 0.05;
    const nx = x + Math.cos(a) * step;
    const ny = y + Math.sin(a) * step;
    let nw = w * (1 - 0.004 - rng.random() * 0.004);
    // Taper to a thread over the last stretch instead of stopping at full width.
    const remaining = maxLen - len;
    const taperLen = Math.min(maxLen * 0.45, r * 0.3);
    if (remaining < taperLen) nw = Math.min(nw, w * Math.pow(Math.max(0, remaining - step) / remaining, 0.8));
    ctx.segments.push({ x0: x, y0: y, x1: nx, y1: ny, w0: w, w1: nw });
    x = nx;
    y = ny;
    w = nw;
    len += step;
    if (Math.hypot(x - ctx.cx, y - ctx.cy) > r * 1.02) break;
    if (depth < 4 && rng.chance(0.045 + 0.02 * depth) && w > minW * 2.5) {
      const side = rng.chance(0.5) ? 1 : -1;
      const childW = w * rng.uniform(0.5, 0.78);
      w *= 0.93;
      growVessel(
        ctx,
        x,
        y,
        a + side * rng.uniform(0.45, 1.05),
        childW,
        side * rng.uniform(0, 0.03),
        depth + 1,
        (maxLen - len) * rng.uniform(0.35, 0.8),
      );
    }
  }
}

function lesionCounts(rng: Rng, severity: Severity): Record<LesionKind, number> {
  switch (severity) {
    case 'subtle': {
      const n = rng.int(1, 3);
      const ma = rng.int(0, n);
      return { microaneurysm: ma, haemorrhage: n - ma, 'hard-exudate': 0, 'cotton-wool': 0 };
    }
    case 'mild':
      return {
        microaneurysm: rng.int(3, 8),
        haemorrhage: rng.int(1, 3),
        'hard-exudate': rng.int(0, 2),
        'cotton-wool': 0,
      };
    case 'moderate':
      return {
        microaneurysm: rng.int(8, 18),
        haemorrhage: rng.int(4, 10),
        'hard-exudate': rng.int(3, 7),
        'cotton-wool': rng.int(1, 3),
      };
    case 'severe':
      return {
        microaneurysm: rng.int(15, 35),
        haemorrhage: rng.int(10, 22),
        'hard-exudate': rng.int(6, 14),
        'cotton-wool': rng.int(2, 6),
      };
  }
}

/**
 * Renders a synthetic colour fundus photograph (no encoding). Deterministic in the options.
 *
 * Model: circular field on black; orange-red background whose tint, pigmentation and camera colour cast
 * vary per image; radial vignetting plus a tilted illumination gradient; choroidal texture (value noise);
 * a bright optic disc with a paler cup on the nasal side; a darker macula and fovea temporal to it; veins
 * and arteries grown from the disc as tapering, branching random walks that arc around the fovea; DR
 * lesions for disease images (microaneurysms, dot/blot haemorrhages, hard-exudate clusters, cotton-wool
 * spots) placed in the posterior pole; sensor noise.
 */
export function renderFundus(opts: SyntheticFundusOptions): RenderedFundus {
  const width = opts.size ?? 1024;
  const height = opts.height ?? width;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 32 ||
    height < 32 ||
    width > 4096 ||
    height > 4096
  ) {
    throw new RangeError('renderFundus: size/height must be integers in 32..4096');
  }
  const rng = new Rng(opts.seed);
  const fov = opts.fov ?? { cx: width / 2, cy: height / 2, r: 0.47 * Math.min(width, height) };
  const { cx, cy, r } = fov;

  // Per-image appearance.
  const pigment = rng.uniform(0, 1);
  const base = [
    rng.uniform(185, 230) - 20 * pigment,
    rng.uniform(70, 105) - 25 * pigment,
    rng.uniform(25, 50) - 10 * pigment,
  ];
  const cast = [1 + rng.normal() * 0.05, 1 + rng.normal() * 0.07, 1 + rng.normal() * 0.12];
  const exposure = opts.exposure ?? rng.uniform(0.85, 1.1);
  const gradAngle = rng.uniform(0, 2 * Math.PI);
  const gradAmp = rng.uniform(0.05, 0.25);
  const vignette = rng.uniform(0.25, 0.5);
  const eyeSide = rng.chance(0.5) ? 1 : -1; // +1: disc right of centre
  const disc = {
    x: cx + eyeSide * r * rng.uniform(0.38, 0.5),
    y: cy + r * rng.uniform(-0.1, 0.06),
    r: r * rng.uniform(0.095, 0.125),
  };
  const fovea = { x: disc.x - eyeSide * r * rng.uniform(0.44, 0.54), y: disc.y + r * rng.uniform(0.02, 0.1) };
  const noiseA = valueNoise(rng, width, height, Math.max(2, r / 4));
  const noiseB = valueNoise(rng, width, height, Math.max(2, r / 14));
  const noiseC = valueNoise(rng, width, height, Math.max(1.5, r / 45));
  const noiseD = valueNoise(rng, width, height, Math.max(1.5, r / 130));
  const textureAmp = rng.uniform(0.05, 0.1);

  // Vessels: veins and arteries as separate maps.
  const veins = new Float32Array(width * height);
  const arteries = new Float32Array(width * height);
  const trunkW = r * rng.uniform(0.019, 0.024);
  for (const kind of ['vein', 'artery'] as const) {
    const ctx: VesselCtx = { rng, r, cx, cy, segments: [], mx: fovea.x, my: fovea.y };
    const w0 = kind === 'vein' ? trunkW : trunkW * 0.75;
    const temporal = -eyeSide; // direction (in x) from disc towards the fovea
    for (const vert of [-1, 1]) {
      // Temporal arcade: leave the disc vertically, then bend towards the fovea's side.
      const start = Math.atan2(vert, temporal * 0.35) + rng.normal() * 0.1;
      const curv = -vert * temporal * rng.uniform(0.03, 0.045);
      growVessel(ctx, disc.x, disc.y + vert * disc.r * 0.2, start, w0, curv, 0, r * 1.6);
      // Nasal branch.
      const nasal = Math.atan2(vert * rng.uniform(0.3, 1), -temporal);
      growVessel(ctx, disc.x, disc.y, nasal, w0 * 0.7, vert * temporal * 0.01, 1, r * 0.9);
    }
    // A few small vessels straight from the disc.
    for (let i = rng.int(2, 4); i > 0; i--) {
      growVessel(ctx, disc.x, disc.y, rng.uniform(0, 2 * Math.PI), w0 * 0.45, 0, 2, r * 0.5);
    }
    const map = kind === 'vein' ? veins : arteries;
    for (const s of ctx.segments) drawSegment(map, width, height, s);
  }

  // Lesions.
  const lesions: LesionInfo[] = [];
  const severity: Severity | null = opts.disease ? (opts.severity ?? SEVERITIES[rng.int(0, 3)]) : null;
  if (severity) {
    const counts = lesionCounts(rng, severity);
    const place = (spread: number): { x: number; y: number } => {
      for (;;) {
        const rr = r * spread * Math.sqrt(rng.random());
        const t = rng.uniform(0, 2 * Math.PI);
        const x = (fovea.x + disc.x) / 2 - eyeSide * r * 0.1 + rr * Math.cos(t);
        const y = fovea.y + rr * Math.sin(t);
        if (Math.hypot(x - cx, y - cy) < r * 0.9 && Math.hypot(x - disc.x, y - disc.y) > disc.r * 1.4)
          return { x, y };
      }
    };
    const big = severity === 'moderate' || severity === 'severe' ? 1 : 0;
    for (let i = 0; i < counts.microaneurysm; i++) {
      lesions.push({ kind: 'microaneurysm', ...place(0.75), r: r * rng.uniform(0.006, 0.011 + 0.003 * big) });
    }
    for (let i = 0; i < counts.haemorrhage; i++) {
      const blot = rng.chance(big ? 0.6 : 0.25);
      lesions.push({
        kind: 'haemorrhage',
        ...place(0.8),
        r: r * (blot ? rng.uniform(0.022, 0.045) : rng.uniform(0.011, 0.02)),
      });
    }
    for (let i = 0; i < counts['hard-exudate']; i++) {
      // A cluster of small sharp yellow deposits.
      const c = place(0.55);
      const n = rng.int(3, 6 + 6 * big);
      const spread = r * rng.uniform(0.025, 0.07);
      for (let j = 0; j < n; j++) {
        lesions.push({
          kind: 'hard-exudate',
          x: c.x + rng.normal() * spread,
          y: c.y + rng.normal() * spread,
          r: r * rng.uniform(0.005, 0.011 + 0.005 * big),
        });
      }
    }
    for (let i = 0; i < counts['cotton-wool']; i++) {
      lesions.push({ kind: 'cotton-wool', ...place(0.8), r: r * rng.uniform(0.03, 0.055) });
    }
  }
  const lesionMap = new Float32Array(width * height * 2); // [dark (blood) alpha, bright alpha] per pixel
  const brightTint = new Float32Array(width * height); // 0 = exudate yellow, 1 = cotton-wool white
  for (const les of lesions) {
    const phase = rng.uniform(0, 2 * Math.PI);
    const phase2 = rng.uniform(0, 2 * Math.PI);
    const irregular = les.kind === 'haemorrhage' || les.kind === 'cotton-wool' ? 0.14 : 0.1;
    const soft = les.kind === 'cotton-wool' ? 0.9 : les.kind === 'hard-exudate' ? 0.2 : 0.3;
    const pad = les.r * 1.5 + 2;
    const xa = Math.max(0, Math.floor(les.x - pad));
    const xb = Math.min(width - 1, Math.ceil(les.x + pad));
    const ya = Math.max(0, Math.floor(les.y - pad));
    const yb = Math.min(height - 1, Math.ceil(les.y + pad));
    const strength =
      les.kind === 'microaneurysm'
        ? 0.9
        : les.kind === 'haemorrhage'
          ? 0.85
          : les.kind === 'hard-exudate'
            ? 0.9
            : 0.55;
    const rEff = Math.max(les.r, 0.6);
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const dx = x + 0.5 - les.x;
        const dy = y + 0.5 - les.y;
        const d = Math.hypot(dx, dy);
        const th = Math.atan2(dy, dx);
        const rr = rEff * (1 + irregular * (Math.sin(2 * th + phase) + 0.6 * Math.sin(3 * th + phase2)));
        const edge = Math.max(0.7, soft * rr);
        let a = (rr - d) / edge + 0.5;
        if (a <= 0) continue;
        a = (a >= 1 ? 1 : a) * strength * Math.min(1, les.r / 0.6);
        const k = y * width + x;
        if (les.kind === 'microaneurysm' || les.kind === 'haemorrhage') {
          if (a > lesionMap[k * 2]) lesionMap[k * 2] = a;
        } else if (a > lesionMap[k * 2 + 1]) {
          lesionMap[k * 2 + 1] = a;
          brightTint[k] = les.kind === 'cotton-wool' ? 1 : 0;
        }
      }
    }
  }

  // Compose.
  const rgb = new Uint8Array(width * height * 3);
  const cupX = disc.x + eyeSide * disc.r * 0.15;
  const cupR = disc.r * rng.uniform(0.3, 0.5);
  const discCol = [248, 185 + rng.uniform(-15, 15), 110 + rng.uniform(-20, 20)];
  const gx = Math.cos(gradAngle);
  const gy = Math.sin(gradAngle);
  const noiseAmp = rng.uniform(1.2, 3);
  const chromaNoise = opts.sensorNoise ?? 0;
  const reflex = rng.uniform(0, 0.25);
  const edgeSoft = Math.max(1, r * 0.008);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = y * width + x;
      const o = k * 3;
      const u = (x + 0.5 - cx) / r;
      const v = (y + 0.5 - cy) / r;
      const rho = Math.sqrt(u * u + v * v);
      const inside = (r * (1 - rho)) / edgeSoft + 0.5;
      if (inside <= 0) {
        const n = rng.random() * 3;
        rgb[o] = n;
        rgb[o + 1] = n * 0.6;
        rgb[o + 2] = n * 0.8;
        continue;
      }
      const ill =
        exposure *
        (1 - vignette * rho * rho * rho) *
        (1 + gradAmp * (u * gx + v * gy)) *
        (1 +
          textureAmp * (0.6 * noiseA(x, y) + 0.3 * noiseB(x, y) + 0.25 * noiseC(x, y) + 0.18 * noiseD(x, y)));
      let R = base[0];
      let G = base[1];
      let B = base[2];
      // Macula and fovea: darker, less yellow.
      const fd2 = ((x - fovea.x) ** 2 + (y - fovea.y) ** 2) / (r * r);
      const mac = fd2 > 0.25 ? 1 : 1 - 0.28 * Math.exp(-fd2 / 0.025) - 0.12 * Math.exp(-fd2 / 0.0012);
      R *= mac;
      G *= mac * mac;
      B *= mac;
      // Optic disc with peripapillary glow and pale cup.
      const ddx = (x - disc.x) / disc.r;
      const ddy = ((y - disc.y) / disc.r) * 0.92;
      const dd = ddx > 2.2 || ddx < -2.2 || ddy > 2.2 || ddy < -2.2 ? 3 : Math.sqrt(ddx * ddx + ddy * ddy);
      if (dd < 2.2) {
        const glow = Math.exp(-dd * dd * 1.2) * 0.15;
        R += (discCol[0] - R) * glow;
        G += (discCol[1] - G) * glow;
        B += (discCol[2] - B) * glow;
        const a = Math.min(1, Math.max(0, (1 - dd) / 0.3 + 0.5)) * 0.85;
        R += (discCol[0] - R) * a;
        G += (discCol[1] - G) * a;
        B += (discCol[2] - B) * a;
        const cd = Math.hypot(x - cupX, (y - disc.y) * 0.9) / cupR;
        const c = Math.min(1, Math.max(0, (1 - cd) / 0.3 + 0.5)) * 0.8;
        R += (255 - R) * c * 0.7;
        G += (232 - G) * c * 0.7;
        B += (185 - B) * c * 0.7;
      }
      // Vessels: veins dark purple-red, arteries brighter red with a central reflex.
      const ve = veins[k];
      const ar = arteries[k];
      if (ve > 0) {
        R *= 1 - 0.33 * ve;
        G *= 1 - 0.66 * ve;
        B *= 1 - 0.62 * ve;
      }
      if (ar > 0) {
        R *= 1 - 0.14 * ar;
        G *= 1 - 0.45 * ar;
        B *= 1 - 0.42 * ar;
        if (ar > 0.93) {
          const rf = reflex * (ar - 0.93) * 14;
          R += (255 - R) * rf * 0.5;
          G += (200 - G) * rf * 0.5;
          B += (180 - B) * rf * 0.5;
        }
      }
      // Lesions.
      const dark = lesionMap[k * 2];
      if (dark > 0) {
        R *= 1 - 0.45 * dark;
        G *= 1 - 0.75 * dark;
        B *= 1 - 0.55 * dark;
      }
      const bright = lesionMap[k * 2 + 1];
      if (bright > 0) {
        const t = brightTint[k];
        const tr = 255;
        const tg = 235 + 10 * t;
        const tb = 120 + 110 * t;
        R += (tr - R) * bright;
        G += (tg - G) * bright;
        B += (tb - B) * bright;
      }
      const m = (inside >= 1 ? 1 : inside) * ill;
      if (chromaNoise > 0) {
        rgb[o] = clamp(R * cast[0] * m + chromaNoise * (rng.random() + rng.random() - 1));
        rgb[o + 1] = clamp(G * cast[1] * m + chromaNoise * (rng.random() + rng.random() - 1));
        rgb[o + 2] = clamp(B * cast[2] * m + chromaNoise * (rng.random() + rng.random() - 1));
      } else {
        const n = noiseAmp * (rng.random() + rng.random() - 1);
        rgb[o] = clamp(R * cast[0] * m + n);
        rgb[o + 1] = clamp(G * cast[1] * m + n);
        rgb[o + 2] = clamp(B * cast[2] * m + n);
      }
    }
  }
  return { rgb, width, height, fov, disc, fovea, severity, lesions };
}

function clamp(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

/** Encodes a rendered fundus as JPEG (4:2:0, like most fundus cameras' output). */
export async function encodeJpeg(
  img: { rgb: Uint8Array; width: number; height: number },
  quality: number,
): Promise<Buffer> {
  return sharp(Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .jpeg({ quality: Math.round(quality), chromaSubsampling: '4:2:0' })
    .toBuffer();
}

/**
 * Generates one synthetic fundus photograph as JPEG bytes. Deterministic by `opts.seed` (and options).
 * @see renderFundus for the image model.
 */
export async function generateFundus(opts: SyntheticFundusOptions): Promise<Buffer> {
  const img = renderFundus(opts);
  const q = opts.jpegQuality ?? new Rng(opts.seed ^ 0x5bd1e995).uniform(82, 95);
  return encodeJpeg(img, q);
}
