/**
 * Regenerates the committed contact sheets:
 *  - docs/imaging/contact-sheet.png — synthetic fundus photographs as generated (JPEG), row 1 normal,
 *    rows 2–3 disease from subtle to severe (label in each tile's corner);
 *  - docs/imaging/preprocessed-sheet.png — the same images after `preprocess({ size: 224 })`,
 *    de-normalised back to bytes, plus a last row with the options: Ben Graham, CLAHE and augmentation.
 * Deterministic (fixed seeds). Run: npx tsx bench/imaging/contact-sheets.ts [outDir]
 */
import * as path from 'node:path';
import sharp from 'sharp';
import {
  denormalize,
  generateFundus,
  preprocess,
  SEVERITIES,
  type PreprocessOptions,
  type Severity,
} from '@fundus/imaging';

const TILE = 256;
const COLS = 6;
const GAP = 4;

function label(text: string): Buffer {
  const w = 8 + text.length * 8;
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="18"><rect width="${w}" height="18" fill="#000" fill-opacity="0.6"/>` +
      `<text x="4" y="13" font-family="DejaVu Sans, sans-serif" font-size="12" fill="#fff">${text}</text></svg>`,
  );
}

async function tileFrom(png: Buffer, text: string): Promise<Buffer> {
  return sharp(png)
    .composite([{ input: label(text), left: 2, top: 2 }])
    .png()
    .toBuffer();
}

async function sheet(tiles: Buffer[], file: string): Promise<void> {
  const rows = Math.ceil(tiles.length / COLS);
  await sharp({
    create: {
      width: COLS * (TILE + GAP) - GAP,
      height: rows * (TILE + GAP) - GAP,
      channels: 3,
      background: '#202020',
    },
  })
    .composite(
      tiles.map((input, i) => ({
        input,
        left: (i % COLS) * (TILE + GAP),
        top: Math.floor(i / COLS) * (TILE + GAP),
      })),
    )
    .png({ compressionLevel: 9 })
    .toFile(file);
}

async function tensorTile(jpeg: Buffer, opts: PreprocessOptions, text: string): Promise<Buffer> {
  const p = await preprocess(jpeg, opts);
  const rgb = denormalize(p.data, opts.mean, opts.std);
  const png = await sharp(Buffer.from(rgb), { raw: { width: opts.size, height: opts.size, channels: 3 } })
    .resize(TILE, TILE, { kernel: 'nearest' })
    .png()
    .toBuffer();
  return tileFrom(png, `${text}${p.quality.gradable ? '' : ' UNGRADABLE'}`);
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? path.join(__dirname, '../../docs/imaging');
  const specs: {
    disease: boolean;
    severity?: Severity;
    seed: number;
    w: number;
    h: number;
    fov?: { cx: number; cy: number; r: number };
  }[] = [];
  // Normal images in two frame shapes (4:3 as most fundus cameras write, and square); one 4:3 frame
  // cuts the disc at top and bottom, as many cameras do.
  for (let i = 0; i < COLS; i++) {
    const wide = i % 2 === 0;
    specs.push({
      disease: false,
      seed: 100 + i,
      w: wide ? 1536 : 1024,
      h: wide ? 1152 : 1024,
      fov: i === 2 ? { cx: 768, cy: 576, r: 640 } : undefined,
    });
  }
  for (let i = 0; i < 2 * COLS; i++)
    specs.push({ disease: true, severity: SEVERITIES[Math.floor(i / 3)], seed: 200 + i, w: 1024, h: 1024 });
  const jpegs = await Promise.all(
    specs.map((s) =>
      generateFundus({
        seed: s.seed,
        size: s.w,
        height: s.h,
        disease: s.disease,
        severity: s.severity,
        fov: s.fov,
      }),
    ),
  );
  const names = specs.map((s) => (s.disease ? `disease: ${s.severity}` : 'normal'));
  const raw: Buffer[] = [];
  for (let i = 0; i < jpegs.length; i++) {
    const png = await sharp(jpegs[i])
      .resize(TILE, TILE, { fit: 'contain', background: '#000' })
      .png()
      .toBuffer();
    raw.push(await tileFrom(png, `${names[i]} ${specs[i].w}×${specs[i].h}`));
  }
  await sheet(raw, path.join(out, 'contact-sheet.png'));

  const pre: Buffer[] = [];
  for (let i = 0; i < jpegs.length; i++) pre.push(await tensorTile(jpegs[i], { size: 224 }, names[i]));
  const j = jpegs[COLS + 7]; // a moderate case
  pre.push(await tensorTile(j, { size: 224, enhance: 'ben-graham' }, 'ben-graham'));
  pre.push(await tensorTile(j, { size: 224, enhance: 'clahe' }, 'clahe'));
  for (const seed of [1, 2, 3])
    pre.push(await tensorTile(j, { size: 224, augment: { seed } }, `augment seed ${seed}`));
  pre.push(await tensorTile(j, { size: 96 }, '96 px'));
  await sheet(pre, path.join(out, 'preprocessed-sheet.png'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
