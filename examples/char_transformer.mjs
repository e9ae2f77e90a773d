// Trains a small decoder-only transformer (RMSNorm, RoPE, causal attention, SwiGLU, tied head) on
// the characters of the King James Bible, Genesis to Deuteronomy (examples/data/kjv_pentateuch.txt.gz),
// then samples from it. Run after `npm install` (which builds dist/):
//   node examples/char_transformer.mjs [--steps 800] [--seed 0] [--batch-size 64] [--seq-len 64]
//        [--dims 128] [--layers 4] [--heads 4] [--lr 0.003] [--temperature 0.8] [--sample-length 300]
import { exampleArgs } from './lib/args.mjs';
import { prepareText, sampleText, trainCharTransformer } from './lib/char_model.mjs';

const usage = `usage: node examples/char_transformer.mjs [--steps 800] [--seed 0] [--batch-size 64] [--seq-len 64] [--dims 128] [--layers 4] [--heads 4] [--lr 0.003] [--temperature 0.8] [--sample-length 300] [--prompt 'And God said']

Trains a small character-level transformer on Genesis to Deuteronomy (examples/data/kjv_pentateuch.txt.gz), then samples from it.
  --steps N, --seed N, --batch-size N, --seq-len N, --dims N, --layers N, --heads N   training setup
  --lr X               Adam learning rate (default 0.003)
  --temperature X      sampling temperature (default 0.8)
  --sample-length N    characters to sample (default 300)
  --prompt TEXT        the text sampling starts from (default 'And God said')
  -h, --help           print this help`;
const { values, int, num } = exampleArgs(usage, {
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
});
const options = {
  steps: int('steps'),
  seed: int('seed'),
  batchSize: int('batch-size'),
  seqLen: int('seq-len'),
  dims: int('dims'),
  layers: int('layers'),
  heads: int('heads'),
  learningRate: num('lr'),
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

const temperature = num('temperature');
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
