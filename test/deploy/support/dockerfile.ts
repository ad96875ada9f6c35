/**
 * Reading Dockerfiles without Docker: stages with their resolved base images, instructions per
 * stage, and what `.dockerignore` keeps out of the build context.
 */
import { readFileSync } from 'node:fs';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

export interface Stage {
  /** `AS` name, or the stage's index when unnamed. */
  name: string;
  /** The base image with build arguments replaced by their defaults. */
  base: string;
  /** Whether `base` is an earlier stage of the same file rather than an image. */
  fromStage: boolean;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages; `ARG` defaults declared before the first FROM are substituted. */
export function readStages(path: string): Stage[] {
  const file = DockerfileParser.parse(readFileSync(path, 'utf8'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of file.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'ARG' && stages.length === 0) {
      const [, name, value] =
        /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(instruction.getArgumentsContent() ?? '') ?? [];
      if (name && value !== undefined) args.set(name, value);
    } else if (keyword === 'FROM') {
      const words = (instruction.getArgumentsContent() ?? '').split(/\s+/).filter((w) => !w.startsWith('--'));
      const base = words[0].replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, a: string, b: string) => args.get(a ?? b) ?? '',
      );
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      const name = asIndex > 0 ? words[asIndex + 1] : String(stages.length);
      stages.push({ name, base, fromStage: stages.some((s) => s.name === base), instructions: [] });
    } else if (stages.length) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

/** Arguments of an exec-form instruction (`CMD ["a", "b"]`), or undefined for the shell form. */
export function execForm(instruction: Instruction): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(instruction.getArgumentsContent() ?? '');
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')
      ? (parsed as string[])
      : undefined;
  } catch {
    return undefined;
  }
}

/** `ENV` assignments of a stage, in both `K=V K2=V2` and legacy `K V` forms. */
export function envOf(stage: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.getKeyword() === 'ENV')) {
    const text = (i.getArgumentsContent() ?? '').replace(/\\\n/g, ' ');
    const pairs = [...text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)];
    if (pairs.length === 0) {
      const [key, ...rest] = text.trim().split(/\s+/);
      out[key] = rest.join(' ');
    }
    for (const [, key, value] of pairs) out[key] = value.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/** The `--from` of a COPY (a stage name), or undefined when it reads the build context. */
export function copyFrom(instruction: Instruction): string | undefined {
  const flags =
    (
      instruction as Instruction & {
        getFlags?: () => Array<{ getName(): string; getValue(): string | null }>;
      }
    ).getFlags?.() ?? [];
  return flags.find((f) => f.getName() === 'from')?.getValue() ?? undefined;
}

/** Source and destination paths of a COPY/ADD (flags excluded). */
export function copyPaths(instruction: Instruction): { sources: string[]; destination: string } {
  const words = instruction.getArguments().map((a) => a.getValue());
  return { sources: words.slice(0, -1), destination: words[words.length - 1] };
}

/** Source paths of `COPY`/`ADD` instructions that read the build context (not `--from`). */
export function contextSources(stage: Stage): string[] {
  return stage.instructions
    .filter((i) => (i.getKeyword() === 'COPY' || i.getKeyword() === 'ADD') && copyFrom(i) === undefined)
    .flatMap((i) => copyPaths(i).sources);
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether `.dockerignore` (its text) keeps `path` (relative to the context) out of the build: the
 * last matching pattern decides, `!` re-includes, and a pattern that matches a folder excludes all
 * below it.
 */
export function dockerIgnored(ignoreText: string, path: string): boolean {
  const patterns = ignoreText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => ({
      negate: l.startsWith('!'),
      re: globToRegExp(l.replace(/^!/, '').replace(/^\/+|\/+$/g, '')),
    }));
  const parts = path.replace(/^\.\/|\/+$/g, '').split('/');
  let ignored = false;
  for (const { negate, re } of patterns) {
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join('/'))) {
        ignored = !negate;
        break;
      }
    }
  }
  return ignored;
}
