// The fine-tuning loop: one kn.compile'd step over model, optimizer and the gradient accumulator
// (loss, gradients, and on the last micro-batch of an iteration the update), validation, reports,
// numbered checkpoints with everything a bit-identical resume needs (adapter weights, optimizer
// state, the iteration; the data order and dropout keys are functions of (seed, step)), and a
// stop request (Ctrl-C) that saves before returning.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NDArray } from '../../core/array.js';
import { dispose, evaluate, keep, memory, tidy } from '../../core/memory.js';
import { flatten, map as treeMap } from '../../core/tree.js';
import { add, divide } from '../../ops/elementwise.js';
import { array } from '../../ops/creation.js';
import { saveSafetensors } from '../../ops/io/index.js';
import { zerosLike } from '../../ops/creation.js';
import { key as randomKey } from '../../ops/random.js';
import { checkpoint as checkpointFn } from '../../ops/transforms.js';
import { compile } from '../../ops/compile.js';
import { valueAndGrad } from '../../nn/value_and_grad.js';
import type { Module } from '../../nn/index.js';
import type { Optimizer } from '../../nn/optim/optimizer.js';
import { adapterWeights, loadAdapterWeights } from './adapters.js';
import { blocksOf } from './apply.js';
import { batchIndexAt, makeBatch, planBatches, type Batch } from './batches.js';
import type { Example } from './data.js';
import { withDropoutKey } from './layers.js';
import { lossAndCount, type Forward } from './loss.js';

export interface TrainOptions {
  batchSize?: number;
  iters?: number;
  gradAccumulationSteps?: number;
  gradCheckpoint?: boolean;
  maxSeqLength?: number;
  stepsPerReport?: number;
  stepsPerEval?: number;
  /** validation batches per evaluation; -1: the whole set */
  valBatches?: number;
  saveEvery?: number;
  /** folder for adapters.safetensors and the numbered checkpoints (null: save nothing) */
  adapterPath?: string | null;
  seed?: number;
  /** run the step eagerly instead of compiling it (default false) */
  eager?: boolean;
  /** iteration to start after (resume), with the optimizer state already loaded */
  startIteration?: number;
  /** called with a report every stepsPerReport iterations */
  onReport?: (r: TrainReport) => void;
  onEval?: (r: EvalReport) => void;
  /** called after every iteration (progress bars) */
  onIteration?: (it: number, loss: number) => void;
  /** warned once: examples longer than maxSeqLength */
  onWarn?: (msg: string) => void;
  /** checked after each iteration; true stops the run (it saves first) */
  shouldStop?: () => boolean;
  /** trained-token count carried over by a resume */
  trainedTokens?: number;
}

export interface TrainReport {
  iteration: number;
  trainLoss: number;
  learningRate: number;
  itPerSec: number;
  tokensPerSec: number;
  trainedTokens: number;
  peakMemory: number;
}

export interface EvalReport {
  iteration: number;
  valLoss: number;
  seconds: number;
}

export interface TrainResult {
  iterations: number;
  trainedTokens: number;
  finalTrainLoss: number | null;
  valLosses: EvalReport[];
  stopped: boolean;
}

const STATE_SUFFIX = '_state.json';
const OPT_SUFFIX = '_optimizer.safetensors';
const ADAPTER_SUFFIX = '_adapters.safetensors';

/** The name of the checkpoint files of iteration `it` (mlx-lm's 0000100_adapters.safetensors). */
export const checkpointName = (it: number): string => String(it).padStart(7, '0');

function toArrays(b: Batch): [NDArray, NDArray, NDArray] {
  return [array(b.tokens, 'int32').reshape(b.shape), array(b.lengths, 'int32'), array(b.offsets, 'int32')];
}

