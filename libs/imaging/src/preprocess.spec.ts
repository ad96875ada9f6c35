import { augmentUint8, sampleAugmentParams } from './augment';
import { clahe } from './enhance';
import {
  denormalize,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalize,
  preprocess,
  preprocessToUint8,
} from './preprocess';
import { mulberry32 } from './random';
import { generateFundus } from './synthetic';

let jpeg: Buffer;
beforeAll(async () => {
  jpeg = await generateFundus({ seed: 11, size: 384, height: 320, disease: true, severity: 'moderate' });
});

describe('normalize', () => {
  it('computes (v/255 − mean) / std per channel, NHWC order', () => {
    const rgb = new Uint8Array([0, 128, 255, 255, 0, 128]);
    const out = normalize(rgb);
    const want = Array.from(rgb, (v, i) => (v / 255 - IMAGENET_MEAN[i % 3]) / IMAGENET_STD[i % 3]);
    out.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    const custom = normalize(rgb, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
    expect(custom[0]).toBeCloseTo(-1, 6);
    expect(custom[2]).toBeCloseTo(1, 6);
  });

  it('denormalize inverts it exactly on bytes', () => {
    const rand = mulberry32(1);
    const rgb = Uint8Array.from({ length: 300 }, () => Math.floor(rand() * 256));
    expect(denormalize(normalize(rgb))).toEqual(rgb);
  });

  it('rejects bad arguments', () => {
    expect(() => normalize(new Uint8Array(4))).toThrow(RangeError);
    expect(() => normalize(new Uint8Array(3), [0, 0, 0], [1, 0, 1])).toThrow(RangeError);
  });
});

describe('preprocess', () => {
  it('returns a float32 NHWC tensor of size²·3, equal to normalize(preprocessToUint8)', async () => {
    const p = await preprocess(jpeg, { size: 96 });
    expect(p.data).toBeInstanceOf(Float32Array);
    expect(p.data).toHaveLength(96 * 96 * 3);
    expect(p.size).toBe(96);
    const u = await preprocessToUint8(jpeg, { size: 96 });
    expect(p.data).toEqual(normalize(u.data));
    expect(p.fov).toEqual(u.fov);
    expect(p.quality.gradable).toBe(true);
  });

  it('is deterministic without augmentation', async () => {
    const a = await preprocess(jpeg, { size: 64 });
    const b = await preprocess(jpeg, { size: 64 });
    expect(a.data).toEqual(b.data);
  });

  it('rejects invalid sizes and enhancements', async () => {
    await expect(preprocess(jpeg, { size: 0 })).rejects.toThrow(RangeError);
    await expect(preprocess(jpeg, { size: 12.5 })).rejects.toThrow(RangeError);
    await expect(preprocessToUint8(jpeg, { size: 32, enhance: 'sharpen' as never })).rejects.toThrow(
      RangeError,
    );
  });

  it.each(['ben-graham', 'clahe'] as const)(
    'enhancement %s changes the crop deterministically',
    async (enhance) => {
      const plain = await preprocessToUint8(jpeg, { size: 96 });
      const a = await preprocessToUint8(jpeg, { size: 96, enhance });
      const b = await preprocessToUint8(jpeg, { size: 96, enhance });
      expect(a.data).toEqual(b.data);
      expect(a.data).not.toEqual(plain.data);
    },
  );

  it('ben-graham sets the outside of 90 % of the FOV to mid-grey and centres local contrast on 128', async () => {
    const size = 96;
    const a = await preprocessToUint8(jpeg, { size, enhance: 'ben-graham' });
    expect(Array.from(a.data.subarray(0, 3))).toEqual([128, 128, 128]);
    let s = 0;
    let n = 0;
    for (let y = 30; y < 66; y++) {
      for (let x = 30; x < 66; x++) {
        s += a.data[(y * size + x) * 3 + 1];
        n++;
      }
    }
    expect(Math.abs(s / n - 128)).toBeLessThan(20);
  });

  it('clahe increases contrast of a flat, low-contrast image and keeps black black', () => {
    const w = 64;
    const rgb = new Uint8Array(w * w * 3);
    const rand = mulberry32(3);
    for (let i = 0; i < w * w; i++) {
      const inside = i % w > 8;
      const v = inside ? 100 + Math.floor(rand() * 10) : 0;
      rgb.set([v, v * 0.5, v * 0.2], i * 3);
    }
    const out = clahe(rgb, w, w);
    const spread = (d: Uint8Array) => {
      let lo = 255;
      let hi = 0;
      for (let i = 0; i < w * w; i++) {
        if (i % w <= 8) continue;
        lo = Math.min(lo, d[i * 3]);
        hi = Math.max(hi, d[i * 3]);
      }
      return hi - lo;
    };
    expect(spread(out)).toBeGreaterThan(2 * spread(rgb));
    expect(out[0]).toBe(0);
  });
});

describe('augmentation', () => {
  it('identical seed → identical output; different seeds → different output', async () => {
    const a = await preprocess(jpeg, { size: 64, augment: { seed: 7 } });
    const b = await preprocess(jpeg, { size: 64, augment: { seed: 7 } });
    const c = await preprocess(jpeg, { size: 64, augment: { seed: 8 } });
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(c.data);
  });

  it('parameters are drawn within the configured ranges', () => {
    for (let seed = 0; seed < 200; seed++) {
      const p = sampleAugmentParams(
        { seed, rotation: 10, scale: 0.1, translate: 0.05, brightness: 0.2 },
        100,
      );
      expect(Math.abs(p.angle)).toBeLessThanOrEqual((10 * Math.PI) / 180);
      expect(p.zoom).toBeGreaterThanOrEqual(0.9);
      expect(p.zoom).toBeLessThanOrEqual(1.1);
      expect(Math.abs(p.dx)).toBeLessThanOrEqual(5);
      expect(p.brightness).toBeGreaterThanOrEqual(0.8);
      expect(p.vflip).toBe(false); // off by default
    }
  });

  it('with every jitter off, a drawn horizontal flip mirrors the image exactly', () => {
    const size = 16;
    const rand = mulberry32(5);
    const rgb = Uint8Array.from({ length: size * size * 3 }, () => 20 + Math.floor(rand() * 200));
    const off = { rotation: 0, scale: 0, translate: 0, brightness: 0, contrast: 0, saturation: 0 };
    let seed = 0;
    while (!sampleAugmentParams({ seed, ...off }, size).hflip) seed++;
    const out = augmentUint8(rgb, size, { seed, ...off });
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++)
          expect(out[(y * size + x) * 3 + c]).toBe(rgb[(y * size + size - 1 - x) * 3 + c]);
      }
    }
    let noFlip = 0;
    while (sampleAugmentParams({ seed: noFlip, ...off }, size).hflip) noFlip++;
    expect(augmentUint8(rgb, size, { seed: noFlip, ...off })).toEqual(rgb);
  });

  it('leaves the black surround unchanged under brightness/contrast jitter', async () => {
    const u = await preprocessToUint8(jpeg, { size: 64 });
    const out = augmentUint8(u.data, 64, {
      seed: 1,
      rotation: 0,
      scale: 0,
      translate: 0,
      brightness: 0.3,
      contrast: 0.3,
    });
    // Corners lie outside the inscribed FOV circle: photometric jitter leaves them as they were (≈ black).
    expect(Array.from(out.subarray(0, 3))).toEqual(Array.from(u.data.subarray(0, 3)));
    expect(Math.max(...out.subarray(0, 3))).toBeLessThan(8);
  });
});
