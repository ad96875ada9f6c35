import { crc32 } from 'node:zlib';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { ImagingErrorCode } from './errors';
import type { QualityReason } from './quality';
import { mulberry32 } from './random';
import { encodeJpeg, renderFundus } from './synthetic';

/** What decoding/preprocessing a {@link BadFile} must produce. */
export type BadFileExpectation =
  | { outcome: 'error'; code: ImagingErrorCode }
  | {
      outcome: 'ok';
      /** Decoded size after EXIF orientation. */
      width: number;
      height: number;
      /** Expected quality-gate verdict of `preprocess`, and the reasons that must be present. */
      gradable: boolean;
      reasons: QualityReason[];
    };

/** One entry of the bad-file table. */
export interface BadFile {
  /** Short stable identifier, e.g. `truncated-jpeg`. */
  name: string;
  /** A plausible file name (some carry a misleading extension on purpose). */
  fileName: string;
  description: string;
  bytes: Buffer;
  expect: BadFileExpectation;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** A syntactically valid PNG whose header claims `width × height` RGB pixels but carries almost no data. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(64))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Flips one bit in the CRC of the first chunk of `type` (e.g. 'IDAT') of a PNG. */
export function breakPngCrc(png: Buffer, type = 'IDAT'): Buffer {
  const out = Buffer.from(png);
  let o = 8;
  while (o + 8 <= out.length) {
    const len = out.readUInt32BE(o);
    if (out.toString('latin1', o + 4, o + 8) === type) {
      out[o + 8 + len] ^= 0x01;
      return out;
    }
    o += 12 + len;
  }
  throw new RangeError(`breakPngCrc: no ${type} chunk`);
}

/**
 * Builds the bad-file table: each entry is a file that real intake folders contain sooner or later, with
 * the outcome `decodeImage`/`preprocess` must produce. Deterministic. Sizes are small (≤ 256 px) so the
 * whole table builds in well under a second.
 */
export async function makeBadFiles(): Promise<BadFile[]> {
  const base = renderFundus({ seed: 4242, size: 256, disease: false, exposure: 1 });
  const raw = () => sharp(Buffer.from(base.rgb), { raw: { width: 256, height: 256, channels: 3 } });
  const jpeg = await encodeJpeg(base, 90);
  const png = await raw().png().toBuffer();
  const rand = mulberry32(99);
  const random = Buffer.alloc(4096);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(rand() * 256);
  random[0] = 0x00; // make sure no magic number starts it

  // Upright 320×240 fundus with the disc centre shifted left, stored rotated 90° anticlockwise with
  // EXIF orientation 6 ("rotate 90° clockwise to display").
  const upright = renderFundus({
    seed: 77,
    size: 320,
    height: 240,
    disease: false,
    exposure: 1,
    fov: { cx: 128, cy: 120, r: 110 },
  });
  const exifRotated = await sharp(Buffer.from(upright.rgb), { raw: { width: 320, height: 240, channels: 3 } })
    .rotate(270)
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .toBuffer();

  const ok = (reasons: QualityReason[] = [], width = 256, height = 256) => ({
    outcome: 'ok' as const,
    width,
    height,
    gradable: reasons.length === 0,
    reasons,
  });
  const err = (code: ImagingErrorCode) => ({ outcome: 'error' as const, code });
  return [
    {
      name: 'empty',
      fileName: 'empty.jpg',
      description: 'zero bytes',
      bytes: Buffer.alloc(0),
      expect: err('empty'),
    },
    {
      name: 'truncated-jpeg',
      fileName: 'truncated.jpg',
      description: 'a valid JPEG cut at 50 % (interrupted upload)',
      bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)),
      expect: err('corrupt'),
    },
    {
      name: 'random-bytes',
      fileName: 'random.jpg',
      description: '4 KiB of random bytes with a .jpg name',
      bytes: random,
      expect: err('unsupported'),
    },
    {
      name: 'png-broken-crc',
      fileName: 'broken-crc.png',
      description: 'a valid PNG with one bit of the IDAT chunk CRC flipped',
      bytes: breakPngCrc(png, 'IDAT'),
      expect: err('corrupt'),
    },
    {
      name: 'one-pixel',
      fileName: 'pixel.png',
      description: 'a 1×1 PNG',
      bytes: await sharp({ create: { width: 1, height: 1, channels: 3, background: '#c04020' } })
        .png()
        .toBuffer(),
      expect: err('too-small'),
    },
    {
      name: 'huge-header',
      fileName: 'bomb.png',
      description: 'a PNG whose header claims 30000×30000 pixels (decompression bomb)',
      bytes: pngHeaderOnly(30000, 30000),
      expect: err('too-many-pixels'),
    },
    {
      name: 'cmyk-jpeg',
      fileName: 'cmyk.jpg',
      description: 'the fundus as a CMYK JPEG (print workflows, some scanners)',
      bytes: await raw().toColourspace('cmyk').jpeg({ quality: 92 }).toBuffer(),
      expect: ok(),
    },
    {
      name: 'png-16bit',
      fileName: 'sixteen.png',
      description: 'the fundus as a 16-bit-per-channel PNG',
      bytes: await raw().toColourspace('rgb16').png().toBuffer(),
      expect: ok(),
    },
    {
      name: 'greyscale',
      fileName: 'grey.jpg',
      description: 'the fundus as a single-channel greyscale JPEG (red-free style)',
      bytes: await raw().greyscale().jpeg({ quality: 90 }).toBuffer(),
      expect: ok(['monochrome']),
    },
    {
      name: 'exif-rotated',
      fileName: 'rotated.jpg',
      description:
        'a 320×240 fundus stored as 240×320 with EXIF orientation 6; FOV centre at x = 128 once upright',
      bytes: exifRotated,
      expect: ok([], 320, 240),
    },
    {
      name: 'all-black',
      fileName: 'black.jpg',
      description: 'a 256×256 all-black JPEG (lens cap on)',
      bytes: await sharp({ create: { width: 256, height: 256, channels: 3, background: '#000' } })
        .jpeg()
        .toBuffer(),
      expect: ok(['fov-not-found', 'too-dark']),
    },
  ];
}
