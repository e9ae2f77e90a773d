// The training examples' data loaders: CSV parsing, the stratified split, the char vocabulary,
// the unigram baseline and batch windows. Expected values come from the files' documented contents
// (examples/data/README.md, counted with zcat/awk) or are worked out by hand.
import { describe, expect, it } from 'vitest';
import { loadDigits, parseDigitsCsv, selectRows, splitStratified } from '../../examples/lib/digits.mjs';
import { buildVocab, decode, encode, loadText, sampleBatch, splitTrainValidation, unigramEntropy } from '../../examples/lib/text.mjs';
import { makeRng, shuffleInPlace } from '../../examples/lib/rng.mjs';

const row = (pixels: number[], label: number) => [...pixels, label].join(',');

describe('digits CSV', () => {
  it('parses pixels scaled to [0, 1] and labels', () => {
    const a = Array.from({ length: 64 }, (_, i) => i % 17);
    const b = new Array(64).fill(16);
    const parsed = parseDigitsCsv(`${row(a, 3)}\n${row(b, 9)}\n\n`);
    expect(parsed.count).toBe(2);
    expect(parsed.featureCount).toBe(64);
    expect(Array.from(parsed.labels)).toEqual([3, 9]);
    expect(parsed.features[5]).toBeCloseTo(5 / 16, 7);
    expect(parsed.features[16]).toBeCloseTo(16 / 16, 7);
    expect(parsed.features[64 + 10]).toBe(1);
  });

  it('rejects wrong field counts, non-integers and out-of-range values', () => {
    const ok = new Array(64).fill(0);
    expect(() => parseDigitsCsv(ok.join(',') + '\n')).toThrow(/line 1 has 64 fields, expected 65/);
    expect(() => parseDigitsCsv(row([...ok.slice(1), 17], 0))).toThrow(/field 64 is '17'/);
    expect(() => parseDigitsCsv(row(ok, 10))).toThrow(/field 65 is '10', expected an integer 0..9/);
    expect(() => parseDigitsCsv(row([1.5, ...ok.slice(1)], 0))).toThrow(/field 1 is '1.5'/);
    expect(() => parseDigitsCsv(row(ok, 1).replace(/^0,/, ','))).toThrow(/field 1 is ''/);
  });

  it('loads the committed file: 1797 rows, documented class counts, first row', () => {
    const data = loadDigits();
    expect(data.count).toBe(1797);
    expect(data.features.length).toBe(1797 * 64);
    const counts = new Array(10).fill(0);
    for (const l of data.labels) counts[l]++;
    expect(counts).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // first line of the file: 0,0,5,13,9,1,0,0,... label 0
    expect(Array.from(data.features.subarray(0, 8), (v) => v * 16)).toEqual([0, 0, 5, 13, 9, 1, 0, 0]);
    expect(data.labels[0]).toBe(0);
  });

  it('splits stratified, disjoint, complete and deterministic', () => {
    const { labels } = loadDigits();
    const { train, test } = splitStratified(labels, { testFraction: 0.2, seed: 7 });
    expect(train.length + test.length).toBe(1797);
    const all = new Set([...train, ...test]);
    expect(all.size).toBe(1797);
    for (let c = 0; c < 10; c++) {
      const total = Array.from(labels).filter((l) => l === c).length;
      const inTest = test.filter((i) => labels[i] === c).length;
      expect(inTest).toBe(Math.round(total * 0.2));
    }
    expect(splitStratified(labels, { testFraction: 0.2, seed: 7 })).toEqual({ train, test });
    expect(splitStratified(labels, { testFraction: 0.2, seed: 8 }).test).not.toEqual(test);
    expect(() => splitStratified(labels, { testFraction: 1 })).toThrow(/testFraction/);
  });

  it('selectRows gathers features and labels', () => {
    const a = new Array(64).fill(4);
    const b = new Array(64).fill(8);
    const data = parseDigitsCsv(`${row(a, 1)}\n${row(b, 2)}\n`);
    const picked = selectRows(data, [1, 0, 1]);
    expect(Array.from(picked.labels)).toEqual([2, 1, 2]);
    expect(picked.features[0]).toBe(0.5);
    expect(picked.features[64]).toBe(0.25);
  });
});

describe('character text', () => {
  it('builds a sorted vocabulary and round-trips', () => {
    const vocab = buildVocab('banana!\n');
    expect(vocab.chars).toEqual(['\n', '!', 'a', 'b', 'n']);
    const ids = encode(vocab, 'nab!');
    expect(Array.from(ids)).toEqual([4, 2, 3, 1]);
    expect(decode(vocab, ids)).toBe('nab!');
    expect(() => encode(vocab, 'x')).toThrow(/"x" is not in the vocabulary/);
    expect(() => decode(vocab, [5])).toThrow(/id 5 is outside/);
  });

  it('computes the unigram entropy in nats', () => {
    // counts 2 and 1 of 3: -(2/3 ln 2/3 + 1/3 ln 1/3)
    expect(unigramEntropy([0, 0, 1], 4)).toBeCloseTo(0.6365141682948128, 12);
    expect(unigramEntropy([2, 2, 2], 3)).toBe(0);
  });

  it('loads the committed KJV excerpt', () => {
    const text = loadText();
    expect(text.length).toBe(815101);
    expect(text.startsWith('In the beginning God created the heaven and the earth.\n')).toBe(true);
    expect(text.split('\n').filter((l) => l !== '').length).toBe(5852);
    expect(buildVocab(text).size).toBe(62);
  });

  it('samples windows whose targets are the inputs shifted by one', () => {
    const ids = Int32Array.from({ length: 50 }, (_, i) => i);
    const { inputs, targets } = sampleBatch(ids, 4, 8, makeRng(3));
    expect(inputs.length).toBe(32);
    for (let b = 0; b < 4; b++) {
      const start = inputs[b * 8];
      expect(start).toBeGreaterThanOrEqual(0);
      expect(start).toBeLessThanOrEqual(50 - 9);
      for (let t = 0; t < 8; t++) {
        expect(inputs[b * 8 + t]).toBe(start + t);
        expect(targets[b * 8 + t]).toBe(start + t + 1);
      }
    }
    expect(() => sampleBatch(ids.subarray(0, 8), 1, 8, makeRng(0))).toThrow(/too short/);
  });

  it('splits off a trailing validation part', () => {
    const { train, validation } = splitTrainValidation(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 0.3);
    expect(Array.from(train)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(validation)).toEqual([8, 9, 10]);
  });
});

describe('seeded generator', () => {
  it('is deterministic, in [0, 1), and shuffles to a permutation', () => {
    const a = makeRng(42);
    const b = makeRng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    // roughly uniform: mean of 1000 draws within 4 standard errors of 0.5
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / 1000));
    const p = shuffleInPlace([0, 1, 2, 3, 4, 5, 6, 7], makeRng(1));
    expect([...p].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
