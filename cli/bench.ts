// kiln bench: prompt-processing and generation speed in the style of llama-bench, on a model
// folder or on random weights of a real shape built from a config alone (--config).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError, dtypeFlag, gb, num, parse, str } from './args.js';
import { kiln, loadForCli } from './common.js';

export const BENCH_HELP = `Usage: kiln bench (--model M | --config NAME|config.json) [options]

Measure prompt processing (pp) and token generation (tg) speed, like llama-bench, on the
default device (KILN_DEVICE=cpu|gpu). With --config the model has random weights of a real
shape (no download needed): llama-3.2-1b, tinyllama-1.1b, llama-2-7b, llama-2-13b, or a path
to a config.json. Generation reads every weight once per token: the table's GB/s column is
weight bytes x tokens/s, and the last line compares it with the device's memory bandwidth
(kn.sum read and kn.copy read + write over a large array) measured in the same run.

Options:
  --model PATH        model folder, .gguf file or Hugging Face model id
  --config NAME       a known config (see above) or a config.json path
  -p, --n-prompt N    prompt tokens (default 512; 0 skips the pp test)
  -g, --n-gen N       generated tokens (default 128; 0 skips the tg test)
  -n, --repetitions N repetitions of each test (default 3)
  --dtype D           float32, float16 or bfloat16 (default: the checkpoint's; float32 for --config)
  -h, --help          this help
`;

export const KNOWN_CONFIGS = ['llama-3.2-1b', 'tinyllama-1.1b', 'llama-2-7b', 'llama-2-13b'];

/** A shipped config by name (models/configs/<name>.json), from the sources or the installed package. */
export function knownConfig(name: string): Record<string, unknown> | null {
  for (const rel of ['../models/configs/', '../../models/configs/']) {
    const p = fileURLToPath(new URL(`${rel}${name}.json`, import.meta.url));
    if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  }
  return null;
}

const OPTIONS = {
  model: { type: 'string' },
  config: { type: 'string' },
  'n-prompt': { type: 'string', short: 'p' },
  'n-gen': { type: 'string', short: 'g' },
  repetitions: { type: 'string', short: 'n' },
  dtype: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const meanStd = (xs: number[]): [number, number] => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) : 0;
  return [m, Math.sqrt(v)];
};

