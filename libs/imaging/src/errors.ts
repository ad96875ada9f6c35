/**
 * Error codes raised by `@fundus/imaging`. Every failure to turn bytes into pixels maps to exactly one:
 *
 * - `empty`           — zero-length input.
 * - `too-many-bytes`  — input larger than `limits.maxBytes` (checked before any parsing).
 * - `too-many-pixels` — header claims more than `limits.maxPixels` (decompression-bomb guard; checked from
 *                       the header before decoding, and enforced again by the decoder).
 * - `unsupported`     — not an image, or a format outside the allow-list (JPEG, PNG, WebP, TIFF, GIF);
 *                       SVG/PDF/HEIF and friends are refused on purpose.
 * - `corrupt`         — a recognised format that cannot be decoded: truncated data, CRC errors,
 *                       broken headers, invalid option values.
 * - `too-small`       — decodes, but a side is below `limits.minSide` (e.g. a 1×1 pixel).
 */
export type ImagingErrorCode =
  'empty' | 'too-many-bytes' | 'too-many-pixels' | 'corrupt' | 'unsupported' | 'too-small';

/** All error codes, for exhaustive tables (e.g. recording an error per prediction row). */
export const IMAGING_ERROR_CODES: readonly ImagingErrorCode[] = [
  'empty',
  'too-many-bytes',
  'too-many-pixels',
  'corrupt',
  'unsupported',
  'too-small',
];

/** The one error class of this library. `code` is stable and machine-readable; `message` is for humans. */
export class ImagingError extends Error {
  override readonly name = 'ImagingError';
  constructor(
    readonly code: ImagingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Type guard usable across module copies (checks the shape, not only `instanceof`). */
export function isImagingError(e: unknown): e is ImagingError {
  return (
    e instanceof ImagingError ||
    (e instanceof Error && e.name === 'ImagingError' && typeof (e as { code?: unknown }).code === 'string')
  );
}
