import { parseArgs } from 'node:util';
import { ApiClient } from './client';
import { COMMANDS, resolveCredentials, type Command, type Context } from './commands';
import { CliError, EXIT, usage } from './errors';
import type { Io } from './output';

const GLOBAL = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]));

/** The overview printed by `fundus --help`. */
export function overview(): string {
  const w = Math.max(
    ...COMMANDS.map((c) => c.usage.split(' ').slice(0, c.name.split(' ').length).join(' ').length),
  );
  return [
    'fundus — train, sweep, promote and score fundus-photo classifiers through the fundus-screen API',
    '',
    'usage: fundus COMMAND [ARGS] [--json] [--help]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Every command takes --json (machine-readable output on stdout) and --help.',
    'Login: FUNDUS_API_URL / FUNDUS_API_KEY override the file written by `fundus login`.',
    'Exit codes: 0 ok, 1 API/server error, 2 usage error, 3 auth, 4 not found, 5 conflict,',
    '6 rate limited, 7 watched job failed or canceled. Reference: docs/cli.md',
    '',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [
    `usage: fundus ${c.usage} [--json]`,
    '',
    c.summary,
    ...(c.help.length ? ['', ...c.help.map((l) => `  ${l}`)] : []),
    '',
  ].join('\n');
}

/** Picks the command from argv: `train …` or `runs list …`. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | null {
  const [first, second] = argv;
  if (first && GROUPS.has(first)) {
    const c = COMMANDS.find((x) => x.name === `${first} ${second}`);
    if (!c) {
      const subs = COMMANDS.filter((x) => x.name.startsWith(`${first} `)).map((x) => x.name.split(' ')[1]);
      throw usage(
        second && !second.startsWith('-')
          ? `unknown command "${first} ${second}": use one of ${subs.join(', ')}`
          : `"${first}" needs one of: ${subs.join(', ')}`,
      );
    }
    return { command: c, rest: argv.slice(2) };
  }
  const c = COMMANDS.find((x) => x.name === first);
  return c ? { command: c, rest: argv.slice(1) } : null;
}

/**
 * Runs the CLI on `argv` (without node and the script) and returns the exit code. Errors are
 * written to stderr (as `{"error": {...}}` with --json) and never thrown.
 */
export async function runCli(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const json = argv.includes('--json');
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      const target = argv[0] === 'help' && argv.length > 1 ? findCommand(argv.slice(1)) : null;
      io.stdout.write(target ? commandHelp(target.command) : overview());
      return EXIT.ok;
    }
    const found = findCommand(argv);
    if (!found) throw usage(`unknown command "${argv[0]}"`);
    const { command, rest } = found;
    let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...GLOBAL, ...command.options },
        allowPositionals: true,
        strict: true,
      }) as typeof parsed;
    } catch (err) {
      throw usage((err as Error).message.replace(/\. To specify a positional.*$/s, ''), command.name);
    }
    if (parsed.values.help) {
      io.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    let client: ApiClient | undefined;
    const ctx: Context = {
      io,
      env,
      values: parsed.values,
      positionals: parsed.positionals,
      json,
      client() {
        if (!client) {
          const creds = resolveCredentials(env);
          client = new ApiClient(creds.apiUrl, creds.apiKey);
        }
        return client;
      },
    };
    await command.run(ctx);
    return EXIT.ok;
  } catch (err) {
    const e =
      err instanceof CliError
        ? err
        : new CliError('server', `unexpected error: ${(err as Error).stack ?? String(err)}`);
    if (json) {
      io.stderr.write(
        `${JSON.stringify({ error: { code: e.code, exitCode: e.exitCode, message: e.message, ...e.details } })}\n`,
      );
    } else {
      io.stderr.write(`fundus: ${e.message}\n`);
    }
    return e.exitCode;
  }
}