/** Runs every block's forward under kn.checkpoint (recomputed in the backward pass); returns an undo. */
export function enableGradCheckpoint(model: Module): () => void {
  const undo: (() => void)[] = [];
  for (const block of blocksOf(model)) {
    const b = block as unknown as { forward: (...a: unknown[]) => unknown; trainableParameters(): unknown; update(p: unknown): unknown };
    const orig = b.forward;
    const own = Object.prototype.hasOwnProperty.call(b, 'forward');
    b.forward = function (x: unknown, mask: unknown, cache: unknown) {
      if (cache) return orig.call(b, x, mask, cache);
      // the block's trainable parameters are arguments, so their gradients flow through the checkpoint
      const inner = checkpointFn((params: unknown, h: NDArray) => {
        const before = b.trainableParameters();
        b.update(params);
        try {
          return orig.call(b, h, mask) as NDArray;
        } finally {
          b.update(before);
        }
      });
      return inner(b.trainableParameters(), x as NDArray);
    };
    undo.push(() => {
      if (own) b.forward = orig;
      else delete (b as { forward?: unknown }).forward;
    });
  }
  return () => undo.forEach((u) => u());
}

/**
 * Mean loss of up to `numBatches` batches (-1: all), weighted by their target tokens.
 * @example
 * const m = kn.models.createModel({ model_type: 'llama', hidden_size: 32, num_hidden_layers: 1, intermediate_size: 64, num_attention_heads: 4, vocab_size: 50 });
 * kn.models.lora.evaluateLoss(m, [{ tokens: [1, 2, 3], offset: 0 }], { batchSize: 1 }) > 0 // true
 */
export function evaluate_(model: Module, examples: readonly Example[], opts: { batchSize: number; numBatches?: number; maxSeqLength?: number }): number {
  const maxLen = opts.maxSeqLength ?? 2048;
  const plan = planBatches(examples, Math.min(opts.batchSize, examples.length), maxLen, 'the validation set');
  const n = opts.numBatches === undefined || opts.numBatches < 0 ? plan.batches.length : Math.min(opts.numBatches, plan.batches.length);
  const wasTraining = model.training;
  model.eval();
  let total = 0,
    count = 0;
  try {
    for (let i = 0; i < n; i++) {
      const [l, c] = tidy(() => {
        const [t, len, off] = toArrays(makeBatch(examples, plan.batches[i], maxLen));
        const [loss, nt] = lossAndCount(model as unknown as Forward, t, len, off);
        evaluate(loss, nt);
        return [loss.item() as number, nt.item() as number];
      });
      total += l * c;
      count += c;
    }
  } finally {
    model.train(wasTraining);
  }
  return count ? total / count : NaN;
}
export { evaluate_ as evaluateLoss };

/** Saves a resumable checkpoint of iteration `it` (adapter, optimizer state, trainer state). */
export function saveCheckpoint(model: Module, opt: Optimizer, dir: string, it: number, extra: Record<string, unknown>): string {
  const base = join(dir, checkpointName(it));
  saveAdapterFile(model, `${base}${ADAPTER_SUFFIX}`);
  opt.saveState(`${base}${OPT_SUFFIX}`);
  writeFileSync(`${base}${STATE_SUFFIX}`, JSON.stringify({ iteration: it, ...extra }, null, 1) + '\n');
  return `${base}${ADAPTER_SUFFIX}`;
}

function saveAdapterFile(model: Module, file: string): void {
  const tmp = file + '.tmp.safetensors';
  // the rename keeps a half-written file from ever carrying the final name
  saveSafetensors(tmp, adapterWeights(model), { format: 'mlx' });
  renameSync(tmp, file);
}

export interface ResumeState {
  iteration: number;
  trainedTokens: number;
  /** whether the optimizer state was found and loaded */
  optimizer: boolean;
}

/**
 * Loads `file` (an adapters.safetensors or a numbered checkpoint) into the adapted model, and,
 * when the checkpoint's optimizer and trainer state lie beside it, the optimizer state too.
 */
