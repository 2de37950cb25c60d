import { defineConfig } from 'vitest/config';

/** `npm run test:container`: builds and runs the real image; needs a container engine (`.ci/run` checks). */
export default defineConfig({
  test: {
    include: ['test/container/**/*.container.ts'],
    testTimeout: 1_500_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
