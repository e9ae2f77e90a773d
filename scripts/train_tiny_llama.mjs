// Trains the small Llama shipped in examples/models/kjv-llama-5m: a byte-level BPE tokenizer
// (scripts/bpe_train.mjs) and a Llama with Hugging Face's parameter names on the King James Bible,
// Genesis to Deuteronomy (examples/data/kjv_pentateuch.txt.gz, public domain), then saves a Hugging
// Face folder (config.json, model.safetensors in bfloat16, tokenizer.json, tokenizer_config.json,
// generation_config.json) that transformers' LlamaForCausalLM loads.
// Run after `npm run build:ts` (it imports dist/), preferably in the background:
//   KILN_NUM_THREADS=2 nohup nice -n 10 node scripts/train_tiny_llama.mjs --minutes 27 > /tmp/train.log 2>&1 &
// Options: --minutes (wall-clock budget of the training loop; the learning-rate schedule follows the
// elapsed fraction of it, so a busy machine gets fewer steps, not a cut-off schedule), --max-steps,
// --out, --work (checkpoints; an interrupted run resumes from there), --dims, --layers, --heads,
// --kv-heads, --hidden, --seq-len, --batch-size, --lr, --vocab-size, --seed, --chat-fraction.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as kn from '../dist/index.js';
import { checkAgainstHf, loadKjv, makeEncoder, writeTokenizer } from './bpe_train.mjs';

const { nn, optim } = kn;
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '27' },
    'max-steps': { type: 'string', default: '100000' },
    out: { type: 'string', default: new URL('../examples/models/kjv-llama-5m', import.meta.url).pathname },
    work: { type: 'string', default: '/tmp/kjv-llama-work' },
    dims: { type: 'string', default: '256' },
    layers: { type: 'string', default: '6' },
    heads: { type: 'string', default: '4' },
    'kv-heads': { type: 'string', default: '2' },
    hidden: { type: 'string', default: '704' },
    'seq-len': { type: 'string', default: '256' },
    'batch-size': { type: 'string', default: '16' },
    lr: { type: 'string', default: '0.002' },
    'vocab-size': { type: 'string', default: '2048' },
    seed: { type: 'string', default: '0' },
    'chat-fraction': { type: 'string', default: '0.1' },
    'eval-every': { type: 'string', default: '50' },
    eager: { type: 'boolean', default: false },
  },
});
const num = (k) => {
  const v = Number(values[k]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`[train_tiny_llama] --${k} must be a non-negative number, got '${values[k]}'`);
  return v;
};
const cfg = {
  dims: num('dims'),
  layers: num('layers'),
  heads: num('heads'),
  kvHeads: num('kv-heads'),
  hidden: num('hidden'),
  seqLen: num('seq-len'),
  batch: num('batch-size'),
  lr: num('lr'),
  vocabSize: num('vocab-size'),
  seed: num('seed'),
  chatFraction: num('chat-fraction'),
  minutes: num('minutes'),
  maxSteps: num('max-steps'),
  evalEvery: num('eval-every'),
};
const ROPE_THETA = 10000,
  RMS_EPS = 1e-5,
  MAX_POSITIONS = 512;
const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);

// ---------------------------------------------------------------------------------------------
// The model: field names are Hugging Face's, so flatten(parameters()) gives the safetensors keys.

class LlamaAttention extends nn.Module {
  constructor(c) {
    super();
    this.nHeads = c.heads;
    this.nKv = c.kvHeads;
    this.headDim = c.dims / c.heads;
    this.q_proj = new nn.Linear(c.dims, c.heads * this.headDim, { bias: false });
    this.k_proj = new nn.Linear(c.dims, c.kvHeads * this.headDim, { bias: false });
    this.v_proj = new nn.Linear(c.dims, c.kvHeads * this.headDim, { bias: false });
    this.o_proj = new nn.Linear(c.heads * this.headDim, c.dims, { bias: false });
  }
  forward(x) {
    const [B, L] = x.shape;
    const split = (t, h) => t.reshape(B, L, h, this.headDim).transpose(0, 2, 1, 3);
    // HF Llama's rotate_half is the split-halves (non-traditional) rotation
    const q = kn.fast.rope(split(this.q_proj.call(x), this.nHeads), this.headDim, { base: ROPE_THETA });
    const k = kn.fast.rope(split(this.k_proj.call(x), this.nKv), this.headDim, { base: ROPE_THETA });
    const v = split(this.v_proj.call(x), this.nKv);
    const o = kn.fast.scaledDotProductAttention(q, k, v, { scale: 1 / Math.sqrt(this.headDim), mask: 'causal' });
    return this.o_proj.call(o.transpose(0, 2, 1, 3).reshape(B, L, this.nHeads * this.headDim));
  }
}

