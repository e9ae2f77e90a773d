// Finds the native addon of this package. A binary built from source (build/Release) wins, so a
// user who ran `npm rebuild kilnjs` gets theirs; otherwise the prebuilt one shipped in the package
// (prebuilds/<platform>-<arch>/). Written here rather than taken from a resolver package because
// each folder will hold several addons (the CPU backend now, the CUDA backend beside it later).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The places, best first, where `name` may live for a package rooted at `root`. */
export function addonCandidates(root: string, name: string, platform: string = process.platform, arch: string = process.arch): string[] {
  return [join(root, 'build', 'Release', name), join(root, 'prebuilds', `${platform}-${arch}`, name)];
}

/** The package root above `from` (the folder holding package.json), or null. */
export function packageRoot(from: string): string | null {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** What a user runs to get a binary: the command differs between a source checkout and an installed package. */
export function addonFixHint(root: string): string {
  const inCheckout = existsSync(join(root, 'tsconfig.json'));
  return inCheckout
    ? `run \`npm install\` in ${root} (it builds the addon from source: needs cmake and a C++17 compiler)`
    : `no prebuilt binary for ${process.platform}-${process.arch} loaded; build it from source in your app with ` +
        '`npm install --save-dev cmake-js node-addon-api node-api-headers && npm rebuild kilnjs` (needs cmake and a C++17 compiler)';
}

/**
 * Loads the first candidate that loads; an override path (`KILN_ADDON`) is used alone. Every
 * failure is reported with its path and reason, with the command that fixes it.
 */
export function loadAddon<T>(load: (path: string) => T, root: string | null, name: string, override?: string): T {
  if (override) {
    try {
      return load(override);
    } catch (e) {
      throw new Error(`[kiln] KILN_ADDON=${override} does not load: ${(e as Error).message}`);
    }
  }
  if (!root) throw new Error(`[kiln] native addon ${name} not found: this module is not inside a package folder`);
  const tried: string[] = [];
  for (const p of addonCandidates(root, name)) {
    if (!existsSync(p)) continue;
    try {
      return load(p);
    } catch (e) {
      tried.push(`${p}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const why = tried.length ? `none loads (${tried.join('; ')})` : 'not found';
  throw new Error(`[kiln] native addon ${name} ${why}: ${addonFixHint(root)}`);
}
