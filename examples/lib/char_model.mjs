// The character-level decoder-only transformer of examples/char_transformer.mjs: model, training
// loop and temperature sampling, as functions the tests can call with few steps and small sizes.
import * as kn from 'kilnjs';
import { startProgress } from './progress.mjs';
import { makeRng } from './rng.mjs';
import { buildVocab, decode, encode, loadText, sampleBatch, splitTrainValidation, unigramEntropy } from './text.mjs';

const { nn, optim } = kn;

/** Causal self-attention with rotary position embeddings on queries and keys. */
class CausalSelfAttention extends nn.Module {
  constructor(dims, heads) {
    super();
    if (dims % heads !== 0) throw new Error(`[CausalSelfAttention] dims ${dims} not divisible by heads ${heads}`);
    this.heads = heads;
    this.headDims = dims / heads;
    this.queryProj = new nn.Linear(dims, dims, { bias: false });
    this.keyProj = new nn.Linear(dims, dims, { bias: false });
    this.valueProj = new nn.Linear(dims, dims, { bias: false });
    this.outProj = new nn.Linear(dims, dims, { bias: false });
    this.rope = new nn.RoPE(this.headDims);
  }

  forward(x) {
    const [batch, length, dims] = x.shape;
    // [B, L, D] -> [B, H, L, D/H]
    const heads = (t) => t.reshape(batch, length, this.heads, this.headDims).transpose(0, 2, 1, 3);
    const q = this.rope.call(heads(this.queryProj.call(x)));
    const k = this.rope.call(heads(this.keyProj.call(x)));
    const v = heads(this.valueProj.call(x));
    const o = kn.fast.scaledDotProductAttention(q, k, v, { scale: 1 / Math.sqrt(this.headDims), mask: 'causal' });
    return this.outProj.call(o.transpose(0, 2, 1, 3).reshape(batch, length, dims));
  }
}

/** The SwiGLU feed-forward: down(silu(gate(x)) * up(x)). */
class SwiGLU extends nn.Module {
  constructor(dims, hiddenDims) {
    super();
    this.gate = new nn.Linear(dims, hiddenDims, { bias: false });
    this.up = new nn.Linear(dims, hiddenDims, { bias: false });
    this.down = new nn.Linear(hiddenDims, dims, { bias: false });
  }

  forward(x) {
    return this.down.call(nn.silu(this.gate.call(x)).multiply(this.up.call(x)));
  }
}

/** Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x)). */
class Block extends nn.Module {
  constructor(dims, heads, hiddenDims) {
    super();
    this.attentionNorm = new nn.RMSNorm(dims);
    this.attention = new CausalSelfAttention(dims, heads);
    this.mlpNorm = new nn.RMSNorm(dims);
    this.mlp = new SwiGLU(dims, hiddenDims);
  }

  forward(x) {
    const h = x.add(this.attention.call(this.attentionNorm.call(x)));
    return h.add(this.mlp.call(this.mlpNorm.call(h)));
  }
}

/**
 * A small decoder-only transformer over character ids, with the output head tied to the embedding.
 * @example new CharTransformer({vocabSize: 62, dims: 64, heads: 4, layers: 2}).call(kn.zeros([1, 8], 'int32')).shape // [1, 8, 62]
 */
export class CharTransformer extends nn.Module {
  constructor({ vocabSize, dims = 128, heads = 4, layers = 4, hiddenDims = Math.round(((8 / 3) * dims) / 8) * 8 }) {
    super();
    this.embedding = new nn.Embedding(vocabSize, dims);
    this.layers = Array.from({ length: layers }, () => new Block(dims, heads, hiddenDims));
    this.norm = new nn.RMSNorm(dims);
  }

  /** Logits [B, L, vocab] for ids [B, L]. */
  forward(ids) {
    let h = this.embedding.call(ids);
    for (const layer of this.layers) h = layer.call(h);
    return this.embedding.asLinear(this.norm.call(h));
  }
}

/** Mean next-character cross-entropy (nats) over all positions. */
export function languageModelLoss(model, inputs, targets) {
  return nn.losses.crossEntropy(model.call(inputs), targets, { reduction: 'mean' });
}

/**
 * Loads the text, builds the vocabulary and splits 90/10 into train and validation ids.
 * @param {{text?: string}} [options] pass `text` to use another corpus
 * @example prepareText().vocab.size // 62
 */
export function prepareText({ text = loadText() } = {}) {
  const vocab = buildVocab(text);
  const ids = encode(vocab, text);
  const { train, validation } = splitTrainValidation(ids, 0.1);
  return { vocab, train, validation, unigramBaseline: unigramEntropy(train, vocab.size) };
}

function batchArrays(ids, batchSize, seqLen, rng) {
  const { inputs, targets } = sampleBatch(ids, batchSize, seqLen, rng);
  return [kn.array(inputs).reshape(batchSize, seqLen), kn.array(targets).reshape(batchSize, seqLen)];
}