class LlamaMLP extends nn.Module {
  constructor(c) {
    super();
    this.gate_proj = new nn.Linear(c.dims, c.hidden, { bias: false });
    this.up_proj = new nn.Linear(c.dims, c.hidden, { bias: false });
    this.down_proj = new nn.Linear(c.hidden, c.dims, { bias: false });
  }
  forward(x) {
    return this.down_proj.call(nn.silu(this.gate_proj.call(x)).multiply(this.up_proj.call(x)));
  }
}

class LlamaDecoderLayer extends nn.Module {
  constructor(c) {
    super();
    this.self_attn = new LlamaAttention(c);
    this.mlp = new LlamaMLP(c);
    this.input_layernorm = new nn.RMSNorm(c.dims, { eps: RMS_EPS });
    this.post_attention_layernorm = new nn.RMSNorm(c.dims, { eps: RMS_EPS });
  }
  forward(x) {
    const h = x.add(this.self_attn.call(this.input_layernorm.call(x)));
    return h.add(this.mlp.call(this.post_attention_layernorm.call(h)));
  }
}

class LlamaModel extends nn.Module {
  constructor(c) {
    super();
    this.embed_tokens = new nn.Embedding(c.vocabSize, c.dims);
    this.layers = Array.from({ length: c.layers }, () => new LlamaDecoderLayer(c));
    this.norm = new nn.RMSNorm(c.dims, { eps: RMS_EPS });
  }
  forward(ids) {
    let h = this.embed_tokens.call(ids);
    for (const layer of this.layers) h = layer.call(h);
    return this.norm.call(h);
  }
}

/** LlamaForCausalLM with the output head tied to the embedding (tie_word_embeddings). */
class LlamaForCausalLM extends nn.Module {
  constructor(c) {
    super();
    this.model = new LlamaModel(c);
  }
  forward(ids) {
    return this.model.embed_tokens.asLinear(this.model.call(ids));
  }
}

// ---------------------------------------------------------------------------------------------
// Data: BPE ids of the corpus; rows start at a verse after a BOS (as HF's tokenizer(text) does), and
// a fraction are chat transcripts (user: a verse, assistant: the next one) in the chat template's form.

function makeData(text, bpe) {
  const enc = makeEncoder(bpe);
  const ids = Int32Array.from(enc.encode(text));
  const nl = enc.encode('\n');
  if (nl.length !== 1) throw new Error('[train_tiny_llama] newline must be one token');
  const starts = [0];
  for (let i = 0; i < ids.length; i++) if (ids[i] === nl[0] && i + 1 < ids.length) starts.push(i + 1);
  const cut = starts[Math.round(starts.length * 0.9)]; // the last 10% of verses validate
  const tok = (s) => bpe.vocab.get(s);
  return {
    ids,
    nl: nl[0],
    cut,
    trainStarts: starts.filter((s) => s < cut),
    valStarts: starts.filter((s) => s >= cut),
    bos: tok('<|begin_of_text|>'),
    user: tok('<|user|>'),
    assistant: tok('<|assistant|>'),
    end: tok('<|end|>'),
  };
}

/** One row of seqLen + 1 ids starting at verse `v` of `starts`, within [lo, hi). */
function row(d, starts, v, len, chat, hi) {
  const out = [d.bos];
  if (!chat) {
    for (let i = starts[v]; out.length < len && i < hi; i++) out.push(d.ids[i]);
  } else {
    // <|user|>\n verse <|end|>\n <|assistant|>\n next verse <|end|>\n ... (what the template renders)
    let turn = 0;
    while (out.length < len && v + 1 < starts.length) {
      out.push(turn % 2 === 0 ? d.user : d.assistant, d.nl);
      for (let i = starts[v]; i < hi && d.ids[i] !== d.nl; i++) out.push(d.ids[i]);
      out.push(d.end, d.nl);
      v++;
      turn++;
    }
  }
  while (out.length < len) out.push(d.end); // only at the very end of a split
  return out.slice(0, len);
}

function batch(d, starts, hi, rng, B, L, chatFraction) {
  const x = new Int32Array(B * L),
    y = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const r = row(d, starts, Math.floor(rng() * (starts.length - 2)), L + 1, rng() < chatFraction, hi);
    for (let t = 0; t < L; t++) {
      x[b * L + t] = r[t];
      y[b * L + t] = r[t + 1];
    }
  }
  return [kn.array(x).reshape(B, L), kn.array(y).reshape(B, L)];
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const lossFn = (m, x, y) => nn.losses.crossEntropy(m.call(x), y, { reduction: 'mean' });

