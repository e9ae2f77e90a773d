import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // native addon + FinalizationRegistry: one process per file keeps memory tests honest
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
