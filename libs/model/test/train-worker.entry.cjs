/* eslint-disable no-undef, @typescript-eslint/no-require-imports -- plain CommonJS worker entry */
// Worker entry: registers tsx's CommonJS loader so the TypeScript fixture can run in a worker thread.
require('tsx/cjs');
require('./train-worker.fixture.ts');
