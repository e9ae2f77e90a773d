import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // examples/*.mjs import the package by name; under test that name means the TS sources
    alias: [{ find: /^kilnjs$/, replacement: fileURLToPath(new URL('./index.ts', import.meta.url)) }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    // tests/gpu needs a GPU: run by `npm run test:gpu` (scripts/gpu/test.sh sets KILN_GPU_TESTS=1)
    exclude: process.env.KILN_GPU_TESTS === '1' ? configDefaults.exclude : [...configDefaults.exclude, 'tests/gpu/**'],
    // native addon + FinalizationRegistry: one process per file keeps memory tests honest
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
