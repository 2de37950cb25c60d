import { defineConfig } from 'vitest/config';

/** `npm run test:faults`: long fault-injection runs against the real app process. */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.fault.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