/** Mean loss (nats/token) over fixed windows of a split (plain text rows only). */
function evaluate(model, d, starts, hi, windows = 16) {
  const rng = mulberry32(1234);
  let total = 0;
  for (let i = 0; i < windows; i++) {
    total += kn.tidy(() => lossFn(model, ...batch(d, starts, hi, rng, 16, cfg.seqLen, 0)).item());
  }
  return total / windows;
}

// ---------------------------------------------------------------------------------------------
// Saving: the Hugging Face folder.

function hfConfig(d) {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: d.bos,
    eos_token_id: [d.eosText, d.end],
    pad_token_id: d.eosText,
    head_dim: cfg.dims / cfg.heads,
    hidden_act: 'silu',
    hidden_size: cfg.dims,
    initializer_range: 0.02,
    intermediate_size: cfg.hidden,
    max_position_embeddings: MAX_POSITIONS,
    mlp_bias: false,
    num_attention_heads: cfg.heads,
    num_hidden_layers: cfg.layers,
    num_key_value_heads: cfg.kvHeads,
    pretraining_tp: 1,
    rms_norm_eps: RMS_EPS,
    rope_scaling: null,
    rope_theta: ROPE_THETA,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: cfg.vocabSize,
  };
}

function saveHfFolder(dir, model, d, meta) {
  mkdirSync(dir, { recursive: true });
  const tensors = Object.fromEntries(kn.tree.flatten(model.parameters()).map(([k, v]) => [k, v.astype('bfloat16')]));
  kn.saveSafetensors(`${dir}/model.safetensors`, tensors, { format: 'pt' });
  writeFileSync(`${dir}/config.json`, JSON.stringify(hfConfig(d), null, 2) + '\n');
  writeFileSync(
    `${dir}/generation_config.json`,
    JSON.stringify(
      {
        bos_token_id: d.bos,
        eos_token_id: [d.eosText, d.end],
        pad_token_id: d.eosText,
        do_sample: true,
        temperature: 0.8,
        top_p: 0.95,
        max_new_tokens: 200,
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(`${dir}/training.json`, JSON.stringify(meta, null, 2) + '\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  mkdirSync(values.work, { recursive: true });
  const text = loadKjv();
  const bpe = writeTokenizer(values.out, text, { vocabSize: cfg.vocabSize, modelMaxLength: MAX_POSITIONS });
  const check = await checkAgainstHf(values.out, bpe, text);
  log(
    `tokenizer: vocab ${bpe.vocab.size}, ${check.corpusTokens} tokens (${check.charsPerToken.toFixed(2)} chars/token), ids equal @huggingface/tokenizers on ${check.lines} lines`,
  );
  const d = makeData(text, bpe);
  d.eosText = bpe.vocab.get('<|end_of_text|>');
  log(`train ${d.cut} tokens (${d.trainStarts.length} verses), validation ${d.ids.length - d.cut} tokens (${d.valStarts.length} verses)`);

  kn.random.seed(cfg.seed);
  const model = new LlamaForCausalLM(cfg);
  // small embedding (it is also the output head), the other weights keep nn.Linear's uniform init
  model.model.embed_tokens.weight = kn.random.normal([cfg.vocabSize, cfg.dims]).multiply(1 / Math.sqrt(cfg.dims));
  const nParams = kn.tree.flatten(model.parameters()).reduce((n, [, p]) => n + p.size, 0);
  const optimizer = new optim.AdamW(cfg.lr, { weightDecay: 0.1, betas: [0.9, 0.95] });
  optimizer.init(model.trainableParameters());
  kn.eval(model.parameters(), optimizer.state);
  log(`model: ${nParams} parameters, ${JSON.stringify(cfg)}`);

  // resume from a checkpoint when one is there
  const ckpt = `${values.work}/ckpt`;
  let state = { step: 0, seconds: 0, best: Infinity, history: [] };
  if (existsSync(`${ckpt}.json`)) {
    state = JSON.parse(readFileSync(`${ckpt}.json`, 'utf8'));
    if (state.best === null) state.best = Infinity;
    model.loadWeights(`${ckpt}.model.safetensors`);
    optimizer.loadState(`${ckpt}.opt.safetensors`);
    kn.eval(model.parameters(), optimizer.state);
    log(`resumed at step ${state.step} (${state.seconds.toFixed(0)} s trained)`);
  }
  const saveCkpt = () => {
    model.saveWeights(`${ckpt}.model.tmp.safetensors`);
    optimizer.saveState(`${ckpt}.opt.tmp.safetensors`);
    renameSync(`${ckpt}.model.tmp.safetensors`, `${ckpt}.model.safetensors`);
    renameSync(`${ckpt}.opt.tmp.safetensors`, `${ckpt}.opt.safetensors`);
    writeFileSync(`${ckpt}.json`, JSON.stringify(state));
  };

  const lossAndGrad = nn.valueAndGrad(model, lossFn);
  const plain = (x, y) => {
    const [loss, grads] = lossAndGrad(model, x, y);
    const [clipped, norm] = optim.clipGradNorm(grads, 1.0);
    optimizer.update(model, clipped);
    return [loss, norm];
  };
  const step = !values.eager ? kn.compile(plain, { inputs: [model, optimizer], outputs: [model, optimizer] }) : plain;
  const budget = cfg.minutes * 60;
  const warmup = 0.04; // fraction of the budget
  const lrAt = (f) =>
    f < warmup ? cfg.lr * Math.max(f / warmup, 0.02) : cfg.lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, (f - warmup) / (1 - warmup)))));
  const rng = mulberry32(cfg.seed * 7919 + state.step);
  let t0 = performance.now() - state.seconds * 1000,
    lossAvg = null;
  while (state.step < cfg.maxSteps) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= budget) break;
    optimizer.learningRate = kn.array(lrAt(elapsed / budget), 'float32');
    const [loss, norm] = kn.tidy(() => {
      const [xb, yb] = batch(d, d.trainStarts, d.cut, rng, cfg.batch, cfg.seqLen, cfg.chatFraction);
      const [l, n] = step(xb, yb);
      kn.eval(l, n, model.parameters(), optimizer.state);
      return [l.item(), n.item()];
    });
    state.step++;
    state.seconds = (performance.now() - t0) / 1000;
    lossAvg = lossAvg === null ? loss : 0.95 * lossAvg + 0.05 * loss;
    if (state.step % 10 === 0) {
      const tps = (state.step * cfg.batch * cfg.seqLen) / state.seconds;
      log(
        `step ${state.step} loss ${loss.toFixed(4)} (avg ${lossAvg.toFixed(4)}) |g| ${norm.toFixed(2)} lr ${optimizer.learningRate.item().toExponential(2)} ${tps.toFixed(0)} tok/s ${state.seconds.toFixed(0)} s`,
      );
    }
    if (state.step % cfg.evalEvery === 0) {
      const val = evaluate(model, d, d.valStarts, d.ids.length, 8);
      state.history.push({ step: state.step, seconds: Math.round(state.seconds), trainAvg: lossAvg, val });
      log(`eval step ${state.step}: validation ${val.toFixed(4)} nats/token`);
      saveCkpt();
      if (val < state.best) {
        state.best = val;
        model.saveWeights(`${values.work}/best.safetensors`);
        writeFileSync(`${values.work}/best.json`, JSON.stringify({ step: state.step, val }));
      }
    }
  }
  saveCkpt();
  const finalVal = evaluate(model, d, d.valStarts, d.ids.length, 16);
  let chosen = { step: state.step, val: finalVal };
  if (existsSync(`${values.work}/best.json`)) {
    const best = JSON.parse(readFileSync(`${values.work}/best.json`, 'utf8'));
    if (best.val < finalVal - 0.01) {
      model.loadWeights(`${values.work}/best.safetensors`);
      chosen = { step: best.step, val: evaluate(model, d, d.valStarts, d.ids.length, 16) };
    }
  }
  const trainLoss = evaluate(model, d, d.trainStarts, d.cut, 16);
  log(
    `done: ${state.step} steps in ${state.seconds.toFixed(0)} s; exported step ${chosen.step}: train ${trainLoss.toFixed(4)}, validation ${chosen.val.toFixed(4)} nats/token`,
  );
  saveHfFolder(values.out, model, d, {
    script: 'scripts/train_tiny_llama.mjs',
    corpus: 'examples/data/kjv_pentateuch.txt.gz',
    parameters: nParams,
    config: cfg,
    steps: state.step,
    trainSeconds: Math.round(state.seconds),
    exportedStep: chosen.step,
    trainLoss,
    validationLoss: chosen.val,
    tokensSeen: state.step * cfg.batch * cfg.seqLen,
    corpusTokens: d.ids.length,
    trainTokens: d.cut,
    history: state.history,
  });
  log(`saved ${values.out}`);
}

await main();
