import { decodeImage, decodeScaled } from './decode';
import { detectFov } from './fov';
import { bilinearSquare, resampleSquare } from './resample';
import { preprocess, preprocessToUint8 } from './preprocess';
import { encodeJpeg, renderFundus } from './synthetic';

/** Known geometries: centred, offset, cut by the frame (top/bottom, one side), wide and tall frames, small. */
const geometries: { name: string; w: number; h: number; fov: { cx: number; cy: number; r: number } }[] = [
  { name: 'centred square', w: 256, h: 256, fov: { cx: 128, cy: 128, r: 120 } },
  { name: 'offset right and down', w: 320, h: 256, fov: { cx: 190, cy: 140, r: 100 } },
  { name: '4:3 frame, disc cut at top and bottom', w: 400, h: 300, fov: { cx: 200, cy: 150, r: 170 } },
  { name: 'disc cut on the left', w: 300, h: 300, fov: { cx: 100, cy: 150, r: 130 } },
  { name: 'tall frame', w: 240, h: 360, fov: { cx: 120, cy: 170, r: 110 } },
  { name: 'small disc', w: 300, h: 300, fov: { cx: 140, cy: 160, r: 50 } },
];

describe('detectFov on generated images of known geometry', () => {
  it.each(geometries)('$name', ({ w, h, fov }) => {
    for (const seed of [1, 2]) {
      const img = renderFundus({ seed, size: w, height: h, disease: seed === 2, fov, exposure: 1 });
      const d = detectFov(img.rgb, w, h);
      expect(d.found).toBe(true);
      // Within 2 % of the radius (plus one analysis cell for the small images).
      const tol = 0.02 * fov.r + 2;
      expect(Math.abs(d.cx - fov.cx)).toBeLessThan(tol);
      expect(Math.abs(d.cy - fov.cy)).toBeLessThan(tol);
      expect(Math.abs(d.r - fov.r)).toBeLessThan(tol);
    }
  });

  it('a search window around a first estimate refines a small disc in a large frame', () => {
    const fov = { cx: 610, cy: 420, r: 90 };
    const img = renderFundus({ seed: 4, size: 1000, height: 800, disease: false, fov, exposure: 1 });
    const coarse = detectFov(img.rgb, 1000, 800);
    const fine = detectFov(img.rgb, 1000, 800, {
      x: coarse.cx - 1.3 * coarse.r,
      y: coarse.cy - 1.3 * coarse.r,
      w: 2.6 * coarse.r,
      h: 2.6 * coarse.r,
    });
    const err = (d: { cx: number; cy: number; r: number }) =>
      Math.max(Math.abs(d.cx - fov.cx), Math.abs(d.cy - fov.cy), Math.abs(d.r - fov.r));
    expect(err(fine)).toBeLessThan(0.015 * fov.r);
    expect(err(fine)).toBeLessThanOrEqual(err(coarse));
    // A window with nothing in it falls back to the whole image.
    expect(Math.abs(detectFov(img.rgb, 1000, 800, { x: 0, y: 0, w: 100, h: 100 }).r - fov.r)).toBeLessThan(
      0.05 * fov.r,
    );
  });

  it('works on dim images (exposure 0.35)', () => {
    const fov = { cx: 150, cy: 130, r: 110 };
    const img = renderFundus({ seed: 3, size: 300, height: 260, disease: false, fov, exposure: 0.35 });
    const d = detectFov(img.rgb, 300, 260);
    expect(d.found).toBe(true);
    expect(Math.abs(d.r - fov.r)).toBeLessThan(4);
  });

  it('reports not found on a black image and falls back to the inscribed circle', () => {
    const d = detectFov(new Uint8Array(200 * 100 * 3), 200, 100);
    expect(d).toMatchObject({ found: false, method: 'fallback', cx: 100, cy: 50, r: 50 });
  });
});

