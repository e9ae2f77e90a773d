// Command-line flags for the example scripts: --help prints the usage, a bad flag or value prints
// one line and exits with code 2 (never a stack trace).
import { parseArgs } from 'node:util';

/**
 * Parses process.argv with node:util's parseArgs, adding -h/--help.
 * @param {string} usage the usage text printed by --help and after an error
 * @param {Record<string, { type: 'string' | 'boolean', default?: string | boolean, short?: string }>} options
 */
export function exampleArgs(usage, options) {
  let values;
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    fail(e.message, usage);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const int = (name) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < 0) fail(`--${name} must be a non-negative integer, got '${values[name]}'`, usage);
    return v;
  };
  const num = (name) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v)) fail(`--${name} must be a number, got '${values[name]}'`, usage);
    return v;
  };
  return { values, int, num };
}

function fail(message, usage) {
  console.error(`error: ${message}\n${usage.split('\n')[0]}\n(--help for all flags)`);
  process.exit(2);
}
