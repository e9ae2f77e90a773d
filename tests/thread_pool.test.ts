// The CPU thread pool (backends/cpu/thread_pool.cc): many back-to-back jobs at several thread
// counts give the single-thread bits (jobs are claimed lock-free and a late worker must never take
// a chunk of the next job), with spinning on and off (KILN_SPIN_US), and the fork/join probe that
// bench/pool.mjs prints returns sane numbers and rejects bad arguments.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as kn from '../index.js';
import { native } from '../backends/native.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
const index = pathToFileURL(`${root}index.ts`).href;

// 100 small products (each one pool job: [96, 80] @ [80, 72] is above the parallel threshold),
// row sums and a batched product (outer jobs over the batch), hashed per thread count.
const body = `
  const v = (n, m, s) => kn.remainder(kn.multiply(kn.arange(n), 7919), m).astype('float32').multiply(s).add(-0.5);
  const a = v(96 * 80, 1013, 1 / 1024).reshape(96, 80), b = v(80 * 72, 997, 1 / 512).reshape(80, 72);
  const ab = v(6 * 40 * 30, 991, 1 / 256).reshape(6, 40, 30), bb = v(6 * 30 * 50, 983, 1 / 128).reshape(6, 30, 50);
  const hash = (x) => { const u = new Uint32Array(x.toTypedArray().buffer); let h = 2166136261; for (const w of u) h = Math.imul(h ^ w, 16777619) >>> 0; return h; };
  const out = {};
  for (const t of [1, 2, 3, 5]) {
    kn.setNumThreads(t);
    let h = 0;
    for (let i = 0; i < 100; i++) h = (h * 31 + hash(kn.matmul(a.multiply(1 + i / 512), b))) >>> 0;
    out[t] = [h, hash(kn.sum(kn.matmul(ab, bb), -1)), kn.info().threads];
  }
  console.log(JSON.stringify(out));`;

function child(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', `const kn = await import(${JSON.stringify(index)}); ${body}`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, [number, number, number]>;
}

describe('thread pool', () => {
  afterAll(() => kn.setNumThreads(0));

  for (const spin of ['50', '0'])
    it(`KILN_SPIN_US=${spin}: back-to-back jobs at 1, 2, 3 and 5 threads give the same bits`, () => {
      const r = child({ KILN_SPIN_US: spin });
      for (const t of ['2', '3', '5']) {
        expect(r[t][2]).toBe(Number(t));
        expect(r[t].slice(0, 2), `threads ${t}`).toEqual(r['1'].slice(0, 2));
      }
    }, 300_000);

  it('measureForkJoin reports the pool size and finite, non-negative overheads', () => {
    kn.setNumThreads(2);
    const t = native.measureForkJoin(50, 0, 2);
    expect(t.threads).toBe(2);
    for (const x of [t.meanUs, t.medianUs, t.bestUs]) {
      expect(Number.isFinite(x)).toBe(true);
      expect(x).toBeGreaterThan(-1); // job time minus the busy work: clock granularity only below 0
    }
    expect(t.bestUs).toBeLessThanOrEqual(t.medianUs);
  });

  it('measureForkJoin rejects bad arguments with the function name and the values', () => {
    expect(() => native.measureForkJoin(0, 0, 0)).toThrow(/\[measureForkJoin\] iterations must be an integer in \[1, 1e6\], got 0/);
    expect(() => native.measureForkJoin(1.5, 0, 0)).toThrow(/iterations must be an integer/);
    expect(() => native.measureForkJoin(10, -1, 0)).toThrow(/\[measureForkJoin\] gap and work must be in \[0, 1e6\] microseconds, got -1 and 0/);
    expect(() => native.measureForkJoin(10, 0, Number.NaN)).toThrow(/gap and work must be in/);
  });
});
