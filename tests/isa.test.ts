// ISA levels (backends/cpu/simd.h): KILN_ISA / KILN_NO_SIMD pick the level at load, info().isa
// reports it, an unknown value fails the load with a clear message, and the levels agree where
// they are defined to (float32 GEMM: avx2 and avx512 add the same products in the same order;
// float sums and products: the portable loops keep the vector lanes' order).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as kn from '../index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
const index = pathToFileURL(`${root}index.ts`).href;
const levels = ['portable', 'avx2', 'avx512'] as const;
const rank = (l: string) => levels.indexOf(l as (typeof levels)[number]);

/** Runs `body` (an async module body with `kn` in scope) in a child with extra environment variables. */
function child(env: Record<string, string | undefined>, body: string) {
  const script = `const kn = await import(${JSON.stringify(index)}); ${body}`;
  const e: Record<string, string | undefined> = { ...process.env, KILN_ISA: undefined, KILN_NO_SIMD: undefined, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  return spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: e as NodeJS.ProcessEnv,
  });
}

function isaIn(env: Record<string, string | undefined>) {
  const r = child(env, 'console.log(JSON.stringify(kn.info().isa));');
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('ISA level switch', () => {
  const best: string = kn.info().isa.best;

  it('info().isa reports the level in use, the best level and the CPU features', () => {
    const isa = kn.info().isa;
    expect(levels).toContain(isa.level);
    expect(levels).toContain(isa.best);
    expect(rank(isa.level)).toBeLessThanOrEqual(rank(isa.best));
    for (const f of ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512vnni', 'avx512bf16'])
      expect(typeof (isa as unknown as Record<string, unknown>)[f]).toBe('boolean');
    if (isa.best === 'avx512') expect(isa.avx512f && isa.avx512bw && isa.avx512vl && isa.avx512dq).toBe(true);
    if (isa.best !== 'portable') expect(isa.avx2 && isa.fma && isa.f16c).toBe(true);
  });

  it('KILN_ISA lowers the level; a level above the CPU is clamped to it', () => {
    for (const l of levels) {
      const isa = isaIn({ KILN_ISA: l });
      expect(isa.level).toBe(rank(l) <= rank(best) ? l : best);
      expect(isa.forced).toBe(`KILN_ISA=${l}`);
    }
    expect(isaIn({ KILN_ISA: ' AVX2 ' }).level).toBe(rank(best) >= 1 ? 'avx2' : best); // case and blanks
    const unset = isaIn({ KILN_ISA: '' });
    expect([unset.level, unset.forced]).toEqual([best, null]);
  });

  it('KILN_NO_SIMD=1 means portable, whatever KILN_ISA says', () => {
    const isa = isaIn({ KILN_NO_SIMD: '1', KILN_ISA: 'avx512' });
    expect([isa.level, isa.forced]).toEqual(['portable', 'KILN_NO_SIMD=1']);
  });

  it('an unknown KILN_ISA fails the import with a message naming the variable and the levels', () => {
    const r = child({ KILN_ISA: 'avx9' }, 'console.log("loaded");');
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('loaded');
    expect(r.stderr).toContain("KILN_ISA='avx9' is not a known level (expected portable, avx2 or avx512");
  });
});

describe('levels agree', () => {
  // Bits of a float32 GEMM (edge tiles in both directions, K over several cache blocks, a
  // transposed B), a matrix-vector product wider than one block of outputs, float32 row sums and a product, as hex. The inputs come from integer ops and
  // exact scalings only, so they hold the same bits at every level (transcendentals would not).
  const body = `
    const v = (n, m, scale, shift) => kn.remainder(kn.multiply(kn.arange(n), 7919), m).astype('float32').multiply(scale).add(shift);
    const a = v(203 * 517, 1013, 1 / 1024, -0.5).reshape(203, 517);
    const b = v(517 * 91, 997, 1 / 512, -1).reshape(91, 517).T;
    const s = v(3 * 1000, 1009, 1 / 256, -2).reshape(3, 1000);
    const p = v(700, 401, 1 / 4096, 0.95);
    const hex = (x) => Buffer.from(x.toTypedArray().buffer).toString('hex');
    const x = v(517, 1019, 1 / 1024, -0.5).reshape(1, 517), w = v(517 * 5000, 1021, 1 / 1024, -0.5).reshape(517, 5000);
    console.log(JSON.stringify({ mm: hex(kn.matmul(a, b)), mv: hex(kn.matmul(x, w)), sum: hex(kn.sum(s, -1)), prod: hex(kn.prod(p)) }));`;
  const run = (l: string) => {
    const r = child({ KILN_ISA: l }, body);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  };

  it('float32 matmul and matrix-vector products: avx2 and avx512 give the same bits; sums and products the same bits on every level', () => {
    const got = levels.map(run);
    expect(got[2].mm).toBe(got[1].mm);
    expect(got[2].mv).toBe(got[1].mv); // the matrix-vector path (rows of B in blocks of 4096 outputs)
    expect(got[0].sum).toBe(got[1].sum);
    expect(got[2].sum).toBe(got[1].sum);
    expect(got[0].prod).toBe(got[1].prod);
    expect(got[2].prod).toBe(got[1].prod);
  });
});

describe('matrix-vector products at the level in use', () => {
  it('[1, K] @ [K, N] with N over several blocks of outputs matches a float64 product', () => {
    const v = (n: number, m: number, scale: number, shift: number) =>
      kn
        .remainder(kn.multiply(kn.arange(n), 7919), m)
        .astype('float32')
        .multiply(scale)
        .add(shift);
    for (const [K, N] of [
      [517, 5000],
      [64, 9001],
      [3, 4099],
    ]) {
      const x = v(K, 1019, 1 / 1024, -0.5).reshape(1, K),
        w = v(K * N, 1021, 1 / 1024, -0.5).reshape(K, N);
      const got = kn.matmul(x, w),
        want = kn.matmul(x.astype('float64'), w.astype('float64'));
      expect(kn.allclose(got.astype('float64'), want, { rtol: 1e-5, atol: 1e-4 }), `K=${K} N=${N}`).toBe(true);
    }
  });
});
