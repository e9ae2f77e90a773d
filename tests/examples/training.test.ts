// Short runs of the two training examples (few steps, small sizes): the loss must fall, and the
// models must behave as their structure says (shapes, causality, sampling within the vocabulary).
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { MLP, trainMlpClassifier } from '../../examples/lib/mlp.mjs';
import { CharTransformer, sampleText, trainCharTransformer } from '../../examples/lib/char_model.mjs';

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('MLP digits classifier', () => {
  it('maps [n, 64] pixels to [n, 10] logits', () => {
    const model = new MLP(64, [16], 10);
    const logits = kn.tidy(() => model.call(kn.zeros([3, 64])));
    expect(logits.shape).toEqual([3, 10]);
    logits.dispose();
  });

  it('a short run lowers the loss and beats chance on held-out digits', () => {
    const active: number[] = [];
    const r = trainMlpClassifier({
      steps: 40,
      hidden: [32],
      batchSize: 64,
      learningRate: 1e-2,
      silent: true,
      onStep: () => active.push(kn.memory.active()),
    });
    expect(r.losses).toHaveLength(40);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    // starts near ln(10) for untrained logits, must end clearly lower
    expect(mean(r.losses.slice(0, 3))).toBeGreaterThan(1.8);
    expect(mean(r.losses.slice(-5))).toBeLessThan(0.6 * mean(r.losses.slice(0, 3)));
    expect(r.trainCount + r.testCount).toBe(1797);
    expect(r.testAccuracy).toBeGreaterThan(0.5); // chance is 0.1
    // each step's tidy frees its batch, graph and gradients; the optimizer frees replaced parameters
    expect(active.at(-1)).toBe(active[4]);
  });
});

describe('character transformer', () => {
  const tiny = { dims: 32, heads: 2, layers: 1 };

  it('gives [B, L, vocab] logits and the logits at position t ignore later characters', () => {
    kn.random.seed(3);
    const model = new CharTransformer({ vocabSize: 11, ...tiny });
    const a = kn.array(Int32Array.from([1, 2, 3, 4, 5, 6])).reshape(1, 6);
    const b = kn.array(Int32Array.from([1, 2, 3, 9, 9, 9])).reshape(1, 6);
    const [la, lb] = kn.tidy(() => [model.call(a), model.call(b)]);
    expect(la.shape).toEqual([1, 6, 11]);
    const first = (l: kn.NDArray) => l.index(0, '0:3').tolist() as number[][];
    const later = (l: kn.NDArray) => l.index(0, '3:').tolist() as number[][];
    const fa = first(la).flat(),
      fb = first(lb).flat();
    fa.forEach((v, i) => expect(v).toBeCloseTo(fb[i], 5));
    expect(later(la).flat()).not.toEqual(later(lb).flat());
    kn.dispose([a, b, la, lb]);
  });

  it('a short run lowers the loss towards the unigram baseline and samples from the vocabulary', () => {
    const active: number[] = [];
    const r = trainCharTransformer({
      steps: 30,
      batchSize: 8,
      seqLen: 32,
      learningRate: 1e-2,
      evalBatches: 1,
      silent: true,
      ...tiny,
      onStep: () => active.push(kn.memory.active()),
    });
    expect(active.at(-1)).toBe(active[4]);
    expect(r.losses).toHaveLength(30);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    // untrained: about ln(62) = 4.13 nats; after 30 steps it must have dropped by a clear margin
    expect(mean(r.losses.slice(0, 3))).toBeGreaterThan(3.6);
    expect(mean(r.losses.slice(-5))).toBeLessThan(mean(r.losses.slice(0, 3)) - 0.5);
    expect(r.unigramBaseline).toBeCloseTo(3.0, 1); // 3.0066 nats over the whole excerpt (python Counter)
    expect(Number.isFinite(r.validationLoss)).toBe(true);

    const text = sampleText(r.model, r.vocab, 'And', { length: 20, temperature: 1, contextLength: 32 });
    expect(text.startsWith('And')).toBe(true);
    expect(Array.from(text)).toHaveLength(23);
    for (const c of text) expect(r.vocab.chars).toContain(c);
  });
});
