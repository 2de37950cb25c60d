#!/usr/bin/env node
/**
 * Compiles src/ and migrations/ into dist/.
 *
 * Without options (before `npm start`, `npm run migrate` and `npm run simulate`) it builds only when
 * the sources changed since the last build, and writes nothing otherwise, so a deployment whose
 * dist/ is already built (and perhaps read-only) starts as it is. It only emits JavaScript
 * (`tsc --noCheck`): type checking needs the dev-only type packages that `npm ci --omit=dev` leaves
 * out, and is `npm run check`'s job. typescript itself is a runtime dependency for this reason.
 *
 * `--force --typecheck` (`npm run build`) always builds, type checking too.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

const root = process.cwd();
const INPUTS = ['src', 'migrations'];
const CONFIG_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
const STAMP = join(root, 'dist', '.build-hash');
const ENTRY = join(root, 'dist', 'src', 'main.js');

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return entry.name.endsWith('.ts') ? [path] : [];
    })
    .sort();
}

function sourceHash() {
  const hash = createHash('sha256');
  const files = [...CONFIG_FILES.map((f) => join(root, f)), ...INPUTS.flatMap((d) => sourceFiles(join(root, d)))];
  for (const file of files) {
    if (!existsSync(file)) continue;
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const force = process.argv.includes('--force');
const typecheck = process.argv.includes('--typecheck');
const wanted = sourceHash();
const built = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : null;
if (!force && built === wanted && existsSync(ENTRY)) process.exit(0);

const dist = join(root, 'dist');
try {
  if (existsSync(dist)) accessSync(dist, constants.W_OK);
} catch {
  process.stderr.write(
    'dist/ is older than the sources but not writable: build it where it is writable (`npm run build`) from the ' +
      'same sources, or make dist/ writable.\n',
  );
  process.exit(1);
}

let tsc;
try {
  tsc = join(dirname(createRequire(join(root, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
} catch {
  process.stderr.write('Cannot build: the typescript package is not installed. Run `npm ci` first.\n');
  process.exit(1);
}
// Emitting alone needs no type packages at all (`--types ''`), not even @types/node.
const args = [tsc, '-p', 'tsconfig.build.json', ...(typecheck ? [] : ['--noCheck', '--types', ''])];
const result = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  process.stderr.write(`Building dist/ failed (exit ${result.status ?? result.signal}).\n`);
  process.exit(1);
}
try {
  writeFileSync(STAMP, `${wanted}\n`);
} catch (error) {
  process.stderr.write(`warning: could not record the build (${error.message}); the next start builds again\n`);
}
