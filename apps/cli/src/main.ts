#!/usr/bin/env node
import { runCli } from './cli';

// The `fundus` command: talks to the fundus-screen HTTP API only (see docs/cli.md).
runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fundus: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
