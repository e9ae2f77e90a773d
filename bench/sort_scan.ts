// Sorting and scan benchmark: kiln vs numpy on the same data in the same run (numpy reads the
// arrays kiln wrote). Run: `npx tsx bench/sort_scan.ts` (python3 + numpy for the peer column).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kn from '../index.js';
import { bestMs } from './lib/timing.mjs'; // best of `reps`: these often share a small machine with other work

function normal(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())),
      t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-'));
const data: Record<string, Float32Array | Int32Array> = {
  s1m: normal(1_000_000, 1),
  s10m: normal(10_000_000, 2),
  i1m: Int32Array.from(normal(1_000_000, 3), (v) => Math.round(v * 1e6)),
};
for (const [k, v] of Object.entries(data)) writeFileSync(join(dir, `${k}.bin`), v);
const A = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, kn.array(v).eval()]));
const rows = kn.reshape(A.s1m, [1000, 1000]).eval();

const cases: Record<string, [() => kn.NDArray, string]> = {
  'sort f32 1M': [() => kn.sort(A.s1m), 'np.sort(s1m)'],
  'sort i32 1M': [() => kn.sort(A.i1m), 'np.sort(i1m)'],
  'sort f32 1000x1000 rows': [() => kn.sort(rows), 'np.sort(rows)'],
  'argsort f32 1M (stable)': [() => kn.argsort(A.s1m), "np.argsort(s1m, kind='stable')"],
  'argsort f32 1M (numpy default)': [() => kn.argsort(A.s1m), 'np.argsort(s1m)'],
  'partition f32 1M': [() => kn.partition(A.s1m, 500_000), 'np.partition(s1m, 500000)'],
  'topk 10 f32 1M': [() => kn.topk(A.s1m, 10), 'np.partition(s1m, -10)[-10:]'],
  'cumsum f32 10M': [() => kn.cumsum(A.s10m), 'np.cumsum(s10m)'],
  'cummax f32 10M': [() => kn.cummax(A.s10m), 'np.maximum.accumulate(s10m)'],
  'cumsum f32 1000x1000 axis 0': [() => kn.cumsum(rows, 0), 'np.cumsum(rows, 0)'],
};

const ours: Record<string, number> = {};
for (const [name, [f]] of Object.entries(cases)) ours[name] = bestMs(() => kn.tidy(() => void kn.eval(f())), 15);

const py = `
import json, time, numpy as np
d = ${JSON.stringify(dir)}
s1m = np.fromfile(d + '/s1m.bin', dtype=np.float32); s10m = np.fromfile(d + '/s10m.bin', dtype=np.float32)
i1m = np.fromfile(d + '/i1m.bin', dtype=np.int32); rows = s1m.reshape(1000, 1000)
def best(f, reps=15):
    f(); t = []
    for _ in range(reps):
        s = time.perf_counter(); f(); t.append((time.perf_counter() - s) * 1e3)
    return min(t)
cases = ${JSON.stringify(Object.fromEntries(Object.entries(cases).map(([k, [, e]]) => [k, e])))}
print(json.dumps({k: best(eval('lambda: ' + e)) for k, e in cases.items()}))
`;
let peer: Record<string, number> = {};
try {
  peer = JSON.parse(execFileSync('python3', ['-c', py], { encoding: 'utf8' }));
} catch (e) {
  console.log(`(numpy peer unavailable: ${(e as Error).message.split('\n')[0]})`);
}
rmSync(dir, { recursive: true, force: true });
console.log(`threads: ${kn.info().threads}`);
console.log('case (best of 15)'.padEnd(34), 'kiln ms'.padStart(9), 'numpy ms'.padStart(9), 'numpy/kiln'.padStart(11));
for (const name of Object.keys(cases)) {
  const p = peer[name];
  console.log(
    name.padEnd(34),
    ours[name].toFixed(2).padStart(9),
    (p?.toFixed(2) ?? '-').padStart(9),
    (p ? (p / ours[name]).toFixed(2) + 'x' : '-').padStart(11),
  );
}
