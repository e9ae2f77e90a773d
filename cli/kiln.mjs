#!/usr/bin/env node
// The `kiln` executable. A clone runs the TypeScript sources (through tsx, a dev dependency), so
// the command always matches the checkout; an installed package runs the compiled dist/cli.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('./main.ts', import.meta.url));
let main;
if (existsSync(source) && !process.env.KILN_CLI_DIST) {
  try {
    const { tsImport } = await import('tsx/esm/api');
    ({ main } = await tsImport(source, import.meta.url));
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
}
if (!main) ({ main } = await import('../dist/cli/main.js'));
// let stdout drain before exiting (piped output)
const code = await main(process.argv.slice(2));
process.exitCode = code;
