// Argument parsing shared by the subcommands: node:util parseArgs in strict mode, with its errors
// and bad values turned into one-line usage errors (exit code 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage or input error: printed as one line, exit code 2. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses argv against `options`; unknown flags, missing values and stray arguments are CliErrors. */
export function parse(cmd: string, argv: string[], options: Options, positionals = 0) {
  let r;
  try {
    r = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    // node's messages are multi-line ("...To specify a positional argument..."): keep the first line
    const msg = (e as Error).message.split('\n')[0].replace(/\. To specify.*$/, '');
    throw new CliError(`${msg} (see kiln ${cmd} --help)`);
  }
  if (r.positionals.length > positionals) throw new CliError(`unexpected argument '${r.positionals[positionals]}' (see kiln ${cmd} --help)`);
  return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
}

/** A numeric flag: undefined when absent, a CliError naming the flag when not a number in range. */
export function num(values: Record<string, unknown>, name: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  const what = opts.int ? 'an integer' : 'a number';
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v)))
    throw new CliError(`--${name} must be ${what}, got '${String(raw)}'`);
  if (opts.min !== undefined && v < opts.min) throw new CliError(`--${name} must be >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new CliError(`--${name} must be <= ${opts.max}, got ${v}`);
  return v;
}

/** A string flag (undefined when absent). */
export const str = (values: Record<string, unknown>, name: string): string | undefined =>
  typeof values[name] === 'string' ? (values[name] as string) : undefined;

const DTYPES = ['float32', 'float16', 'bfloat16'] as const;
export type ModelDType = (typeof DTYPES)[number];

/** --dtype: one of float32, float16, bfloat16. */
export function dtypeFlag(values: Record<string, unknown>): ModelDType | undefined {
  const d = str(values, 'dtype');
  if (d === undefined) return undefined;
  if (!(DTYPES as readonly string[]).includes(d)) throw new CliError(`--dtype must be one of ${DTYPES.join(', ')}, got '${d}'`);
  return d as ModelDType;
}

/** Bytes as GB with 3 decimals (mlx-lm prints peak memory in GB). */
export const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(3)} GB`;
