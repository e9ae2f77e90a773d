// The addon resolver (backends/addon_path.ts): a source build wins over the shipped prebuilt
// binary, a binary that fails to load is skipped with its reason kept, and the error names the
// command that fixes it (different in a checkout and in an installed package).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonCandidates, loadAddon, packageRoot } from '../../backends/addon_path.js';

function fakePackage(opts: { build?: boolean; prebuilt?: boolean; checkout?: boolean }): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-addon-'));
  writeFileSync(join(root, 'package.json'), '{"name":"kilnjs"}');
  if (opts.checkout) writeFileSync(join(root, 'tsconfig.json'), '{}');
  const [build, prebuilt] = addonCandidates(root, 'kiln_cpu.node');
  for (const [want, p] of [
    [opts.build, build],
    [opts.prebuilt, prebuilt],
  ] as const) {
    if (!want) continue;
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, 'binary');
  }
  return root;
}

describe('native addon resolution', () => {
  it('looks in build/Release first, then prebuilds/<platform>-<arch>', () => {
    const c = addonCandidates('/pkg', 'kiln_cpu.node', 'linux', 'x64');
    expect(c).toEqual(['/pkg/build/Release/kiln_cpu.node', '/pkg/prebuilds/linux-x64/kiln_cpu.node']);
  });

  it('finds the package root above dist/backends', () => {
    const root = fakePackage({});
    mkdirSync(join(root, 'dist', 'backends'), { recursive: true });
    expect(packageRoot(join(root, 'dist', 'backends'))).toBe(root);
  });

  it('prefers a source build, and falls back to the prebuilt one when the build does not load', () => {
    const root = fakePackage({ build: true, prebuilt: true });
    const [build, prebuilt] = addonCandidates(root, 'kiln_cpu.node');
    expect(loadAddon((p) => p, root, 'kiln_cpu.node')).toBe(build);
    const loaded = loadAddon(
      (p) => {
        if (p === build) throw new Error('invalid ELF header');
        return p;
      },
      root,
      'kiln_cpu.node',
    );
    expect(loaded).toBe(prebuilt);
  });

  it('names every failure and the fix: npm rebuild in an app, npm install in a checkout', () => {
    const app = fakePackage({ prebuilt: true });
    const bad = () => {
      throw new Error('GLIBC_2.38 not found');
    };
    expect(() => loadAddon(bad, app, 'kiln_cpu.node')).toThrow(/none loads \(.*prebuilds.*GLIBC_2\.38 not found\).*npm rebuild kilnjs/);
    const checkout = fakePackage({ checkout: true });
    expect(() => loadAddon(bad, checkout, 'kiln_cpu.node')).toThrow(/kiln_cpu\.node not found: run `npm install` in /);
  });

  it('uses KILN_ADDON alone and says when it does not load', () => {
    expect(loadAddon((p) => `loaded ${p}`, null, 'kiln_cpu.node', '/x/my.node')).toBe('loaded /x/my.node');
    expect(() =>
      loadAddon(
        () => {
          throw new Error('no such file');
        },
        null,
        'kiln_cpu.node',
        '/x/my.node',
      ),
    ).toThrow('[kiln] KILN_ADDON=/x/my.node does not load: no such file');
  });
});
