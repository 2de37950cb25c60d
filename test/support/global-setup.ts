import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** Process-level tests run the app exactly as `npm start` does: from the compiled build. */
export default function setup(): void {
  const repo = resolve(import.meta.dirname, '../..');
  execFileSync(process.execPath, [resolve(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: repo,
    stdio: 'inherit',
  });
}
