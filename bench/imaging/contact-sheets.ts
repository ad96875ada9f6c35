/**
 * Regenerates docs/imaging/contact-sheet.png (synthetic normal vs disease fundus images) and
 * docs/imaging/preprocessed-sheet.png (the same images after preprocess(), de-normalised).
 * Run: npx tsx bench/imaging/contact-sheets.ts [outDir]
 */
import * as path from 'node:path';
import sharp from 'sharp';
import type { OverlayOptions } from 'sharp';
import { denormalize, generateFundus, preprocess, SEVERITIES, type Severity } from '@fundus/imaging';

const TILE = 256;
const COLS = 6;

async function tile(jpeg: Buffer): Promise<OverlayOptions['input']> {
  return sharp(jpeg).resize(TILE, TILE, { fit: 'contain', background: '#000' }).png().toBuffer();
}

async function sheet(tiles: Buffer[], rows: number, file: string): Promise<void> {
  const gap = 4;
  const composite = tiles.map((input, i) => ({
    input,
    left: (i % COLS) * (TILE + gap),
    top: Math.floor(i / COLS) * (TILE + gap),
  }));
  await sharp({
    create: {
      width: COLS * (TILE + gap) - gap,
      height: rows * (TILE + gap) - gap,
      channels: 3,
      background: '#202020',
    },
  })
    .composite(composite)
    .png({ compressionLevel: 9 })
    .toFile(file);
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? path.join(__dirname, '../../docs/imaging');
  // Row 1: normal; rows 2-3: disease, severities subtle → severe (two columns each... spread over 12).
  const specs: { disease: boolean; severity?: Severity; seed: number; w: number; h: number }[] = [];
  for (let i = 0; i < COLS; i++)
    specs.push({ disease: false, seed: 100 + i, w: i % 2 ? 1024 : 1536, h: i % 2 ? 1024 : 1152 });
  for (let i = 0; i < 2 * COLS; i++) {
    specs.push({ disease: true, severity: SEVERITIES[Math.floor(i / 3)], seed: 200 + i, w: 1024, h: 1024 });
  }
  const jpegs = await Promise.all(
    specs.map((s) =>
      generateFundus({ seed: s.seed, size: s.w, height: s.h, disease: s.disease, severity: s.severity }),
    ),
  );
  await sheet(
    await Promise.all(jpegs.map((j) => tile(j) as Promise<Buffer>)),
    3,
    path.join(out, 'contact-sheet.png'),
  );

  const pre: Buffer[] = [];
  for (const j of jpegs) {
    const p = await preprocess(j, { size: 224 });
    const rgb = denormalize(p.data);
    pre.push(
      await sharp(Buffer.from(rgb), { raw: { width: 224, height: 224, channels: 3 } })
        .resize(TILE, TILE, { kernel: 'nearest' })
        .png()
        .toBuffer(),
    );
  }
  await sheet(pre, 3, path.join(out, 'preprocessed-sheet.png'));
  console.log('rows: 1 normal; 2–3 disease (subtle×3, mild×3, moderate×3, severe×3)');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