export function resumeFrom(model: Module, opt: Optimizer, file: string): ResumeState {
  loadAdapterWeights(model, file);
  const m = /^(.*\d{7})_adapters\.safetensors$/.exec(file);
  if (m && existsSync(`${m[1]}${OPT_SUFFIX}`) && existsSync(`${m[1]}${STATE_SUFFIX}`)) {
    const st = JSON.parse(readFileSync(`${m[1]}${STATE_SUFFIX}`, 'utf8'));
    opt.loadState(`${m[1]}${OPT_SUFFIX}`);
    evaluate(model.parameters(), opt.state as never);
    return { iteration: st.iteration ?? 0, trainedTokens: st.trainedTokens ?? 0, optimizer: true };
  }
  return { iteration: 0, trainedTokens: 0, optimizer: false };
}

/**
 * Trains the model's trainable parameters (after applyLoRA) on `train`, validating on `valid`.
 * @example
 * const m = kn.models.createModel({ model_type: 'llama', hidden_size: 32, num_hidden_layers: 1, intermediate_size: 64, num_attention_heads: 4, vocab_size: 50 });
 * kn.models.lora.applyLoRA(m, { numLayers: 1, loraParameters: { rank: 2 } });
 * const data = [{ tokens: [1, 2, 3, 4], offset: 1 }, { tokens: [5, 6, 7], offset: 0 }];
 * (await kn.models.lora.train(m, new kn.optim.Adam(1e-3), data, null, { batchSize: 2, iters: 2, adapterPath: null })).iterations // 2
 */