describe('FOV crop through the full pipeline (JPEG, shrink-on-load)', () => {
  it('maps the FOV back to full-resolution pixels and centres the disc in the square crop', async () => {
    const fov = { cx: 680, cy: 460, r: 420 };
    const img = renderFundus({ seed: 5, size: 1200, height: 900, disease: false, fov, exposure: 1 });
    const jpeg = await encodeJpeg(img, 90);
    const size = 128;
    const u = await preprocessToUint8(jpeg, { size });
    expect(u.sourceWidth).toBe(1200);
    expect(Math.abs(u.fov.cx - fov.cx)).toBeLessThan(0.02 * fov.r);
    expect(Math.abs(u.fov.cy - fov.cy)).toBeLessThan(0.02 * fov.r);
    expect(Math.abs(u.fov.r - fov.r)).toBeLessThan(0.02 * fov.r);
    // In the crop the disc is the inscribed circle: find it again and expect centre ≈ size/2, r ≈ size/2.
    const again = detectFov(u.data, size, size);
    expect(Math.abs(again.cx - size / 2)).toBeLessThan(3);
    expect(Math.abs(again.cy - size / 2)).toBeLessThan(3);
    expect(Math.abs(again.r - size / 2)).toBeLessThan(3);
  });

  it('re-decodes at higher resolution when the disc is small in a large file (no upsampled crop)', async () => {
    const fov = { cx: 620, cy: 440, r: 130 };
    const img = renderFundus({
      seed: 8,
      size: 1200,
      height: 900,
      disease: true,
      severity: 'moderate',
      fov,
      exposure: 1,
    });
    const jpeg = await encodeJpeg(img, 92);
    const size = 224;
    const u = await preprocessToUint8(jpeg, { size });
    expect(Math.abs(u.fov.r - fov.r)).toBeLessThan(0.02 * fov.r);
    expect(u.quality.reasons).toContain('fov-too-small');
    // Detail (mean |Laplacian| of green) close to a crop from the full-resolution decode, and far above
    // what upsampling the disc from the first, low-resolution decode would give.
    const detail = (d: Uint8Array) => {
      let t = 0;
      for (let y = 1; y < size - 1; y++) {
        for (let x = 1; x < size - 1; x++) {
          const o = (y * size + x) * 3 + 1;
          t += Math.abs(4 * d[o] - d[o - 3] - d[o + 3] - d[o - size * 3] - d[o + size * 3]);
        }
      }
      return t / (size - 2) ** 2;
    };
    const full = await decodeImage(jpeg);
    const ref = resampleSquare(
      full.data,
      full.width,
      full.height,
      detectFov(full.data, full.width, full.height),
      size,
    );
    const low = await decodeScaled(jpeg, Math.ceil(size * 1.1));
    const upsampled = bilinearSquare(
      low.data,
      low.width,
      low.height,
      detectFov(low.data, low.width, low.height),
      size,
    );
    expect(detail(u.data)).toBeGreaterThan(0.75 * detail(ref));
    expect(detail(upsampled)).toBeLessThan(0.5 * detail(ref));
  });

  it('pads with black where the disc leaves the frame', async () => {
    // Disc cut at top and bottom: the crop's top and bottom rows lie outside the image → pure black.
    const fov = { cx: 300, cy: 200, r: 260 };
    const img = renderFundus({ seed: 6, size: 600, height: 400, disease: false, fov, exposure: 1 });
    const size = 100;
    const u = await preprocessToUint8(await encodeJpeg(img, 92), { size });
    const padRows = Math.floor(((fov.r - fov.cy) / (2 * fov.r)) * size) - 1; // ≈ 10 rows each side
    expect(padRows).toBeGreaterThan(5);
    const rowMax = (y: number) => Math.max(...u.data.subarray(y * size * 3, (y + 1) * size * 3));
    for (let y = 0; y < padRows; y++) {
      expect(rowMax(y)).toBe(0);
      expect(rowMax(size - 1 - y)).toBe(0);
    }
    // The middle row crosses the disc.
    expect(rowMax(size / 2)).toBeGreaterThan(100);
    const p = await preprocess(await encodeJpeg(img, 92), { size });
    expect(p.quality.fovFraction).toBeGreaterThan(1.2);
  });
});
