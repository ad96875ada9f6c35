import type { INestApplicationContext, LoggerService } from '@nestjs/common';

/**
 * On SIGTERM/SIGINT: close the application (running every shutdown hook: workers stop taking jobs,
 * queues and connections close) and exit 0; a second signal or a hung close exits 1.
 */
export function exitCleanlyOnSignals(
  app: INestApplicationContext,
  logger: LoggerService,
  graceMs = 60000,
): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn?.(`${signal} again: exiting now`);
      process.exit(1);
    }
    closing = true;
    logger.log(`${signal}: shutting down`);
    const timer = setTimeout(() => {
      logger.error(`shutdown took longer than ${graceMs} ms: exiting`);
      process.exit(1);
    }, graceMs);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error(`shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
}
