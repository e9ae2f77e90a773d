#!/usr/bin/env node
// The package's install step. In an app: use the prebuilt binary for this platform when it loads
// (seconds), otherwise build the addon from source with cmake-js, first checking that cmake and a
// C++ compiler exist. In a source checkout (tsconfig.json present): always build from source
// (incremental), then compile the TypeScript to dist/ when the dev dependencies are installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const name = 'kiln_cpu.node';
const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`, name);
const checkout = existsSync(join(root, 'tsconfig.json'));
// the source build's npm tools are optional peers: an app that loads the prebuilt never installs them.
// A failed `npm install` takes kilnjs out of node_modules again, so `npm rebuild` alone would do nothing.
const BUILD_TOOLS = '`npm install --save-dev cmake-js node-addon-api node-api-headers`';
const RETRY = process.env.npm_command === 'rebuild' ? '`npm rebuild kilnjs`' : 'the same `npm install` of kilnjs again';
const BUILD_TOOLS_FIX = `Run ${BUILD_TOOLS} in your app and then ${RETRY}.`;
const say = (msg) => console.log(`[kilnjs] ${msg}`);

function loads(path) {
  // in a child process: a binary that crashes on load must not take the install with it
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)}).info()`], { stdio: 'pipe', encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || `exit status ${r.status}`).trim().split('\n').slice(-1)[0];
}

function have(cmd, args = ['--version']) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function buildFromSource(reason) {
  say(`${reason}: building the native addon from source (a few minutes)`);
  const cxx = process.env.CXX || ['c++', 'g++', 'clang++'].find((c) => have(c));
  const missing = [!have('cmake') && 'cmake (3.18 or newer)', !cxx && 'a C++17 compiler (g++ or clang++)'].filter(Boolean);
  if (missing.length) {
    const then = checkout ? `run \`npm install\` in ${root}` : npmToolsPresent() ? `run ${RETRY}` : BUILD_TOOLS_FIX.replace('Run', 'run');
    console.error(
      `[kilnjs] cannot build the native addon: ${missing.join(' and ')} not found.\n` +
        `  Install ${missing.length > 1 ? 'them' : 'it'} (Debian/Ubuntu: sudo apt-get install cmake g++; macOS: xcode-select --install && brew install cmake),\n` +
        `  then ${then}`,
    );
    process.exit(1);
  }
  let cmakeJs;
  try {
    cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  } catch {
    console.error('[kilnjs] cannot build the native addon: its build tools are optional peer dependencies, not installed here.\n' + `  ${BUILD_TOOLS_FIX}`);
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[kilnjs] the source build failed (cmake-js exit status ${r.status}); the compiler output is above`);
    process.exit(r.status || 1);
  }
}

// The prebuilt binary has the CPU backend only; the CUDA backend (kiln_cuda.so) is built here from
// source where an NVIDIA GPU and the CUDA toolkit are present (KILN_INSTALL_CUDA=0 skips it).
function cudaMachine() {
  if (process.platform !== 'linux' || process.env.KILN_INSTALL_CUDA === '0') return false;
  const nvcc = have('nvcc') || existsSync(join(process.env.CUDA_HOME || '/usr/local/cuda', 'bin', 'nvcc'));
  return nvcc && have('nvidia-smi', ['-L']);
}

function npmToolsPresent() {
  try {
    require.resolve('cmake-js/package.json');
    return true;
  } catch {
    return false;
  }
}

function buildToolsPresent() {
  return npmToolsPresent() && have('cmake') && ['c++', 'g++', 'clang++'].some((c) => have(c));
}

if (!checkout && existsSync(prebuilt)) {
  const why = loads(prebuilt);
  if (!why && cudaMachine()) {
    if (buildToolsPresent()) buildFromSource('an NVIDIA GPU and the CUDA toolkit are here (the prebuilt binary is CPU-only)');
    else {
      say(`using the prebuilt binary ${relative(root, prebuilt)} (CPU only). For the CUDA backend on this GPU machine: ${BUILD_TOOLS_FIX}`);
      process.exit(0);
    }
  } else if (!why) {
    say(`using the prebuilt binary ${relative(root, prebuilt)}`);
    process.exit(0);
  } else buildFromSource(`the prebuilt binary does not load here (${why})`);
} else {
  buildFromSource(checkout ? 'source checkout' : `no prebuilt binary for ${process.platform}-${process.arch}`);
}

if (checkout) {
  let tsc;
  try {
    tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    say('TypeScript is not installed (dev dependencies missing): dist/ is not rebuilt; run `npm install` in this folder');
  }
  if (tsc) {
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status || 1);
  }
}
