#!/usr/bin/env node
// Runs before `npm pack` / `npm publish`: compiles dist/ afresh (no source maps: the package ships
// no TypeScript sources for them to point at) and puts this machine's addon, stripped, into
// prebuilds/<platform>-<arch>/ so an app installs in seconds without a compiler.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const fail = (msg) => {
  console.error(`[kilnjs prepack] ${msg}`);
  process.exit(1);
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) fail(`tsc failed (exit status ${tsc.status})`);

const built = join(root, 'build', 'Release', 'kiln_cpu.node');
if (!existsSync(built)) fail(`${built} is missing: run \`npm install\` (or \`npx cmake-js compile\`) first`);
const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(dir, { recursive: true });
const out = join(dir, 'kiln_cpu.node');
copyFileSync(built, out);
try {
  execFileSync('strip', ['--strip-unneeded', out], { stdio: 'ignore' });
} catch {
  // no strip here: the unstripped binary works the same, only larger
}
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(out)}).info()`], { stdio: 'inherit' });
if (check.status !== 0) fail(`the prebuilt binary ${out} does not load`);
console.log(`[kilnjs prepack] dist/ compiled; prebuilt ${out} (${(statSync(out).size / 1e6).toFixed(1)} MB)`);
