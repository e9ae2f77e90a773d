// vitest config for glue/dump_cases.sh: the project's config plus the recording setup file.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../../vitest.config.js';

export default mergeConfig(base, defineConfig({ test: { setupFiles: ['tools/fused_render/glue/dump_setup.ts'], include: ['tests/**/*.test.ts'] } }));
