import sharp from 'sharp';

/** Contrast enhancement applied to the square crop before normalisation. */
export type Enhancement = 'none' | 'ben-graham' | 'clahe';

/**
 * Ben Graham's local-average subtraction (Kaggle DR 2015): `4·(img − gauss(img, σ = size/30)) + 128`,
 * then everything outside 90 % of the FOV radius set to 128 (removes the bright rim artefact).
 * @param rgb square crop `size * size * 3`, FOV = inscribed circle. @returns new array, same shape.
 */
export async function benGraham(rgb: Uint8Array, size: number): Promise<Uint8Array> {
  const blurred = await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), {
    raw: { width: size, height: size, channels: 3 },
  })
    .blur(Math.max(0.5, size / 30))
    .raw()
    .toBuffer();
  const out = new Uint8Array(rgb.length);
  const c = size / 2;
  const r2 = (0.9 * c) ** 2;
  for (let y = 0; y < size; y++) {
    const dy = y + 0.5 - c;
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - c;
      const o = (y * size + x) * 3;
      const inside = dx * dx + dy * dy < r2;
      for (let ch = 0; ch < 3; ch++) {
        const v = inside ? 4 * (rgb[o + ch] - blurred[o + ch]) + 128 : 128;
        out[o + ch] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
      }
    }
  }
  return out;
}

/**
 * Contrast-limited adaptive histogram equalisation on luminance (RGB scaled by the luminance gain, so hue
 * is kept). `tiles × tiles` regions, clip limit relative to a flat histogram, bilinear blending of the
 * tile mappings. Pixels darker than 8 (the black surround) are left alone and excluded from histograms.
 */
export function clahe(
  rgb: Uint8Array,
  width: number,
  height: number,
  tiles = 8,
  clipLimit = 2.0,
): Uint8Array {
  const n = width * height;
  const lum = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    lum[i] = Math.round(0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]);
  }
  const tw = width / tiles;
  const th = height / tiles;
  const maps = new Float32Array(tiles * tiles * 256);
  const hist = new Float64Array(256);
  for (let ty = 0; ty < tiles; ty++) {
    for (let tx = 0; tx < tiles; tx++) {
      hist.fill(0);
      let count = 0;
      for (let y = Math.floor(ty * th); y < Math.floor((ty + 1) * th); y++) {
        for (let x = Math.floor(tx * tw); x < Math.floor((tx + 1) * tw); x++) {
          const v = lum[y * width + x];
          if (v < 8) continue;
          hist[v]++;
          count++;
        }
      }
      const base = (ty * tiles + tx) * 256;
      if (count === 0) {
        for (let v = 0; v < 256; v++) maps[base + v] = v;
        continue;
      }
      const limit = Math.max(1, (clipLimit * count) / 248);
      let excess = 0;
      for (let v = 0; v < 256; v++) {
        if (hist[v] > limit) {
          excess += hist[v] - limit;
          hist[v] = limit;
        }
      }
      const add = excess / 248;
      let acc = 0;
      for (let v = 0; v < 256; v++) {
        if (v >= 8) acc += hist[v] + add;
        maps[base + v] = v < 8 ? v : 8 + (247 * acc) / count;
      }
    }
  }
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < height; y++) {
    const fy = Math.min(tiles - 1, Math.max(0, (y + 0.5) / th - 0.5));
    const ty0 = Math.floor(fy);
    const ty1 = Math.min(tiles - 1, ty0 + 1);
    const wy = fy - ty0;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = lum[i];
      const o = i * 3;
      if (v < 8) {
        out[o] = rgb[o];
        out[o + 1] = rgb[o + 1];
        out[o + 2] = rgb[o + 2];
        continue;
      }
      const fx = Math.min(tiles - 1, Math.max(0, (x + 0.5) / tw - 0.5));
      const tx0 = Math.floor(fx);
      const tx1 = Math.min(tiles - 1, tx0 + 1);
      const wx = fx - tx0;
      const m =
        (maps[(ty0 * tiles + tx0) * 256 + v] * (1 - wx) + maps[(ty0 * tiles + tx1) * 256 + v] * wx) *
          (1 - wy) +
        (maps[(ty1 * tiles + tx0) * 256 + v] * (1 - wx) + maps[(ty1 * tiles + tx1) * 256 + v] * wx) * wy;
      const gain = m / v;
      for (let ch = 0; ch < 3; ch++) {
        const c = rgb[o + ch] * gain;
        out[o + ch] = c >= 255 ? 255 : Math.round(c);
      }
    }
  }
  return out;
}
