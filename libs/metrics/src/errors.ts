/** Machine-readable reason for a {@link MetricsError}. */
export type MetricsErrorCode =
  | 'LENGTH_MISMATCH'
  | 'EMPTY_INPUT'
  | 'NON_FINITE_SCORE'
  | 'INVALID_LABEL'
  | 'SINGLE_CLASS'
  | 'SCORE_OUT_OF_RANGE'
  | 'INVALID_ARGUMENT'
  | 'RENDER_FAILED';

/** The one error type thrown by `@fundus/metrics`; `code` says what was wrong, `message` says it in words. */
export class MetricsError extends Error {
  override readonly name = 'MetricsError';
  constructor(
    readonly code: MetricsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
