import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import { DbError } from '@fundus/db';
import { ServiceError } from '@fundus/services';
import { DatasetError, StorageError } from '@fundus/storage';
import type { Request, Response } from 'express';
import { ZodError } from 'zod';
import { RequestValidationError, zodIssues, type FieldIssue } from './validation';

/** The JSON body of every error answer. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  issues?: FieldIssue[] | string[];
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

function body(statusCode: number, message: string, extra: Partial<ErrorBody> = {}): ErrorBody {
  return { statusCode, error: REASONS[statusCode] ?? 'Error', message, ...extra };
}

const SERVICE_STATUS: Record<ServiceError['code'], number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  forbidden: 403,
  'invalid-state': 409,
};

const STORAGE_STATUS: Record<StorageError['code'], number> = {
  'invalid-uri': 400,
  'invalid-key': 400,
  'bucket-not-allowed': 400,
  'outside-root': 400,
  'not-found': 404,
  timeout: 503,
  unavailable: 503,
  'access-denied': 502,
  io: 502,
};

/** Errors raised by body-parser (express.json) carry a `type` and a `status`. */
interface ParserError {
  type: string;
  status?: number;
  message: string;
  limit?: number;
}

function isParserError(err: unknown): err is ParserError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as ParserError).type === 'string' &&
    'status' in err
  );
}

/**
 * Maps an error to its HTTP answer: library errors by their `code`, bad input to 4xx (never 5xx),
 * anything unexpected to a 500 whose details stay in the log.
 */
export function errorToBody(err: unknown): ErrorBody {
  if (err instanceof RequestValidationError)
    return body(400, err.message, { code: err.code, issues: err.issues });
  if (err instanceof HttpException) {
    const res = err.getResponse();
    const status = err.getStatus();
    const message = typeof res === 'string' ? res : ((res as { message?: unknown }).message ?? err.message);
    return body(status, Array.isArray(message) ? message.join('; ') : String(message));
  }
  if (err instanceof ServiceError)
    return body(SERVICE_STATUS[err.code] ?? 400, err.message, {
      code: err.code,
      issues: err.issues.length ? err.issues : undefined,
    });
  if (err instanceof StorageError)
    return body(STORAGE_STATUS[err.code] ?? 502, err.message, { code: err.code });
  if (err instanceof DatasetError)
    return body(422, err.message, { code: err.code, issues: err.problems.length ? err.problems : undefined });
  if (err instanceof DbError)
    return body(err.code === 'not-found' ? 404 : 409, err.message, { code: err.code });
  if (err instanceof ZodError)
    return body(400, 'invalid request', { code: 'invalid-request', issues: zodIssues(err) });
  if (isParserError(err)) {
    if (err.type === 'entity.too.large')
      return body(413, `request body is larger than the limit of ${err.limit ?? '?'} bytes`, {
        code: 'too-large',
      });
    if (err.type === 'entity.parse.failed')
      return body(400, `malformed JSON body: ${err.message}`, { code: 'malformed-json' });
    if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported')
      return body(415, err.message, { code: 'unsupported-encoding' });
    if (typeof err.status === 'number' && err.status >= 400 && err.status < 500)
      return body(err.status, err.message, { code: err.type });
  }
  const prismaCode = (err as { code?: unknown })?.code;
  if (typeof prismaCode === 'string' && /^P\d{4}$/.test(prismaCode)) {
    if (prismaCode === 'P2025') return body(404, 'not found', { code: 'not-found' });
    if (prismaCode === 'P2002') return body(409, 'already exists', { code: 'conflict' });
    if (prismaCode === 'P2003')
      return body(409, 'a referenced record does not exist or is still referenced', { code: 'conflict' });
  }
  return body(500, 'internal error');
}

/** Nest's catch-all: every error answer is JSON of the shape {@link ErrorBody}. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const out = errorToBody(err);
    if (out.statusCode >= 500)
      this.logger.error(`${req.method} ${req.path}: ${(err as Error)?.stack ?? String(err)}`);
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(out.statusCode).json(out);
  }
}
