import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // examples/*.mjs import the package by name; under test that name means the TS sources
    alias: [{ find: /^kilnjs$/, replacement: fileURLToPath(new URL('./index.ts', import.meta.url)) }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    // native addon + FinalizationRegistry: one process per file keeps memory tests honest
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
