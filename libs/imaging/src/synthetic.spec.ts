import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeSyntheticDataset } from './dataset';
import { decodeImage } from './decode';
import { generateFundus, renderFundus, SEVERITIES } from './synthetic';

describe('generateFundus', () => {
  it('is deterministic by seed and options', async () => {
    const a = await generateFundus({ seed: 1, size: 128, disease: true });
    const b = await generateFundus({ seed: 1, size: 128, disease: true });
    const c = await generateFundus({ seed: 2, size: 128, disease: true });
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('writes a JPEG of the requested size with a bright disc on a black surround', async () => {
    const img = await decodeImage(await generateFundus({ seed: 3, size: 200, height: 150, disease: false }));
    expect([img.width, img.height]).toEqual([200, 150]);
    const px = (x: number, y: number) =>
      Array.from(img.data.subarray((y * 200 + x) * 3, (y * 200 + x) * 3 + 3));
    expect(Math.max(...px(2, 2))).toBeLessThan(12); // corner: black surround
    const [r, g, b] = px(100, 75); // centre: orange-red fundus
    expect(r).toBeGreaterThan(g);
    expect(g).toBeGreaterThan(b);
  });

  it('normal images carry no lesions; disease severities follow the documented counts', () => {
    expect(renderFundus({ seed: 4, size: 96, disease: false }).lesions).toEqual([]);
    for (let seed = 0; seed < 20; seed++) {
      const subtle = renderFundus({ seed, size: 96, disease: true, severity: 'subtle' });
      expect(subtle.severity).toBe('subtle');
      expect(subtle.lesions.length).toBeGreaterThanOrEqual(1);
      expect(subtle.lesions.length).toBeLessThanOrEqual(3);
      expect(subtle.lesions.every((l) => l.kind === 'microaneurysm' || l.kind === 'haemorrhage')).toBe(true);
      const severe = renderFundus({ seed, size: 96, disease: true, severity: 'severe' });
      const kinds = new Set(severe.lesions.map((l) => l.kind));
      expect([...kinds].sort()).toEqual(['cotton-wool', 'haemorrhage', 'hard-exudate', 'microaneurysm']);
      expect(severe.lesions.length).toBeGreaterThan(30);
    }
    const drawn = new Set(
      Array.from({ length: 40 }, (_, seed) => renderFundus({ seed, size: 64, disease: true }).severity),
    );
    expect([...drawn].sort()).toEqual([...SEVERITIES].sort());
  });

  it('lesions change the pixels they are drawn on: blood darker, exudates brighter than around them', () => {
    const size = 512;
    const sick = renderFundus({ seed: 9, size, exposure: 1, disease: true, severity: 'severe' });
    const green = (cx: number, cy: number, r0: number, r1: number) => {
      let s = 0;
      let n = 0;
      for (let y = Math.floor(cy - r1); y <= cy + r1; y++) {
        for (let x = Math.floor(cx - r1); x <= cx + r1; x++) {
          const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
          if (d < r0 || d > r1 || x < 0 || y < 0 || x >= size || y >= size) continue;
          s += sick.rgb[(y * size + x) * 3 + 1];
          n++;
        }
      }
      return s / n;
    };
    const contrast = (kind: string) =>
      sick.lesions
        .filter((l) => l.kind === kind && l.r >= 2)
        .map((l) => green(l.x, l.y, 0, l.r * 0.5) - green(l.x, l.y, l.r * 2.5, l.r * 3.5));
    const blood = contrast('haemorrhage');
    const bright = [...contrast('hard-exudate'), ...contrast('cotton-wool')];
    expect(blood.length).toBeGreaterThan(5);
    expect(bright.length).toBeGreaterThan(5);
    // Vessels or neighbouring lesions can sit in a ring; the large majority must show the contrast.
    expect(blood.filter((d) => d < -10).length).toBeGreaterThan(0.8 * blood.length);
    expect(bright.filter((d) => d > 10).length).toBeGreaterThan(0.8 * bright.length);
  });
});

describe('writeSyntheticDataset', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'fundus-ds-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the seed layout and an explicit manifest; patients never span splits', async () => {
    const counts = {
      train: { normal: 12, disease: 8 },
      val: { normal: 3, disease: 3 },
      test: { normal: 5, disease: 4 },
    };
    const m = await writeSyntheticDataset({ root, counts, size: 64, seed: 1 });
    expect(m.rows).toHaveLength(35);
    for (const split of ['train', 'val', 'test'] as const) {
      for (const label of ['normal', 'disease'] as const) {
        const files = await readdir(path.join(root, split, label));
        expect(files).toHaveLength(counts[split][label]);
        expect(files.every((f) => /^img-\d{6}\.jpg$/.test(f))).toBe(true);
      }
    }
    const csv = (await readFile(m.manifestPath, 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('key,label,split,patient_id');
    expect(csv).toHaveLength(36);
    for (const line of csv.slice(1)) {
      const [key, label, split, pid] = line.split(',');
      expect(key).toBe(`${split}/${label}/${path.basename(key)}`);
      expect(pid).toMatch(/^P\d{6}$/);
    }
    const splitOf = new Map<string, string>();
    for (const r of m.rows) {
      expect(splitOf.get(r.patientId) ?? r.split).toBe(r.split);
      splitOf.set(r.patientId, r.split);
    }
    expect(new Set(m.rows.map((r) => r.patientId)).size).toBeLessThan(35); // some patients have two eyes
    const first = await decodeImage(await readFile(path.join(root, m.rows[0].key)));
    expect(first.width).toBe(64);
  });

  it('is deterministic and applies label noise only to recorded labels', async () => {
    const counts = { train: { normal: 30, disease: 30 }, test: { normal: 0, disease: 0 } };
    const a = await writeSyntheticDataset({ root, counts, size: 32, seed: 5, labelNoise: 0.2 });
    const b = await writeSyntheticDataset({
      root: path.join(root, 'b'),
      counts,
      size: 32,
      seed: 5,
      labelNoise: 0.2,
    });
    expect(a.rows).toEqual(b.rows);
    const flipped = a.rows.filter((r) => r.label !== r.trueLabel);
    expect(flipped.length).toBeGreaterThan(3);
    expect(flipped.length).toBeLessThan(25);
    for (const r of flipped) expect(r.key.startsWith(`train/${r.label}/`)).toBe(true);
    const trueDisease = a.rows.filter((r) => r.trueLabel === 'disease');
    expect(trueDisease).toHaveLength(30);
    expect(trueDisease.every((r) => r.severity !== null)).toBe(true);
  });

  it('honours the severity mix', async () => {
    const counts = { train: { normal: 0, disease: 20 }, test: { normal: 0, disease: 0 } };
    const m = await writeSyntheticDataset({
      root,
      counts,
      size: 32,
      seed: 2,
      severityMix: { moderate: 1, severe: 1 },
    });
    expect(m.rows.every((r) => r.severity === 'moderate' || r.severity === 'severe')).toBe(true);
  });
});
