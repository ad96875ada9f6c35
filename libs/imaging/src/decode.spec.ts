import sharp from 'sharp';
import { decodeImage, inspectImage } from './decode';
import { ImagingError, isImagingError } from './errors';
import { makeBadFiles, pngHeaderOnly, type BadFile } from './fixtures';
import { detectFov } from './fov';
import { preprocess } from './preprocess';
import { renderFundus } from './synthetic';

let table: BadFile[];
beforeAll(async () => {
  table = await makeBadFiles();
});

describe('bad-file table', () => {
  it('covers every case the issue lists', () => {
    expect(table.map((f) => f.name).sort()).toEqual(
      [
        'all-black',
        'cmyk-jpeg',
        'empty',
        'exif-rotated',
        'greyscale',
        'huge-header',
        'one-pixel',
        'png-16bit',
        'png-broken-crc',
        'random-bytes',
        'truncated-jpeg',
      ].sort(),
    );
  });

  it.each([
    'empty',
    'truncated-jpeg',
    'random-bytes',
    'png-broken-crc',
    'one-pixel',
    'huge-header',
    'cmyk-jpeg',
    'png-16bit',
    'greyscale',
    'exif-rotated',
    'all-black',
  ])('%s: decodeImage and preprocess give the expected outcome', async (name) => {
    const f = table.find((t) => t.name === name)!;
    const exp = f.expect;
    if (exp.outcome === 'error') {
      const e1 = await decodeImage(f.bytes).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(ImagingError);
      expect((e1 as ImagingError).code).toBe(exp.code);
      const e2 = await preprocess(f.bytes, { size: 64 }).catch((e: unknown) => e);
      expect(isImagingError(e2)).toBe(true);
      expect((e2 as ImagingError).code).toBe(exp.code);
      return;
    }
    const img = await decodeImage(f.bytes);
    expect([img.width, img.height, img.channels]).toEqual([exp.width, exp.height, 3]);
    expect(img.data.length).toBe(exp.width * exp.height * 3);
    const p = await preprocess(f.bytes, { size: 64 });
    expect(p.data).toHaveLength(64 * 64 * 3);
    expect(p.data.every(Number.isFinite)).toBe(true);
    expect(p.quality.gradable).toBe(exp.gradable);
    for (const r of exp.reasons) expect(p.quality.reasons).toContain(r);
    if (exp.gradable) expect(p.quality.reasons).toEqual([]);
  });

  it('CMYK and 16-bit decode to sRGB colours of the 8-bit original', async () => {
    const ref = renderFundus({ seed: 4242, size: 256, disease: false, exposure: 1 });
    const mean = (d: Uint8Array, c: number) => {
      let s = 0;
      for (let i = c; i < d.length; i += 3) s += d[i];
      return s / (d.length / 3);
    };
    for (const name of ['cmyk-jpeg', 'png-16bit']) {
      const img = await decodeImage(table.find((t) => t.name === name)!.bytes);
      // CMYK goes through libvips' default CMYK profile and back: dark saturated oranges lose some blue
      // (gamut), so blue gets a wider tolerance than red and green.
      const tol = name === 'cmyk-jpeg' ? [8, 8, 16] : [1, 1, 1];
      for (let c = 0; c < 3; c++) expect(Math.abs(mean(img.data, c) - mean(ref.rgb, c))).toBeLessThan(tol[c]);
    }
    const grey = await decodeImage(table.find((t) => t.name === 'greyscale')!.bytes);
    for (let i = 0; i < grey.data.length; i += 3) {
      expect(grey.data[i]).toBe(grey.data[i + 1]);
      expect(grey.data[i + 1]).toBe(grey.data[i + 2]);
    }
  });

  it('EXIF orientation is applied: the field of view lands where the upright image had it', async () => {
    const img = await decodeImage(table.find((t) => t.name === 'exif-rotated')!.bytes);
    const fov = detectFov(img.data, img.width, img.height);
    expect(fov.cx).toBeCloseTo(128, -1);
    expect(fov.cy).toBeCloseTo(120, -1);
    expect(Math.abs(fov.r - 110)).toBeLessThan(4);
  });

  it('all bad files decoded concurrently only ever reject with ImagingError (the process survives)', async () => {
    const results = await Promise.allSettled(
      table.flatMap((f) => [decodeImage(f.bytes), preprocess(f.bytes, { size: 32 })]),
    );
    for (const r of results) {
      if (r.status === 'rejected') expect(isImagingError(r.reason)).toBe(true);
    }
  });
});

