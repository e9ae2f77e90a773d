// Joins the JSON lines of bench/gpu/ops.mjs (kiln) and bench/gpu/ops_torch.py (torch) into one
// table, marking rows whose kiln commands ran on the CPU (the `[kiln] cuda: X runs on the CPU`
// lines KILN_DEBUG=1 printed during the probe run, tied to rows by the `@@kiln` markers).
// Usage: node bench/gpu/table.mjs kiln.jsonl torch.jsonl [probe.stderr]
import { existsSync, readFileSync } from 'node:fs';

const [kilnFile, torchFile, probeFile] = process.argv.slice(2);
const readLines = (f) =>
  f && existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .flatMap((l) => {
          try {
            return [JSON.parse(l)];
          } catch {
            return [];
          }
        })
    : [];
const kiln = readLines(kilnFile),
  torch = readLines(torchFile);
const kMeta = kiln.find((r) => r.meta),
  tMeta = torch.find((r) => r.meta);
const kRows = new Map(kiln.filter((r) => !r.meta).map((r) => [r.id, r]));
const tRows = new Map(torch.filter((r) => !r.meta).map((r) => [r.id, r]));

// fallbacks per row, from the probe's stderr
const fallback = new Map(),
  setupFallback = [];
if (probeFile && existsSync(probeFile)) {
  let phase = 'start',
    id = '';
  for (const line of readFileSync(probeFile, 'utf8').split('\n')) {
    const m = /^@@kiln (setup|run|done) (.*)$/.exec(line);
    if (m) {
      [phase, id] = [m[1], m[2]];
      continue;
    }
    const f = /\[kiln\] \S+: (.*) runs on the CPU/.exec(line);
    if (!f) continue;
    if (phase === 'run') fallback.set(id, [...(fallback.get(id) ?? []), f[1]]);
    else setupFallback.push(`${f[1]} (${phase === 'start' ? 'start-up' : `inputs of "${id}"`})`);
  }
}

// limits: copy bandwidth (torch clone() of 1 GiB, same run), tensor-core / fp32 peaks
const copyOf = (rows) => {
  const r = rows.get('copy 1GiB f32');
  return r && r.ms ? r.bytes / r.ms / 1e6 : null; // GB/s
};
const torchCopy = copyOf(tRows),
  kilnCopy = copyOf(kRows);
const copyLimit = torchCopy ?? kilnCopy;
const bf16Limit = Number(process.env.KILN_BENCH_BF16_TFLOPS ?? 790); // H100 measured dense bf16/f16
const f32Limit = Number(process.env.KILN_BENCH_F32_TFLOPS ?? 67); // H100 SXM fp32 (no TF32) peak, spec sheet

const fmtTime = (r) =>
  !r
    ? '-'
    : r.error
      ? 'error'
      : r.ms == null
        ? '-'
        : r.usPerOp
          ? `${(r.ms * 1e3).toFixed(2)} µs/op`
          : r.ms < 1
            ? `${(r.ms * 1e3).toFixed(1)} µs`
            : `${r.ms.toFixed(3)} ms`;
function achieved(r) {
  if (!r || r.error || r.ms == null) return ['', ''];
  if (r.bytes) {
    const gbs = r.bytes / r.ms / 1e6;
    return [`${gbs.toFixed(0)} GB/s`, copyLimit ? `${((100 * gbs) / copyLimit).toFixed(0)}%` : ''];
  }
  if (r.flops) {
    const tf = r.flops / r.ms / 1e9;
    const lim = r.dtype === 'float32' ? f32Limit : bf16Limit;
    return [`${tf.toFixed(1)} TFLOP/s`, `${((100 * tf) / lim).toFixed(0)}%`];
  }
  if (r.keys) return [`${(r.keys / r.ms / 1e6).toFixed(2)} Gkeys/s`, ''];
  return ['', ''];
}

const ids = [...new Set([...kRows.keys(), ...tRows.keys()])];
const header = ['row', 'kiln', 'torch', 'kiln speed / torch', 'kiln achieved', '% limit', 'torch achieved', '% limit', 'status'];
const table = [header];
const errors = [];
for (const id of ids) {
  const k = kRows.get(id),
    t = tRows.get(id);
  const ratio = k?.ms && t?.ms ? `${(t.ms / k.ms).toFixed(2)}x` : '';
  const [ka, kp] = achieved(k),
    [ta, tp] = achieved(t);
  const status = [];
  if (!k) status.push('kiln: not reached (timeout?)');
  if (k?.error) (status.push('kiln error'), errors.push(`kiln  ${id}: ${k.error}`));
  if (t?.error) (status.push('torch error'), errors.push(`torch ${id}: ${t.error}`));
  if (!t) status.push('torch: not run');
  if (fallback.has(id)) status.push(`CPU fallback: ${fallback.get(id).join('; ')}`);
  table.push([id, fmtTime(k), fmtTime(t), ratio, ka, kp, ta, tp, status.join(', ') || 'ok']);
}
const widths = header.map((_, c) => Math.max(...table.map((r) => String(r[c]).length)));
const line = (r) => r.map((v, c) => (c === 0 || c === r.length - 1 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c]))).join(' | ');

console.log(`kiln: ${kMeta ? `${kMeta.device ?? 'no device'}; devices ${kMeta.devices.join(', ')}` : 'no output'}${kMeta?.small ? ' (SMALL sizes)' : ''}`);
if (kMeta?.error) console.log(`kiln: ${kMeta.error}`);
console.log(`torch: ${tMeta ? `${tMeta.device}, torch ${tMeta.torch}` : 'no output'}`);
console.log(
  `limits: copy ${copyLimit ? copyLimit.toFixed(0) : '?'} GB/s (torch clone() of 1 GiB, read+write, this run; kiln's kn.copy: ${kilnCopy ? kilnCopy.toFixed(0) : '?'} GB/s); ` +
    `bf16/f16 ${bf16Limit} TFLOP/s (H100 measured dense); f32 ${f32Limit} TFLOP/s (H100 SXM fp32 peak; TF32 off in both)`,
);
console.log('kiln speed / torch: torch time / kiln time (> 1: kiln faster). Times: median of 5 repeats after warm-up.');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of table.slice(1)) console.log(line(r));
if (setupFallback.length) console.log(`CPU fallbacks while making inputs (not timed): ${setupFallback.join('; ')}`);
if (fallback.size === 0 && probeFile && existsSync(probeFile))
  console.log('No timed row had a CPU fallback line (KILN_DEBUG=1 probe; each kernel/dtype is reported once, by the first row that hits it).');
else if (fallback.size) console.log('Fallback lines are printed once per kernel and dtype: a later row using the same fallback is not marked again.');
for (const e of errors) console.log(e);
