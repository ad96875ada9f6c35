/**
 * Exit codes of the `fundus` command (documented in docs/cli.md). Scripts branch on them, so they
 * never change meaning.
 */
export const EXIT = {
  ok: 0,
  /** The API answered 5xx, could not be reached, or answered something unexpected. */
  server: 1,
  /** A bad flag or argument, or a request the API rejected as invalid (400, 413, 415). */
  usage: 2,
  /** Not logged in, or the API refused the key (401) or its role (403). */
  auth: 3,
  /** The id (run, sweep, dataset, model, scoring job) does not exist (404). */
  notFound: 4,
  /** The request conflicts with the current state: wrong status, dataset problem (409, 422). */
  conflict: 5,
  /** Too many requests for this key (429); retry after the time the message says. */
  rateLimited: 6,
  /** `watch` (or `--watch`) saw the job end as failed or canceled. */
  jobFailed: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type CliErrorCode =
  | 'usage'
  | 'not-logged-in'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'invalid-request'
  | 'rate-limited'
  | 'unreachable'
  | 'server'
  | 'config'
  | 'job-failed';

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  usage: EXIT.usage,
  'invalid-request': EXIT.usage,
  'not-logged-in': EXIT.auth,
  unauthorized: EXIT.auth,
  forbidden: EXIT.auth,
  'not-found': EXIT.notFound,
  conflict: EXIT.conflict,
  'rate-limited': EXIT.rateLimited,
  unreachable: EXIT.server,
  server: EXIT.server,
  config: EXIT.usage,
  'job-failed': EXIT.jobFailed,
};

/** Every failure the CLI reports: a code, the process exit code, and a message saying what to do. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(
    readonly code: CliErrorCode,
    message: string,
    readonly details: { status?: number; apiCode?: string; issues?: unknown } = {},
  ) {
    super(message);
    this.name = 'CliError';
    this.exitCode = EXIT_OF[code];
  }
}

/** A usage error (exit 2) that points at the command's help. */
export function usage(message: string, command?: string): CliError {
  return new CliError('usage', `${message}\nsee \`fundus ${command ? `${command} ` : ''}--help\``);
}
