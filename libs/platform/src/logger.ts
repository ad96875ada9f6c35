import { ConsoleLogger, type LogLevel } from '@nestjs/common';

const LEVELS: Record<string, LogLevel[]> = {
  debug: ['debug', 'log', 'warn', 'error', 'fatal'],
  info: ['log', 'warn', 'error', 'fatal'],
  warn: ['warn', 'error', 'fatal'],
  error: ['error', 'fatal'],
};

/** The process logger: JSON lines in production, readable lines in development. */
export function createLogger(name: string, cfg: { LOG_LEVEL: string; LOG_FORMAT: string }): ConsoleLogger {
  return new ConsoleLogger(name, {
    json: cfg.LOG_FORMAT === 'json',
    logLevels: LEVELS[cfg.LOG_LEVEL] ?? LEVELS.info,
  });
}
