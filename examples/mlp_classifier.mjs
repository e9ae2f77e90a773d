// Trains a small MLP on the 8x8 handwritten digits (examples/data/digits.csv.gz) and reports test
// accuracy. Run after `npm install` (which builds dist/):
//   node examples/mlp_classifier.mjs [--steps 600] [--seed 0] [--batch-size 128] [--hidden 128,64] [--lr 0.003]
import { exampleArgs } from './lib/args.mjs';
import { trainMlpClassifier } from './lib/mlp.mjs';

const usage = `usage: node examples/mlp_classifier.mjs [--steps 600] [--seed 0] [--batch-size 128] [--hidden 128,64] [--lr 0.003]

Trains an MLP on the 8x8 handwritten digits (examples/data/digits.csv.gz) and reports test accuracy.
  --steps N          training steps (default 600)
  --seed N           random seed (default 0)
  --batch-size N     rows per step (default 128)
  --hidden A,B,...   hidden layer widths (default 128,64)
  --lr X             Adam learning rate (default 0.003)
  -h, --help         print this help`;
const { values, int, num } = exampleArgs(usage, {
  steps: { type: 'string', default: '600' },
  seed: { type: 'string', default: '0' },
  'batch-size': { type: 'string', default: '128' },
  hidden: { type: 'string', default: '128,64' },
  lr: { type: 'string', default: '0.003' },
});
const options = {
  steps: int('steps'),
  seed: int('seed'),
  batchSize: int('batch-size'),
  hidden: values.hidden.split(',').filter(Boolean).map(Number),
  learningRate: num('lr'),
};
console.log(`MLP ${[64, ...options.hidden, 10].join('-')} on 8x8 digits: ${options.steps} steps of batch ${options.batchSize}, seed ${options.seed}`);

const r = trainMlpClassifier(options);
console.log(`train/test rows: ${r.trainCount}/${r.testCount}`);
console.log(`final loss ${r.finalLoss.toFixed(4)} (mean of last 20 steps ${mean(r.losses.slice(-20)).toFixed(4)})`);
console.log(`train accuracy ${(100 * r.trainAccuracy).toFixed(2)}%, test accuracy ${(100 * r.testAccuracy).toFixed(2)}%`);
console.log(`${r.stepsPerSecond.toFixed(1)} steps/s (${r.seconds.toFixed(1)} s)`);

function mean(xs) {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