export async function train(
  model: Module,
  opt: Optimizer,
  trainSet: readonly Example[],
  validSet: readonly Example[] | null,
  o: TrainOptions = {},
): Promise<TrainResult> {
  const batchSize = o.batchSize ?? 4,
    iters = o.iters ?? 1000,
    accum = o.gradAccumulationSteps ?? 1,
    maxLen = o.maxSeqLength ?? 2048,
    seed = o.seed ?? 0;
  const stepsPerReport = o.stepsPerReport ?? 10,
    stepsPerEval = o.stepsPerEval ?? 200,
    valBatches = o.valBatches ?? 25,
    saveEvery = o.saveEvery ?? 100;
  if (!Number.isInteger(accum) || accum < 1) throw new Error(`[lora.train] grad accumulation steps must be a positive integer, got ${accum}`);
  if (!Number.isInteger(iters) || iters < 0) throw new Error(`[lora.train] iters must be a non-negative integer, got ${iters}`);
  const plan = planBatches(trainSet, batchSize, maxLen, 'the training set');
  if (plan.truncated) o.onWarn?.(`${plan.truncated} training example(s) are longer than --max-seq-length ${maxLen} and were truncated`);
  if (o.adapterPath) mkdirSync(o.adapterPath, { recursive: true });
  const undoCkpt = o.gradCheckpoint ? enableGradCheckpoint(model) : null;
  model.train();

  // the accumulator: summed gradients of the iteration's micro-batches so far
  const acc: { state: { grads: unknown } } = { state: { grads: null } };
  const lossAndGrad = valueAndGrad(model, (m: Module, t: NDArray, l: NDArray, off: NDArray) => {
    const [loss, n] = lossAndCount(m as unknown as Forward, t, l, off);
    return [loss, n];
  });
  const stepFn = (t: NDArray, l: NDArray, off: NDArray, key: NDArray, first: boolean, last: boolean) => {
    const [[loss, n], grads] = withDropoutKey(key, () => lossAndGrad(t, l, off)) as unknown as [[NDArray, NDArray], unknown];
    let g = first ? grads : treeMap((a: NDArray, b: NDArray) => add(a, b), acc.state.grads, grads);
    if (last) {
      if (accum > 1) g = treeMap((a: NDArray) => divide(a, accum), g);
      opt.update(model, g);
      if (accum > 1) acc.state.grads = treeMap((a: NDArray) => zerosLike(a), g);
    } else acc.state.grads = g;
    return [loss, n];
  };
  if (accum > 1) acc.state.grads = tidy(() => keepTree(treeMap((a: NDArray) => zerosLike(a), model.trainableParameters())));
  const step = o.eager ? stepFn : compile(stepFn, { inputs: [model, opt, acc], outputs: [model, opt, acc] });

  const start = o.startIteration ?? 0;
  let trainedTokens = o.trainedTokens ?? 0;
  let lossSum = 0,
    lossN = 0,
    tokSince = 0,
    lastLoss: number | null = null;
  let tReport = performance.now();
  const valLosses: EvalReport[] = [];
  const runEval = (it: number) => {
    if (!validSet || validSet.length === 0 || valBatches === 0) return;
    const t0 = performance.now();
    const valLoss = evaluate_(model, validSet, { batchSize, numBatches: valBatches, maxSeqLength: maxLen });
    const r = { iteration: it, valLoss, seconds: (performance.now() - t0) / 1000 };
    valLosses.push(r);
    o.onEval?.(r);
    tReport += performance.now() - t0;
  };
  const extra = () => ({ trainedTokens, seed });
  let stopped = false,
    it = start;
  try {
    if (start === 0 && stepsPerEval > 0) runEval(0);
    for (it = start + 1; it <= iters; it++) {
      let itLoss = 0;
      for (let s = 0; s < accum; s++) {
        const micro = (it - 1) * accum + s;
        const [l, n] = tidy(() => {
          const b = makeBatch(trainSet, plan.batches[batchIndexAt(micro, plan.batches.length, seed)], maxLen);
          const [t, len, off] = toArrays(b);
          const key = randomKey(BigInt(seed) * 4294967296n + BigInt(micro));
          const [loss, nt] = step(t, len, off, key, s === 0, s === accum - 1) as NDArray[];
          evaluate(loss, nt, model.parameters(), opt.state as never, acc.state.grads as never);
          return [loss.item() as number, nt.item() as number];
        });
        itLoss += l / accum;
        trainedTokens += n;
        tokSince += n;
      }
      lossSum += itLoss;
      lossN++;
      lastLoss = itLoss;
      o.onIteration?.(it, itLoss);
      if (it % stepsPerReport === 0 || it === iters) {
        const dt = (performance.now() - tReport) / 1000;
        o.onReport?.({
          iteration: it,
          trainLoss: lossSum / lossN,
          learningRate: opt.learningRate.item() as number,
          itPerSec: lossN / dt,
          tokensPerSec: tokSince / dt,
          trainedTokens,
          peakMemory: memory.peak(),
        });
        lossSum = lossN = tokSince = 0;
        tReport = performance.now();
      }
      if (stepsPerEval > 0 && (it % stepsPerEval === 0 || it === iters)) runEval(it);
      if (o.adapterPath && saveEvery > 0 && it % saveEvery === 0) {
        saveCheckpoint(model, opt, o.adapterPath, it, extra());
        saveAdapterFile(model, join(o.adapterPath, 'adapters.safetensors'));
      }
      // let signal handlers (Ctrl-C) run between iterations
      await new Promise((r) => setImmediate(r));
      if (o.shouldStop?.()) {
        stopped = true;
        break;
      }
    }
  } finally {
    const done = Math.min(it, iters);
    if (o.adapterPath) {
      saveAdapterFile(model, join(o.adapterPath, 'adapters.safetensors'));
      if (stopped) saveCheckpoint(model, opt, o.adapterPath, done, extra());
    }
    undoCkpt?.();
    if (acc.state.grads) dispose(acc.state.grads as never);
  }
  return { iterations: Math.min(it, iters), trainedTokens, finalTrainLoss: lastLoss, valLosses, stopped };
}

function keepTree<T>(t: T): T {
  for (const [, a] of flatten<NDArray>(t)) keep(a);
  return t;
}