/**
 * Mean loss over `batches` random validation windows (fixed seed, so runs compare).
 * @example evaluateLoss(model, data.validation, {batches: 4}) // e.g. 1.62
 */
export function evaluateLoss(model, ids, { batches = 8, batchSize = 64, seqLen = 64, seed = 1234 } = {}) {
  const rng = makeRng(seed);
  let total = 0;
  for (let i = 0; i < batches; i++) {
    total += kn.tidy(() => languageModelLoss(model, ...batchArrays(ids, batchSize, seqLen, rng)).item());
  }
  return total / batches;
}

/**
 * Samples `length` characters after `prompt`, drawing each from softmax(logits / temperature);
 * the context is cut to the last `contextLength` characters.
 * @example sampleText(model, vocab, 'And God said', {length: 200, temperature: 0.8})
 */
export function sampleText(model, vocab, prompt, { length = 300, temperature = 0.8, contextLength = 64, seed = 0 } = {}) {
  if (!(temperature > 0)) throw new Error(`[sampleText] temperature must be > 0, got ${temperature}`);
  const ids = Array.from(encode(vocab, prompt));
  let key = kn.random.key(seed);
  for (let i = 0; i < length; i++) {
    const [next, nextKey] = kn.tidy(() => {
      const context = ids.slice(-contextLength);
      const logits = model.call(kn.array(Int32Array.from(context)).reshape(1, context.length));
      const last = logits
        .index(0, -1)
        .astype('float32')
        .multiply(1 / temperature);
      const [sub, rest] = kn.unstack(kn.random.split(key));
      return [kn.random.categorical(last, { key: sub }).item(), rest];
    });
    key.dispose();
    key = nextKey;
    ids.push(next);
  }
  key.dispose();
  return decode(vocab, ids);
}

/**
 * Trains the character transformer and reports the loss curve, the baseline, validation loss,
 * speed and the trained model.
 * @param {{steps?: number, seed?: number, batchSize?: number, seqLen?: number, dims?: number, heads?: number,
 *          layers?: number, learningRate?: number, weightDecay?: number, evalBatches?: number,
 *          text?: string, silent?: boolean, onStep?: (step: number, loss: number) => void}} [options]
 * @example const r = trainCharTransformer({steps: 5, dims: 32, layers: 1, seqLen: 16, batchSize: 4, silent: true})
 */
export function trainCharTransformer({
  steps = 800,
  seed = 0,
  batchSize = 64,
  seqLen = 64,
  dims = 128,
  heads = 4,
  layers = 4,
  learningRate = 3e-3,
  weightDecay = 0.01,
  evalBatches = 8,
  text,
  silent = false,
  onStep,
} = {}) {
  kn.random.seed(seed);
  const data = prepareText(text === undefined ? {} : { text });
  const model = new CharTransformer({ vocabSize: data.vocab.size, dims, heads, layers });
  kn.eval(model.parameters());
  const warmup = Math.max(1, Math.round(steps * 0.05));
  const schedule = optim.joinSchedules(
    [optim.linearSchedule(0, learningRate, warmup), optim.cosineDecay(learningRate, Math.max(1, steps - warmup), learningRate * 0.1)],
    [warmup],
  );
  const optimizer = new optim.AdamW(schedule, { weightDecay });
  const lossAndGrad = nn.valueAndGrad(model, languageModelLoss);
  const rng = makeRng(seed);

  /** @type {number[]} */
  const losses = [];
  const bar = startProgress(steps, { label: 'char-transformer', silent });
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    const loss = kn.tidy(() => {
      const [value, grads] = lossAndGrad(model, ...batchArrays(data.train, batchSize, seqLen, rng));
      const [clipped] = optim.clipGradNorm(grads, 1.0);
      optimizer.update(model, clipped);
      kn.eval(value, model.parameters(), optimizer.state);
      return value.item();
    });
    losses.push(loss);
    bar.update(step, { loss: loss.toFixed(4) });
    onStep?.(step, loss);
  }
  const seconds = (performance.now() - started) / 1000;
  bar.stop();
  const validationLoss = evalBatches > 0 ? evaluateLoss(model, data.validation, { batches: evalBatches, batchSize, seqLen, seed: seed + 1 }) : NaN;
  return {
    losses,
    finalLoss: losses.at(-1),
    validationLoss,
    unigramBaseline: data.unigramBaseline,
    stepsPerSecond: steps / seconds,
    tokensPerSecond: (steps * batchSize * seqLen) / seconds,
    seconds,
    parameterCount: kn.tree.flatten(model.parameters()).reduce((n, [, p]) => n + p.size, 0),
    model,
    vocab: data.vocab,
  };
}
