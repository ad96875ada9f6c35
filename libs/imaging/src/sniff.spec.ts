import sharp from 'sharp';
import { makeBadFiles } from './fixtures';
import { sniffFormat, sniffHeader } from './sniff';
import { renderFundus } from './synthetic';

describe('header sniffing agrees with libvips', () => {
  it('on every decodable bad-file fixture and every EXIF orientation', async () => {
    const files = (await makeBadFiles()).map((f) => f.bytes);
    const img = renderFundus({ seed: 1, size: 80, height: 48, disease: false });
    const raw = () => sharp(Buffer.from(img.rgb), { raw: { width: 80, height: 48, channels: 3 } });
    for (let orientation = 1; orientation <= 8; orientation++) {
      files.push(await raw().jpeg().withMetadata({ orientation }).toBuffer());
      files.push(await raw().jpeg({ progressive: true }).withMetadata({ orientation }).toBuffer());
    }
    files.push(await raw().png({ palette: true }).toBuffer());
    files.push(await raw().greyscale().png().toBuffer());
    let checked = 0;
    for (const f of files) {
      const s = sniffHeader(f);
      if (!s) continue;
      const meta = await sharp(f, { failOn: 'none', limitInputPixels: false })
        .metadata()
        .catch(() => null);
      expect(meta).not.toBeNull();
      expect([s.format, s.width, s.height, s.orientation]).toEqual([
        meta!.format,
        meta!.width,
        meta!.height,
        meta!.orientation ?? 1,
      ]);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('recognises formats by magic number and nothing else', async () => {
    const src = sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } });
    expect(sniffFormat(await src.clone().webp().toBuffer())).toBe('webp');
    expect(sniffFormat(await src.clone().tiff().toBuffer())).toBe('tiff');
    expect(sniffFormat(await src.clone().gif().toBuffer())).toBe('gif');
    expect(sniffFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(sniffFormat(Buffer.from('%PDF-1.7'))).toBeNull();
    expect(sniffHeader(Buffer.from([0xff, 0xd8, 0xff]))).toBeNull();
  });
});
