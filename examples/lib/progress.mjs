// Progress output shared by the training examples: a cli-progress bar that also works when stdout is
// not a terminal (CI logs, pipes), where it prints a plain line every few seconds instead.
import cliProgress from 'cli-progress';

const NOT_TTY_INTERVAL_MS = 5000;

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
      notTTYSchedule: NOT_TTY_INTERVAL_MS,
      stream: process.stdout,
    },
    cliProgress.Presets.legacy,
  );
  const started = performance.now();
  const pipe = !process.stdout.isTTY;
  let lastLine = started;
  bar.start(total, 0, { loss: '-', rate: '-' });
  return {
    update(step, values = {}) {
      const now = performance.now();
      bar.update(step, { ...values, rate: now > started ? (step / ((now - started) / 1000)).toFixed(2) : '-' });
      // cli-progress redraws a non-terminal stream only from a timer, which a synchronous training
      // loop never lets run: print a line ourselves every few seconds instead
      if (pipe && step < total && now - lastLine >= NOT_TTY_INTERVAL_MS) {
        lastLine = now;
        bar.render();
      }
    },
    stop() {
      bar.stop();
    },
  };
}
