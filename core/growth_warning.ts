// One warning when native memory grows past a threshold while the event loop has not turned:
// finalizers (the safety net for arrays dropped without dispose) run only when it turns, so such
// a synchronous loop grows without bound (DESIGN.md §2, issue 17). It takes a loop: at least
// 1000 evaluations since the last turn (loading a model grows as much in a few hundred).
// KILN_SYNC_GROWTH_WARN sets the threshold in bytes (default 2 GiB; 0 turns the warning off).
import { native } from '../backends/native.js';

const DEFAULT = 2 ** 31;
let minEvals = 1000;
let threshold = readThreshold();
let sinceCheck = 0; // bytes allocated since memory was last sampled
let evals = 0; // evaluations since the event loop last turned
let baseline = -1; // active bytes when the event loop last turned (-1: not sampled yet)
let scheduled = false;
let warned = false;

function readThreshold(): number {
  const v = process.env.KILN_SYNC_GROWTH_WARN;
  const n = v === undefined || v === '' ? DEFAULT : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT;
}

const turned = () => {
  scheduled = false;
  evals = 0;
  baseline = native.memory().active;
};

/** @internal sets the threshold (bytes; 0: never warn) and the loop length, and forgets an earlier warning (tests) */
export function setSyncGrowthWarning(bytes: number, evaluations = 1000): void {
  threshold = bytes;
  minEvals = evaluations;
  warned = false;
  baseline = -1;
  sinceCheck = 0;
  evals = 0;
}

/** Called by each evaluation with the bytes it allocated; samples memory now and then. */
export function noteEvaluation(nbytes: number): void {
  if (warned || threshold === 0) return;
  evals++;
  sinceCheck += nbytes;
  // sample about 16 times per threshold (at most every 64 MiB): one native call, not per op
  if (sinceCheck < Math.min(threshold / 16, 2 ** 26)) return;
  sinceCheck = 0;
  const active = native.memory().active;
  if (!scheduled) {
    scheduled = true;
    setImmediate(turned).unref();
  }
  if (baseline < 0) {
    baseline = active;
    return;
  }
  const grown = active - baseline;
  if (grown <= threshold || evals < minEvals) return;
  warned = true;
  process.emitWarning(
    `native memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB in synchronous code without the event loop turning. ` +
      'Arrays dropped without dispose are freed only when it turns: wrap each iteration in kn.tidy(() => ...), ' +
      'or dispose arrays (a.dispose(), kn.dispose(tree), `using`). KILN_SYNC_GROWTH_WARN sets this threshold in bytes.',
    { code: 'KILN_SYNC_GROWTH', type: 'KilnWarning' },
  );
}