export async function benchCommand(argv: string[]): Promise<void> {
  const { values: v } = parse('bench', argv, OPTIONS as never);
  if (v.help) {
    process.stdout.write(BENCH_HELP);
    return;
  }
  const modelPath = str(v, 'model'),
    configArg = str(v, 'config');
  if (!modelPath === !configArg) throw new CliError('pass exactly one of --model and --config (see kiln bench --help)');
  const P = num(v, 'n-prompt', { int: true, min: 0 }) ?? 512;
  const G = num(v, 'n-gen', { int: true, min: 0 }) ?? 128;
  const reps = num(v, 'repetitions', { int: true, min: 1 }) ?? 3;
  const dtype = dtypeFlag(v);

  let kn, model, name: string;
  const t0 = performance.now();
  if (configArg) {
    const config = knownConfig(configArg) ?? (existsSync(configArg) ? (JSON.parse(readFileSync(configArg, 'utf8')) as Record<string, unknown>) : null);
    if (!config) throw new CliError(`unknown config '${configArg}': use one of ${KNOWN_CONFIGS.join(', ')} or a config.json path`);
    kn = await kiln();
    try {
      model = kn.models.modelFromConfig(config, { dtype: dtype ?? 'float32', seed: 0 });
    } catch (e) {
      throw new CliError(`cannot build a model from config '${configArg}': ${(e as Error).message.split('\n')[0]}`);
    }
    name = `${configArg} (random weights)`;
  } else {
    ({ kn, model } = await loadForCli(modelPath!, dtype));
    name = modelPath!;
  }
  const loadS = (performance.now() - t0) / 1000;
  const params = kn.tree.flatten((model as unknown as InstanceType<typeof kn.nn.Module>).parameters()) as [string, InstanceType<typeof kn.Array>][];
  const count = params.reduce((s, [, a]) => s + a.size, 0),
    bytes = params.reduce((s, [, a]) => s + a.nbytes, 0);
  const wdtype = params[0]?.[1].dtype ?? '?';
  const info = kn.info() as { threads?: number; isa?: { level?: string } };
  process.stderr.write(
    `model ${name}: ${count >= 1e9 ? `${(count / 1e9).toFixed(2)} B` : `${(count / 1e6).toFixed(2)} M`} parameters, ${gb(bytes)} ${wdtype}, ready in ${loadS.toFixed(1)} s; ` +
      `${info.threads ?? '?'} threads, ISA ${info.isa?.level ?? '?'}\n`,
  );

  // deterministic token ids in the vocabulary
  const ids = (n: number, salt: number) => Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729 + 13) % model.vocabSize);
  const rows: [string, number[]][] = [];
  if (P > 0) {
    const tps: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const cache = kn.models.makeCache(model);
      const t = performance.now();
      kn.tidy(() => {
        model.forward(kn.array([ids(P, r)], 'int32'), { cache });
        kn.eval(kn.models.cacheState(cache));
      });
      const s = (performance.now() - t) / 1000;
      if (r > 0) tps.push(P / s); // the first run warms up
      for (const c of cache) (c as { dispose?: () => void }).dispose?.();
    }
    rows.push([`pp${P}`, tps]);
  }
  if (G > 0) {
    const tps: number[] = [];
    const sampler = kn.models.makeSampler({ temp: 0 });
    for (let r = 0; r <= reps; r++) {
      const cache = kn.models.makeCache(model);
      const t = performance.now();
      let n = 0;
      for await (const s of kn.models.generateStep(model, ids(1, r), { cache, sampler, maxTokens: r === 0 ? Math.min(G, 4) : G })) {
        void s;
        n++;
      }
      const s = (performance.now() - t) / 1000;
      if (r > 0) tps.push(n / s);
      for (const c of cache) (c as { dispose?: () => void }).dispose?.();
    }
    rows.push([`tg${G}`, tps]);
  }
  const pcount = count >= 1e9 ? `${(count / 1e9).toFixed(2)} B` : `${(count / 1e6).toFixed(2)} M`;
  const device = kn.defaultDevice();
  const where = device.type === 'cpu' ? `cpu ${info.threads ?? '?'}t` : String(device);
  const header = ['model', 'params', 'size', 'dtype', 'device', 'test', 't/s', 'GB/s'];
  const table = rows.map(([test, tps]) => {
    const [m, sd] = meanStd(tps);
    const bw = test.startsWith('tg') ? ((bytes * m) / 1e9).toFixed(1) : '';
    return [name, pcount, gb(bytes), wdtype, where, test, `${m.toFixed(2)} ± ${sd.toFixed(2)}`, bw];
  });
  const w = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  process.stdout.write([line(header), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...table.map(line)].join('\n') + '\n');
  process.stderr.write(`peak memory ${gb(kn.memory.peak({ device }))}\n`);
  const tg = rows.find(([t]) => t.startsWith('tg'));
  if (tg) {
    const bw = bandwidth(kn, device.type === 'cpu' ? 0.5 : 1);
    const limit = Math.max(bw.copy, bw.read);
    const rate = (bytes * meanStd(tg[1])[0]) / 1e9;
    process.stderr.write(
      `${device} (${device.name}): memory bandwidth ${bw.read.toFixed(1)} GB/s read (kn.sum), ${bw.copy.toFixed(1)} GB/s copy; ` +
        `generation reads the weights at ${rate.toFixed(1)} GB/s, ${((100 * rate) / limit).toFixed(0)} % of the larger\n`,
    );
  }
}

/**
 * The device's memory bandwidth in GB/s over a float32 array of `gib` GiB, best of 5 after a
 * warm-up: kn.copy (read + write bytes) and kn.sum (a pure read, what a matrix-vector product does).
 */
function bandwidth(kn: Awaited<ReturnType<typeof kiln>>, gib: number): { copy: number; read: number } {
  const x = kn.ones([Math.round((gib * 2 ** 30) / 4)]);
  x.eval();
  const nbytes = x.nbytes;
  const best = (f: () => InstanceType<typeof kn.Array>) => {
    let t = Infinity;
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      const y = f();
      y.eval();
      kn.synchronize();
      if (i > 0) t = Math.min(t, (performance.now() - t0) / 1000);
      y.dispose();
    }
    return t;
  };
  const copy = (2 * nbytes) / best(() => kn.copy(x)) / 1e9;
  const read = nbytes / best(() => kn.sum(x)) / 1e9;
  x.dispose();
  return { copy, read };
}
