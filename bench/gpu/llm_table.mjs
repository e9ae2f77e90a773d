// Joins the `KILN_JSON` lines of bench/gpu/llm.mjs and the `TORCH_JSON` lines of
// bench/gpu/llm_torch.py into one markdown table per config (decode tok/s of kiln, HF eager and
// compiled PyTorch; achieved decode bandwidth against the copy bandwidth measured in the same
// run; prefill 2048 tok/s; peak device memory), then notes (modes, errors).
// Usage: node bench/gpu/llm_table.mjs FILE|DIR ...   (a folder: every file in it; other lines are ignored;
//        a later line for the same config and side replaces an earlier one)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const paths = process.argv.slice(2);
if (!paths.length) {
  console.error('usage: node bench/gpu/llm_table.mjs FILE|DIR ... (outputs of bench/gpu/llm.mjs and bench/gpu/llm_torch.py)');
  process.exit(2);
}
const files = paths.flatMap((p) => {
  if (!existsSync(p)) {
    console.error(`llm_table.mjs: ${p} does not exist (skipped)`);
    return [];
  }
  return statSync(p).isDirectory()
    ? readdirSync(p)
        .sort()
        .map((f) => join(p, f))
        .filter((f) => statSync(f).isFile())
    : [p];
});

const kilnMeta = [],
  torchMeta = [];
const kiln = new Map(), // config -> row (graph decode)
  kilnEager = new Map(),
  torch = new Map();
for (const f of files) {
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const m = /^(KILN|TORCH)_JSON (.*)$/.exec(line.trim());
    if (!m) continue;
    let r;
    try {
      r = JSON.parse(m[2]);
    } catch {
      continue;
    }
    if (m[1] === 'KILN') {
      if (r.meta) kilnMeta.push(r);
      else (r.kiln_mode === 'eager' ? kilnEager : kiln).set(r.config, r);
    } else if (r.meta) torchMeta.push(r);
    else torch.set(r.config, r);
  }
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && x > 0).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};
// the limit: torch clone() of 1 GiB (read + write); kiln's kn.copy beside it
const torchCopy = median(torchMeta.map((r) => r.copy_gbs));
const kilnCopy = median(kilnMeta.map((r) => r.kiln_copy_gbs));
const copyLimit = torchCopy ?? kilnCopy;

