/** Image formats recognised by their first bytes. */
export type SniffedFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif';

/** Identifies an image format from its magic number; null when none of ours matches. */
export function sniffFormat(buf: Uint8Array): SniffedFormat | null {
  const b = buf;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (
    b.length >= 4 &&
    ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) ||
      (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))
  ) {
    return 'tiff';
  }
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  return null;
}

/** Dimensions as stored (before EXIF orientation) and the EXIF orientation (1 when absent). */
export interface SniffedHeader {
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  orientation: number;
}

function ascii(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n && o + i < b.length; i++) s += String.fromCharCode(b[o + i]);
  return s;
}

function u16(b: Uint8Array, o: number, le = false): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

function u32(b: Uint8Array, o: number, le = false): number {
  return le
    ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
    : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** EXIF orientation from a TIFF structure at `t` (inside an APP1 segment ending at `end`); 1 if absent. */
function exifOrientation(b: Uint8Array, t: number, end: number): number {
  if (t + 8 > end) return 1;
  const le = b[t] === 0x49 && b[t + 1] === 0x49;
  if (!le && !(b[t] === 0x4d && b[t + 1] === 0x4d)) return 1;
  const ifd = t + u32(b, t + 4, le);
  if (ifd + 2 > end) return 1;
  const n = u16(b, ifd, le);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > end) return 1;
    if (u16(b, e, le) === 0x0112) {
      const v = u16(b, e + 8, le);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/**
 * Reads width, height and EXIF orientation of a JPEG or PNG from its header, without libvips: one
 * native call less per image on the scoring path. Returns null whenever it is not certain (other
 * formats, PNG with an eXIf chunk, odd JPEG structure); callers then ask the decoder.
 */
export function sniffHeader(buf: Uint8Array): SniffedHeader | null {
  const fmt = sniffFormat(buf);
  if (fmt === 'png') {
    if (buf.length < 33 || ascii(buf, 12, 4) !== 'IHDR') return null;
    // Any eXIf chunk before the image data may carry an orientation: leave those to libvips.
    let o = 8;
    while (o + 8 <= buf.length) {
      const len = u32(buf, o);
      const type = ascii(buf, o + 4, 4);
      if (type === 'eXIf') return null;
      if (type === 'IDAT' || type === 'IEND') break;
      o += 12 + len;
    }
    return { format: 'png', width: u32(buf, 16), height: u32(buf, 20), orientation: 1 };
  }
  if (fmt !== 'jpeg') return null;
  let o = 2;
  let orientation = 1;
  let sawExif = false;
  let width = 0;
  let height = 0;
  // Walk the marker segments up to the first scan, so an Exif segment after the frame header counts too.
  while (o + 4 <= buf.length) {
    if (buf[o] !== 0xff) return null;
    const m = buf[o + 1];
    if (m === 0xff) {
      o++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2;
      continue;
    }
    if (m === 0xda || m === 0xd9) {
      return width > 0 && height > 0 ? { format: 'jpeg', width, height, orientation } : null;
    }
    const len = u16(buf, o + 2);
    if (len < 2) return null;
    const end = Math.min(buf.length, o + 2 + len);
    if (m === 0xe1 && !sawExif && ascii(buf, o + 4, 6) === 'Exif\0\0') {
      sawExif = true;
      orientation = exifOrientation(buf, o + 10, end);
    }
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (o + 9 > buf.length || width > 0) return null; // truncated, or two frame headers: let libvips judge
      height = u16(buf, o + 5);
      width = u16(buf, o + 7);
      if (!(width > 0 && height > 0)) return null;
    }
    o += 2 + len;
  }
  return null;
}
