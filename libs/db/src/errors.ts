/** Errors raised by repositories, with a stable `code` for callers to branch on. */
export class DbError extends Error {
  constructor(
    readonly code: 'not-found' | 'conflict' | 'invalid-state',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DbError';
  }
}
