// Trains a small decoder-only transformer (RMSNorm, RoPE, causal attention, SwiGLU, tied head) on
// the characters of the King James Bible, Genesis to Deuteronomy (examples/data/kjv_pentateuch.txt.gz),
// then samples from it. Run after `npm install` (which builds dist/):
//   node examples/char_transformer.mjs [--steps 800] [--seed 0] [--batch-size 64] [--seq-len 64]
//        [--dims 128] [--layers 4] [--heads 4] [--lr 0.003] [--temperature 0.8] [--sample-length 300]
import { parseArgs } from 'node:util';
import { prepareText, sampleText, trainCharTransformer } from './lib/char_model.mjs';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '800' },
    seed: { type: 'string', default: '0' },
    'batch-size': { type: 'string', default: '64' },
    'seq-len': { type: 'string', default: '64' },
    dims: { type: 'string', default: '128' },
    layers: { type: 'string', default: '4' },
    heads: { type: 'string', default: '4' },
    lr: { type: 'string', default: '0.003' },
    temperature: { type: 'string', default: '0.8' },
    'sample-length': { type: 'string', default: '300' },
    prompt: { type: 'string', default: 'And God said' },
  },
});
const int = (name) => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer, got '${values[name]}'`);
  return v;
};
const options = {
  steps: int('steps'),
  seed: int('seed'),
  batchSize: int('batch-size'),
  seqLen: int('seq-len'),
  dims: int('dims'),
  layers: int('layers'),
  heads: int('heads'),
  learningRate: Number(values.lr),
};

const data = prepareText();
console.log(`text: ${data.train.length + data.validation.length} characters, vocabulary ${data.vocab.size}`);
console.log(`unigram baseline (entropy of the character frequencies): ${data.unigramBaseline.toFixed(4)} nats/char`);
console.log(`uniform baseline ln(${data.vocab.size}): ${Math.log(data.vocab.size).toFixed(4)} nats/char`);

const r = trainCharTransformer(options);
console.log(`parameters: ${r.parameterCount}`);
console.log(
  `final training loss ${r.finalLoss.toFixed(4)} (mean of last 20 steps ${mean(r.losses.slice(-20)).toFixed(4)}), ` +
    `validation loss ${r.validationLoss.toFixed(4)} nats/char vs unigram ${r.unigramBaseline.toFixed(4)}`,
);
console.log(`${r.stepsPerSecond.toFixed(2)} steps/s, ${Math.round(r.tokensPerSecond)} tokens/s (${r.seconds.toFixed(1)} s)`);

const temperature = Number(values.temperature);
console.log(`\nsample (temperature ${temperature}):\n`);
console.log(
  sampleText(r.model, r.vocab, values.prompt, {
    length: int('sample-length'),
    temperature,
    contextLength: options.seqLen,
    seed: options.seed,
  }),
);

function mean(xs) {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