describe('limits', () => {
  it('rejects inputs over maxBytes before parsing', async () => {
    const buf = table.find((t) => t.name === 'cmyk-jpeg')!.bytes;
    await expect(decodeImage(buf, { maxBytes: buf.length - 1 })).rejects.toMatchObject({
      code: 'too-many-bytes',
    });
    await expect(decodeImage(buf, { maxBytes: buf.length })).resolves.toMatchObject({ width: 256 });
  });

  it('rejects by pixel count from the header alone, and honours a raised limit for sane sizes', async () => {
    const buf = table.find((t) => t.name === 'png-16bit')!.bytes;
    await expect(inspectImage(buf, { maxPixels: 256 * 256 - 1 })).rejects.toMatchObject({
      code: 'too-many-pixels',
    });
    await expect(inspectImage(pngHeaderOnly(9000, 9000))).rejects.toMatchObject({ code: 'too-many-pixels' });
    // Within the limit, the header-only PNG fails as corrupt (no pixel data) rather than allocating.
    await expect(decodeImage(pngHeaderOnly(300, 200))).rejects.toMatchObject({ code: 'corrupt' });
  });

  it('minSide is configurable', async () => {
    const png = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#804020' } })
      .png()
      .toBuffer();
    await expect(decodeImage(png)).rejects.toMatchObject({ code: 'too-small' });
    await expect(decodeImage(png, { minSide: 16 })).resolves.toMatchObject({ width: 40, height: 20 });
  });

  it('refuses formats outside the allow-list (SVG)', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>',
    );
    await expect(decodeImage(svg)).rejects.toMatchObject({ code: 'unsupported' });
  });
});

describe('formats', () => {
  const W = 96;
  const H = 64;
  // A colour gradient with an exactly known pixel (x=10, y=20).
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      raw[o] = 40 + x * 2;
      raw[o + 1] = 30 + y * 3;
      raw[o + 2] = 100;
    }
  }
  const src = () => sharp(raw, { raw: { width: W, height: H, channels: 3 } });
  const at = (d: Uint8Array, x: number, y: number) =>
    Array.from(d.subarray((y * W + x) * 3, (y * W + x) * 3 + 3));
  const cases: [string, () => Promise<Buffer>, number][] = [
    ['baseline JPEG', () => src().jpeg({ quality: 95 }).toBuffer(), 6],
    ['progressive JPEG', () => src().jpeg({ quality: 95, progressive: true }).toBuffer(), 6],
    ['PNG 8-bit', () => src().png().toBuffer(), 0],
    ['PNG 16-bit', () => src().toColourspace('rgb16').png().toBuffer(), 0],
    ['PNG palette', () => src().png({ palette: true, colours: 256, dither: 0 }).toBuffer(), 12],
    ['PNG with alpha', () => src().ensureAlpha(1).png().toBuffer(), 0],
    ['TIFF (LZW)', () => src().tiff({ compression: 'lzw' }).toBuffer(), 0],
    ['TIFF (JPEG-compressed)', () => src().tiff({ compression: 'jpeg', quality: 95 }).toBuffer(), 6],
    ['WebP lossless', () => src().webp({ lossless: true }).toBuffer(), 0],
    ['WebP lossy', () => src().webp({ quality: 95 }).toBuffer(), 10],
    ['GIF', () => src().gif().toBuffer(), 24],
  ];
  it.each(cases)('%s decodes to RGB of the right size and colour', async (_name, make, tol) => {
    const img = await decodeImage(await make());
    expect([img.width, img.height, img.channels, img.data.length]).toEqual([W, H, 3, W * H * 3]);
    const got = at(img.data, 10, 20);
    const want = at(raw, 10, 20);
    for (let c = 0; c < 3; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(tol);
  });

  it('converts pixels tagged with an embedded ICC profile (Display P3) to sRGB', async () => {
    const flat = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) flat.set([200, 60, 30], i * 3);
    const p3 = await sharp(flat, { raw: { width: W, height: H, channels: 3 } })
      .withIccProfile('p3')
      .jpeg({ quality: 98 })
      .toBuffer();
    expect((await sharp(p3).metadata()).hasProfile).toBe(true);
    // The stored values are P3 (about 185, 71, 44); decoding must give back the sRGB colour.
    const img = await decodeImage(p3);
    const got = at(img.data, W >> 1, H >> 1);
    [200, 60, 30].forEach((v, c) => expect(Math.abs(got[c] - v)).toBeLessThanOrEqual(3));
  });

  it('greyscale PNG with alpha is flattened onto black and expanded to 3 equal channels', async () => {
    const ga = Buffer.alloc(W * H * 2);
    for (let i = 0; i < W * H; i++) {
      ga[i * 2] = 200;
      ga[i * 2 + 1] = i % W < W / 2 ? 255 : 0; // left half opaque, right half transparent
    }
    const png = await sharp(ga, { raw: { width: W, height: H, channels: 2 } })
      .png()
      .toBuffer();
    const img = await decodeImage(png);
    expect(at(img.data, 5, 5)).toEqual([200, 200, 200]);
    expect(at(img.data, W - 5, 5)).toEqual([0, 0, 0]);
  });
});
