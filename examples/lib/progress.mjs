// Progress output shared by the training examples: a cli-progress bar that also works when stdout is
// not a terminal (CI logs, pipes), where it prints a plain line every few seconds instead.
import cliProgress from 'cli-progress';

/**
 * Starts a progress bar over `total` steps. Call `update(step, {loss})` after each step and `stop()`
 * at the end. With `{silent: true}` nothing is printed (tests).
 * @param {number} total
 * @param {{label?: string, silent?: boolean}} [options]
 * @returns {{update: (step: number, values?: Record<string, string | number>) => void, stop: () => void}}
 * @example const bar = startProgress(100, {label: 'train'}); bar.update(1, {loss: '2.30'}); bar.stop();
 */
export function startProgress(total, { label = 'train', silent = false } = {}) {
  if (silent) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | step {value}/{total} | loss {loss} | {rate} step/s | eta {eta_formatted}`,
      barCompleteChar: '=',
      barIncompleteChar: ' ',
      hideCursor: true,
      etaBuffer: 50,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      stream: process.stdout,
    },
    cliProgress.Presets.legacy,
  );
  const started = performance.now();
  bar.start(total, 0, { loss: '-', rate: '-' });
  return {
    update(step, values = {}) {
      const seconds = (performance.now() - started) / 1000;
      bar.update(step, { ...values, rate: seconds > 0 ? (step / seconds).toFixed(2) : '-' });
    },
    stop() {
      bar.stop();
    },
  };
}
