import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  DockerfileParser,
  type From,
  type Instruction,
  type JSONInstruction,
  type PropertyInstruction,
} from 'dockerfile-ast';

/** The container files at the root of the repository, read as the tests see them. */
export const repo = resolve(import.meta.dirname, '../..');
export const dockerfileText = (): string => readFileSync(join(repo, 'Dockerfile'), 'utf8');

export type Stage = {
  /** `AS name`, or null for an unnamed stage. */
  name: string | null;
  image: string;
  instructions: Instruction[];
};

/** The Dockerfile's build stages in order, each with the instructions that follow its FROM. */
export function dockerfileStages(text = dockerfileText()): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = instruction as From;
      stages.push({ name: from.getBuildStage(), image: from.getImage() ?? '', instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

export const ofKind = (stage: Stage, keyword: string): Instruction[] =>
  stage.instructions.filter((instruction) => instruction.getKeyword() === keyword);

/** An instruction's arguments as one line (continuations joined). */
export const argumentsOf = (instruction: Instruction): string =>
  (instruction.getArgumentsContent() ?? '').replace(/\s+/g, ' ').trim();

/** The exec-form (JSON array) arguments of CMD, ENTRYPOINT or VOLUME; null for the shell form. */
export function execForm(instruction: Instruction): string[] | null {
  const strings = (instruction as JSONInstruction).getJSONStrings?.() ?? [];
  return strings.length > 0 ? strings.map((s) => s.getJSONValue()) : null;
}

/** HEALTHCHECK's `CMD [...]` as an argv, or null when it is not in exec form. */
export function healthcheckCommand(instruction: Instruction): string[] | null {
  const match = /^CMD\s+(\[.*\])$/s.exec(argumentsOf(instruction));
  return match?.[1] ? (JSON.parse(match[1]) as string[]) : null;
}

/** `--name=value` flags of an instruction (COPY --from, HEALTHCHECK --interval, …). */
export function flagsOf(instruction: Instruction): Record<string, string | null> {
  const withFlags = instruction as Instruction & {
    getFlags?: () => { getName(): string; getValue(): string | null }[];
  };
  return Object.fromEntries((withFlags.getFlags?.() ?? []).map((flag) => [flag.getName(), flag.getValue()]));
}

/** ENV or ARG instructions' name → value pairs, in order. */
export function propertiesOf(instructions: Instruction[]): [string, string | null][] {
  return instructions.flatMap((instruction) =>
    (instruction as PropertyInstruction)
      .getProperties()
      .map((p) => [p.getName(), p.getValue()] as [string, string | null]),
  );
}

/** COPY's sources and destination (flags left out). */
export function copyPaths(instruction: Instruction): { sources: string[]; destination: string } {
  const args = instruction
    .getArguments()
    .map((a) => a.getValue())
    .filter((value) => !value.startsWith('--'));
  return { sources: args.slice(0, -1), destination: args.at(-1) ?? '' };
}

/**
 * Whether .dockerignore leaves a path (relative to the repository) out of the build context. Covers
 * the syntax the file uses: `name`, `dir`, `*` within one segment, `**` across segments, `!` to keep.
 */
export function dockerIgnores(relativePath: string, patterns = dockerignorePatterns()): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const keep = raw.startsWith('!');
    const pattern = (keep ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split('**/')
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('(?:.*/)?')}(?:/.*)?$`,
    );
    if (regex.test(relativePath)) ignored = !keep;
  }
  return ignored;
}

export function dockerignorePatterns(): string[] {
  return readFileSync(join(repo, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The sandbox provider needs only Slack settings: what the image is started with in tests. */
export const SANDBOX_SETTINGS = {
  WHATSAPP_PROVIDER: 'sandbox',
  SLACK_BOT_TOKEN: 'xoxb-container-test',
  SLACK_SIGNING_SECRET: 'container-test-signing-secret',
  SLACK_CHANNEL_ID: 'C0CONTAINER',
  LOG_LEVEL: 'warn',
};

/** Runs a command to completion; `output` is stdout, stderr and any spawn error together. */
export function run(command: string, args: string[], options: { cwd?: string; timeout?: number } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 2 ** 20, ...options });
  return {
    ...result,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`,
  };
}
