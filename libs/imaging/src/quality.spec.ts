import sharp from 'sharp';
import { preprocess } from './preprocess';
import { DEFAULT_QUALITY } from './quality';
import { encodeJpeg, generateFundus, renderFundus } from './synthetic';

describe('quality gate', () => {
  it('passes well-exposed, sharp synthetic photographs of any severity', async () => {
    for (let seed = 0; seed < 6; seed++) {
      const jpg = await generateFundus({ seed, size: 320, disease: seed % 2 === 1 });
      const q = (await preprocess(jpg, { size: 64 })).quality;
      expect(q.reasons).toEqual([]);
      expect(q.gradable).toBe(true);
      expect(q.fovFound).toBe(true);
    }
  });

  it('marks under-exposed images too-dark', async () => {
    const jpg = await generateFundus({ seed: 1, size: 320, disease: false, exposure: 0.15 });
    const q = (await preprocess(jpg, { size: 64 })).quality;
    expect(q.gradable).toBe(false);
    expect(q.reasons).toContain('too-dark');
    expect(q.meanLuminance).toBeLessThan(DEFAULT_QUALITY.minMeanLuminance);
  });

  it('marks over-exposed images too-bright', async () => {
    const jpg = await generateFundus({ seed: 1, size: 320, disease: false, exposure: 3.5 });
    const q = (await preprocess(jpg, { size: 64 })).quality;
    expect(q.reasons).toContain('too-bright');
  });

  it('marks a small field of view fov-too-small', async () => {
    const img = renderFundus({
      seed: 2,
      size: 400,
      disease: false,
      fov: { cx: 200, cy: 200, r: 70 },
      exposure: 1,
    });
    const q = (await preprocess(await encodeJpeg(img, 90), { size: 64 })).quality;
    expect(q.fovFound).toBe(true);
    expect(q.fovFraction).toBeCloseTo(0.35, 1);
    expect(q.reasons).toContain('fov-too-small');
  });

  it('marks defocused images blurred, at any file resolution, and not their sharp originals', async () => {
    for (const size of [256, 768]) {
      const jpg = await generateFundus({ seed: 3, size, disease: false });
      const sharpQ = (await preprocess(jpg, { size: 96 })).quality;
      expect(sharpQ.reasons).not.toContain('blurred');
      const blurred = await sharp(jpg)
        .blur(0.03 * size)
        .jpeg({ quality: 90 })
        .toBuffer();
      const q = (await preprocess(blurred, { size: 96 })).quality;
      expect(q.reasons).toEqual(['blurred']);
      expect(q.sharpness).toBeLessThan(sharpQ.sharpness / 10);
    }
  });

  it('measures do not depend on the requested output size', async () => {
    const jpg = await generateFundus({ seed: 5, size: 768, disease: false });
    const blurred = await sharp(jpg)
      .blur(0.03 * 768)
      .jpeg({ quality: 90 })
      .toBuffer();
    const at = async (b: Buffer, size: number) => (await preprocess(b, { size })).quality;
    const [q32, q128, q224] = await Promise.all([at(jpg, 32), at(jpg, 128), at(jpg, 224)]);
    expect(Math.abs(q32.sharpness - q224.sharpness) / q224.sharpness).toBeLessThan(0.15);
    expect(Math.abs(q128.meanLuminance - q224.meanLuminance)).toBeLessThan(2);
    for (const size of [32, 224]) expect((await at(blurred, size)).reasons).toEqual(['blurred']);
  });

  it('thresholds are configurable', async () => {
    const jpg = await generateFundus({ seed: 4, size: 256, disease: false, exposure: 1 });
    const q = (await preprocess(jpg, { size: 64, quality: { minMeanLuminance: 250 } })).quality;
    expect(q.reasons).toEqual(['too-dark']);
  });
});
