// README code blocks run, and a comment that shows what a console.log prints must match it
// (issue 17: the quickstart said `[ 8, 16 ]` where it printed `[ 12, 12 ]`).
import { readFileSync } from 'node:fs';
import { format } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The ```js blocks under a `## heading` of the README. */
function blocksUnder(heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
}

// a comment that reads like printed output: a list, a number, a quoted string, a boolean
const SHOWN = /^(\[.*\]|-?\d[\d.e+-]*|'.*'|true|false)$/;

async function runShown(code: string): Promise<{ printed: string; shown: string; line: string }[]> {
  const printed: string[] = [];
  const log = (...args: unknown[]) => printed.push(format(...args));
  const body = code.replace(/^import \* as kn from 'kilnjs';$/m, '');
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...a: string[]) => (...x: unknown[]) => Promise<void>;
  await kn.tidy(async () => new AsyncFunction('kn', 'console', body)(kn, { log }));
  // console.log lines in order, each paired with what it printed
  const calls = code.split('\n').filter((l) => /^\s*console\.log\(/.test(l));
  expect(printed.length).toBe(calls.length);
  return calls.flatMap((line, i) => {
    const m = /\/\/\s*(.*)$/.exec(line);
    const shown = m?.[1].trim() ?? '';
    return SHOWN.test(shown) ? [{ printed: printed[i], shown, line }] : [];
  });
}

describe('README', () => {
  it('the quickstart runs and prints what its comments say', async () => {
    const [quick] = blocksUnder('Quickstart');
    const checks = await runShown(quick);
    expect(checks.length).toBeGreaterThan(0);
    for (const c of checks) expect(c.printed, c.line).toBe(c.shown);
  });

  it('the devices example runs with or without a GPU and prints what its comments say', async () => {
    const [code] = blocksUnder('Devices (CPU and GPU)');
    const checks = await runShown(code);
    expect(checks.length).toBe(2);
    for (const c of checks) expect(c.printed, c.line).toBe(c.shown);
  });
});
