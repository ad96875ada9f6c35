/** Machine-readable reasons a libs/model call can fail. */
export type ModelErrorCode =
  | 'invalid-config'
  | 'invalid-data'
  | 'backend-unavailable'
  | 'aborted'
  | 'not-found'
  | 'incompatible-checkpoint'
  | 'diverged'
  | 'unsupported-model'
  | 'internal';

/** The one error class thrown by libs/model; `code` says why, `message` says what exactly. */
export class ModelError extends Error {
  override readonly name = 'ModelError';

  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
