// kiln lora's settings: defaults (mlx-lm's), a -c config.yaml|json file (mlx-lm's snake_case
// keys) and the command-line flags, merged in that order (a flag wins over the file).
import { readFileSync } from 'node:fs';
import { CliError } from './args.js';

type Kind = 'string' | 'int' | 'number' | 'bool' | 'object' | 'list';

/** snake_case setting -> [flag name or null for config-only, kind, default] */
export const SETTINGS: Record<string, [string | null, Kind, unknown]> = {
  model: ['model', 'string', undefined],
  train: ['train', 'bool', false],
  test: ['test', 'bool', false],
  data: ['data', 'string', 'data'],
  fine_tune_type: ['fine-tune-type', 'string', 'lora'],
  optimizer: ['optimizer', 'string', 'adam'],
  optimizer_config: [null, 'object', {}],
  mask_prompt: ['mask-prompt', 'bool', false],
  num_layers: ['num-layers', 'int', undefined],
  batch_size: ['batch-size', 'int', 4],
  iters: ['iters', 'int', 1000],
  val_batches: ['val-batches', 'int', 25],
  learning_rate: ['learning-rate', 'number', 1e-5],
  steps_per_report: ['steps-per-report', 'int', 10],
  steps_per_eval: ['steps-per-eval', 'int', 200],
  resume_adapter_file: ['resume-adapter-file', 'string', undefined],
  adapter_path: ['adapter-path', 'string', 'adapters'],
  save_every: ['save-every', 'int', 100],
  test_batches: ['test-batches', 'int', 500],
  max_seq_length: ['max-seq-length', 'int', 2048],
  grad_checkpoint: ['grad-checkpoint', 'bool', false],
  grad_accumulation_steps: ['grad-accumulation-steps', 'int', 1],
  seed: ['seed', 'int', 0],
  lr_schedule: [null, 'object', null],
  warmup: ['warmup', 'int', 0],
  lora_parameters: [null, 'object', { rank: 8, dropout: 0.0, scale: 20.0 }],
  lora_rank: ['lora-rank', 'int', undefined],
  lora_scale: ['lora-scale', 'number', undefined],
  lora_dropout: ['lora-dropout', 'number', undefined],
  lora_keys: ['lora-keys', 'list', undefined],
  export_peft: ['export-peft', 'string', undefined],
  dtype: ['dtype', 'string', undefined],
  eager: ['eager', 'bool', false],
};

export type LoraSettings = Record<string, unknown>;

/** The parseArgs options of every flag. */
export function flagOptions() {
  const o: Record<string, { type: 'string' | 'boolean'; short?: string }> = { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } };
  for (const [flag, kind] of Object.values(SETTINGS)) if (flag) o[flag] = { type: kind === 'bool' ? 'boolean' : 'string' };
  return o;
}

/** Reads a YAML or JSON config file (a mapping of mlx-lm setting names). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`-c ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  let c: unknown;
  try {
    if (path.endsWith('.json')) c = JSON.parse(text);
    else c = (await import('yaml')).parse(text);
  } catch (e) {
    throw new CliError(`-c ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new CliError(`-c ${path} must hold a mapping of settings (model: ..., iters: ...)`);
  for (const k of Object.keys(c)) if (!(k in SETTINGS)) throw new CliError(`-c ${path}: unknown setting '${k}' (known: ${Object.keys(SETTINGS).join(', ')})`);
  return c as Record<string, unknown>;
}

function coerce(name: string, kind: Kind, v: unknown, where: string): unknown {
  const bad = (want: string) => new CliError(`${where} must be ${want}, got ${JSON.stringify(v)}`);
  switch (kind) {
    case 'bool':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return v;
    case 'int': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw bad('an integer');
      return n;
    }
    case 'number': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad('a number');
      return n;
    }
    case 'list':
      if (typeof v === 'string')
        return v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad('a list of names');
      return v;
    case 'object':
      if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw bad('a mapping');
      return v;
  }
  void name;
}

/** Defaults, then the config file, then the flags. */
export function mergeSettings(file: Record<string, unknown>, flags: Record<string, unknown>, fileName?: string): LoraSettings {
  const s: LoraSettings = {};
  for (const [k, [, , d]] of Object.entries(SETTINGS)) s[k] = d && typeof d === 'object' ? structuredClone(d) : d;
  for (const [k, v] of Object.entries(file)) s[k] = coerce(k, SETTINGS[k][1], v, `-c ${fileName}: ${k}`);
  for (const [k, [flag, kind]] of Object.entries(SETTINGS)) if (flag && flags[flag] !== undefined) s[k] = coerce(k, kind, flags[flag], `--${flag}`);
  // the lora flags refine lora_parameters
  const lp = { rank: 8, dropout: 0, scale: 20, ...(s.lora_parameters as Record<string, unknown>) };
  if (s.lora_rank !== undefined) lp.rank = s.lora_rank as number;
  if (s.lora_scale !== undefined) lp.scale = s.lora_scale as number;
  if (s.lora_dropout !== undefined) lp.dropout = s.lora_dropout as number;
  if (s.lora_keys !== undefined) (lp as Record<string, unknown>).keys = s.lora_keys;
  s.lora_parameters = lp;
  check(s);
  return s;
}

function check(s: LoraSettings): void {
  const oneOf = (k: string, flag: string, xs: string[]) => {
    if (!xs.includes(s[k] as string)) throw new CliError(`--${flag} must be one of ${xs.join(', ')}, got '${String(s[k])}'`);
  };
  oneOf('fine_tune_type', 'fine-tune-type', ['lora', 'dora', 'full']);
  oneOf('optimizer', 'optimizer', ['adam', 'adamw', 'sgd', 'adafactor']);
  const pos = (k: string, flag: string, min = 1) => {
    if ((s[k] as number) < min) throw new CliError(`--${flag} must be >= ${min}, got ${String(s[k])}`);
  };
  pos('batch_size', 'batch-size');
  pos('iters', 'iters', 0);
  pos('grad_accumulation_steps', 'grad-accumulation-steps');
  pos('max_seq_length', 'max-seq-length', 2);
  pos('steps_per_report', 'steps-per-report');
  pos('warmup', 'warmup', 0);
  if ((s.learning_rate as number) <= 0) throw new CliError(`--learning-rate must be > 0, got ${String(s.learning_rate)}`);
  if (s.num_layers !== undefined && s.num_layers !== -1 && (s.num_layers as number) < 1)
    throw new CliError(`--num-layers must be a positive integer or -1 (all), got ${String(s.num_layers)}`);
  const lp = s.lora_parameters as Record<string, unknown>;
  if (!Number.isInteger(lp.rank) || (lp.rank as number) < 1) throw new CliError(`lora rank must be a positive integer, got ${JSON.stringify(lp.rank)}`);
  if (typeof lp.dropout !== 'number' || lp.dropout < 0 || lp.dropout >= 1)
    throw new CliError(`lora dropout must be in [0, 1), got ${JSON.stringify(lp.dropout)}`);
  if (typeof lp.scale !== 'number' || !Number.isFinite(lp.scale)) throw new CliError(`lora scale must be a number, got ${JSON.stringify(lp.scale)}`);
  if (s.dtype !== undefined && !['float32', 'float16', 'bfloat16'].includes(s.dtype as string))
    throw new CliError(`--dtype must be one of float32, float16, bfloat16, got '${String(s.dtype)}'`);
}
