// Timing and command-line helpers shared by every benchmark (bench/*.mjs and bench/*.ts), so
// they all warm up, sample and parse options the same way.

/**
 * Wall-clock samples of `fn` in milliseconds, after `warmup` untimed calls.
 * @param {() => unknown} fn
 * @param {number} reps
 * @param {number} [warmup]
 * @returns {number[]} the samples, sorted ascending
 */
export function samplesMs(fn, reps, warmup = 1) {
  for (let i = 0; i < warmup; i++) fn();
  const t = [];
  for (let i = 0; i < reps; i++) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return t.sort((a, b) => a - b);
}

/**
 * Median of `reps` timed calls (one warm-up call first).
 * @example medianMs(() => kn.eval(kn.exp(x)), 9) // milliseconds, e.g. 3.2
 * @param {() => unknown} fn
 * @param {number} reps
 * @param {number} [warmup]
 */
export function medianMs(fn, reps, warmup = 1) {
  const t = samplesMs(fn, reps, warmup);
  return t[t.length >> 1];
}

/**
 * Best of `reps` timed calls: for benchmarks that often share a small machine with other work.
 * @example bestMs(() => kn.eval(kn.sort(x)), 5) // milliseconds, e.g. 12.7
 * @param {() => unknown} fn
 * @param {number} reps
 * @param {number} [warmup]
 */
export function bestMs(fn, reps, warmup = 1) {
  return samplesMs(fn, reps, warmup)[0];
}

/** The raw value of `--name value` or `--name=value`, or undefined. */
function rawArg(name, argv) {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq !== undefined) return eq.slice(name.length + 3);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
}

/**
 * Whether `--name` was passed.
 * @example hasFlag('quick') // true for `node bench/compile.mjs --quick`
 * @param {string} name
 */
export function hasFlag(name, argv = process.argv.slice(2)) {
  return argv.includes(`--${name}`);
}

/**
 * A numeric option `--name 64` or `--name=64`, else `dflt`; a value that is not a number is an error.
 * @example numberArg('batch', 64) // 64 unless --batch was given
 * @param {string} name
 * @param {number} dflt
 */
export function numberArg(name, dflt, argv = process.argv.slice(2)) {
  const v = rawArg(name, argv);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`[bench] --${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * A comma-separated option `--name a,b` or `--name=a,b` as a list (empty when absent).
 * @example listArg('cases') // ['gelu', 'softmax'] for --cases=gelu,softmax
 * @param {string} name
 * @returns {string[]}
 */
export function listArg(name, argv = process.argv.slice(2)) {
  return (rawArg(name, argv) ?? '').split(',').filter(Boolean);
}
