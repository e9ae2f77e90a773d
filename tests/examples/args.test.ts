// The example scripts' flags (issue 17): --help prints the usage and exits 0; a bad flag or value
// prints one line and exits 2, never a stack trace.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [`examples/${script}`, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('example scripts', () => {
  for (const script of ['mlp_classifier.mjs', 'char_transformer.mjs']) {
    it(`${script} --help prints the usage; bad flags exit 2 with one line`, () => {
      const help = run(script, '--help');
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: node examples/${script.replace('.', '\\.')}`));
      const bad = run(script, '--bogus');
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/^error: Unknown option '--bogus'/);
      expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
      const value = run(script, '--steps', 'many');
      expect(value.status).toBe(2);
      expect(value.stderr).toMatch(/^error: --steps must be a non-negative integer, got 'many'/);
    });
  }
});
