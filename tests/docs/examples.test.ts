// Every docstring example of the public API runs, and each `expr // value` line in it shows what
// the expression really gives (tests/docs/examples.ts extracts them). Besides `kn`, an example sees
// the named exports of its own file, so internal helpers can be shown too, and `import { f } from
// './other.js'` lines bring in helpers of other files.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { collectExamples, literalComment, tolerances, toProgram } from './examples.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = collectExamples(root);

/** Plain JS values of a result: arrays as nested lists, typed arrays as lists. */
function plain(v: unknown): unknown {
  if (v instanceof kn.NDArray) return v.tolist();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'bigint') return Number(v);
  return v;
}

/** Compares got with want; `tol` holds the tolerance of each finite number of want, in order. */
function close(got: unknown, want: unknown, where: string, tol: number[]): void {
  if (typeof want === 'number') {
    expect(typeof got, `${where}: got ${String(got)}, want ${want}`).toBe('number');
    const g = got as number;
    if (Number.isNaN(want)) return expect(g, where).toBeNaN();
    if (!Number.isFinite(want)) return expect(g, where).toBe(want);
    const t = tol.shift() ?? 1e-6 * Math.max(1, Math.abs(want));
    return expect(Math.abs(g - want), `${where}: got ${g}, want ${want}`).toBeLessThanOrEqual(t);
  }
  if (Array.isArray(want)) {
    expect(Array.isArray(got), `${where}: got ${JSON.stringify(got)}, want a list`).toBe(true);
    expect((got as unknown[]).length, `${where}: length`).toBe(want.length);
    return want.forEach((w, i) => close((got as unknown[])[i], w, `${where}[${i}]`, tol));
  }
  if (want && typeof want === 'object') {
    for (const k of Object.keys(want)) close(plain((got as Record<string, unknown>)?.[k]), (want as Record<string, unknown>)[k], `${where}.${k}`, tol);
    return;
  }
  expect(got, where).toEqual(want);
}

/** Whether an export's name can be a parameter name (not `var`, `default`, ...). */
function usableName(k: string): boolean {
  try {
    new Function(k, '');
    return true;
  } catch {
    return false;
  }
}

async function check(got: unknown, want: unknown, where: string, tol: number[]): Promise<void> {
  close(plain(await got), want, where, [...tol]);
}

describe('the example checker', () => {
  const ok = (got: unknown, shown: string) => check(got, new Function(`return (${shown});`)(), 'x', tolerances(shown));
  test('a number stands for its value rounded to the decimals shown', async () => {
    await ok(0.7310586, '0.7311');
    await ok(kn.array([0.09003, 1]), '[0.0900, 1]');
    await expect(ok(0.7317, '0.7311')).rejects.toThrow();
    await expect(ok(kn.array([1, 2]), '[1, 3]')).rejects.toThrow();
    await expect(ok(1.00001, '1')).rejects.toThrow();
    await expect(ok(kn.array([1, 2]), '[1, 2, 3]')).rejects.toThrow();
    await expect(ok('a', "'b'")).rejects.toThrow();
  });
  test('a trailing (note) is prose; other comments are not checks', () => {
    expect(literalComment('f(x) // [1, 2] (int32)')).toEqual({ expr: 'f(x)', value: '[1, 2]' });
    expect(literalComment("f(x) // 'array(1, dtype=int8)'")).toEqual({ expr: 'f(x)', value: "'array(1, dtype=int8)'" });
    expect(literalComment('f(x) // the exp intermediate is freed')).toBeNull();
    expect(literalComment('const y = f(x); // 3')).toBeNull();
  });
  test('hex literals count as exact numbers', () => {
    expect(tolerances('[0x10, 0.5]')).toHaveLength(2);
  });
});

describe('docstring examples', () => {
  test('there are examples', () => expect(examples.length).toBeGreaterThan(100));
  test.each(examples.map((e) => [`${e.file}:${e.line}`, e] as const))('%s', async (_, ex) => {
    const { body, checks } = toProgram(ex);
    expect(checks, `the example shows no \`// result\`:\n${ex.code.join('\n')}`).toBeGreaterThan(0);
    // besides kn, an example may use the named exports of its own file (internal helpers)
    const own = Object.entries((await import(join(root, ex.file))) as Record<string, unknown>).filter(
      ([k]) => usableName(k) && !['kn', 'check', 'importModule'].includes(k),
    );
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...a: string[]) => (...x: unknown[]) => Promise<void>;
    const importModule = (p: string) => import(resolve(dirname(join(root, ex.file)), p.replace(/\.js$/, '.ts')));
    const run = new AsyncFunction('kn', 'check', 'importModule', ...own.map(([k]) => k), body);
    await kn.tidy(async () => run(kn, check, importModule, ...own.map(([, v]) => v)));
  });
});