const num = (x, d = 1) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');
const ratio = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}x` : '-');
const pct = (gbs) => (gbs > 0 && copyLimit ? `${((100 * gbs) / copyLimit).toFixed(0)}%` : '-');
const gb = (b) => (b > 0 ? (b / 1e9).toFixed(1) : '-');
/** bytes a decode step reads (weights + the KV cache at the mean position), times tok/s */
const decodeGBs = (r, tps) => (r && r.weight_bytes && tps > 0 ? ((r.weight_bytes + (r.kv_bytes_per_token ?? 0) * (r.prompt + r.gen / 2)) * tps) / 1e9 : null);

const configs = [...new Set([...kiln.keys(), ...kilnEager.keys(), ...torch.keys()])];
const withEager = kilnEager.size > 0;
const header = [
  'config',
  'kiln decode tok/s',
  ...(withEager ? ['kiln eager decode'] : []),
  'torch eager',
  'torch compiled',
  'kiln / compiled',
  'kiln decode GB/s',
  '% copy BW',
  'compiled GB/s',
  '% copy BW',
  'prefill 2048 kiln',
  'prefill 2048 torch',
  'kiln / torch',
  'prompt tok/s kiln / torch',
  'peak GB kiln / torch',
];
const rows = configs.map((c) => {
  const k = kiln.get(c),
    e = kilnEager.get(c),
    t = torch.get(c);
  const kGBs = k?.decode_gbs ?? decodeGBs(k, k?.kiln_decode_tps);
  const tGBs = decodeGBs(t, t?.compiled_decode_tps);
  return [
    c,
    num(k?.kiln_decode_tps),
    ...(withEager ? [num(e?.kiln_decode_tps)] : []),
    num(t?.eager_decode_tps),
    num(t?.compiled_decode_tps),
    ratio(k?.kiln_decode_tps, t?.compiled_decode_tps),
    num(kGBs, 0),
    pct(kGBs),
    num(tGBs, 0),
    pct(tGBs),
    num(k?.kiln_prefill2048_tps, 0),
    num(t?.prefill2048_tps, 0),
    ratio(k?.kiln_prefill2048_tps, t?.prefill2048_tps),
    `${num(k?.kiln_prefill512_tps, 0)} / ${num(t?.prefill512_tps, 0)}`,
    `${gb(k?.peak_bytes)} / ${gb(t?.peak_bytes)}`,
  ];
});

const any = (m) => [...m.values()][0];
const shape = any(kiln) ?? any(torch) ?? any(kilnEager);
const km = kilnMeta.at(-1),
  tm = torchMeta.at(-1);
console.log(`kiln: ${km ? `${km.device}, decode ${km.decode}` : 'no output'}${km?.gpuUnavailable ? ` (GPU unavailable: ${km.gpuUnavailable})` : ''}`);
console.log(`torch: ${tm ? `${tm.gpu}, torch ${tm.torch_version}, transformers ${tm.transformers_version}` : 'no output'}`);
console.log(
  `limit: copy ${num(copyLimit, 0)} GB/s (${torchCopy ? 'torch clone() of 1 GiB, read + write, this run' : "kiln's kn.copy"}; kiln's kn.copy: ${num(kilnCopy, 0)} GB/s)`,
);
if (shape)
  console.log(`shapes: batch 1, ${shape.dtype}, ${shape.prompt}-token prompt, ${shape.gen} generated tokens; long prefill ${shape.prefill_long} tokens`);
console.log(
  'decode tok/s: the tokens after the first, per second. GB/s: (weight bytes + KV bytes at the mean cached length) x tok/s. kiln / x: kiln speed over x (> 1: kiln faster).',
);
console.log('');
const line = (r) => `| ${r.join(' | ')} |`;
console.log(line(header));
console.log(line(header.map((h, i) => (i === 0 ? '---' : '---:'))));
for (const r of rows) console.log(line(r));

const notes = [];
for (const c of configs) {
  const k = kiln.get(c),
    e = kilnEager.get(c),
    t = torch.get(c);
  if (!k) notes.push(`${c}: kiln: no result (step timed out or crashed? see kiln.stderr)`);
  else if (k.decode_graph && k.decode_graph !== 'on') notes.push(`${c}: kiln decode graph ${k.decode_graph}`);
  if (t?.compiled_mode) {
    const extra = [
      t.compile_s != null ? `compile ${num(t.compile_s, 0)} s` : null,
      t.cudagraph_skips ? `${t.cudagraph_skips} cudagraph skips (NOT CUDA graphs)` : null,
      t.graph_breaks ? `${t.graph_breaks} graph breaks` : null,
      t.compiled_tokens_agree != null ? `${t.compiled_tokens_agree}/${t.gen} leading tokens equal to eager generate's` : null,
    ].filter(Boolean);
    notes.push(`${c}: torch compiled = ${t.compiled_mode}${extra.length ? ` (${extra.join(', ')})` : ''}`);
  } else if (t) notes.push(`${c}: torch compiled decode did not run`);
  else notes.push(`${c}: torch: no result (not installed, timed out or crashed? see torch.stderr)`);
  for (const [side, r] of [
    ['kiln', k],
    ['kiln eager', e],
    ['torch', t],
  ])
    for (const [part, msg] of Object.entries(r?.errors ?? {})) notes.push(`${c}: ${side} ${part}: ${msg}`);
}
if (notes.length) {
  console.log('');
  for (const n of notes) console.log(`- ${n}`);
}
