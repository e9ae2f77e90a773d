// Samplers and logits processors on crafted logits: every expected value is computed by hand in
// the comments; draws are checked for seeded reproducibility and for never leaving the kept set.
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';
import { makeSampler, makeLogitsProcessors, applyTopP, applyTopK, applyMinP } from '../../models/sample.js';

const logOf = (p: number[][]) => kn.log(kn.array(p));
/** Which entries survived a filter (finite) in each row. */
const kept = (x: kn.Array) => (x.tolist() as number[][]).map((r) => r.map((v) => Number.isFinite(v)));
const close = (a: number[][], b: number[][]) => a.forEach((r, i) => r.forEach((v, j) => expect(v).toBeCloseTo(b[i][j], 5)));

// probabilities in a shuffled order: 0.5 at 1, 0.3 at 3, 0.15 at 0, 0.05 at 2
const P = [[0.15, 0.5, 0.05, 0.3]];

describe('filters', () => {
  it('topP keeps the smallest most-likely set whose mass reaches p', () => {
    // sorted: 0.5, 0.3, 0.15, 0.05; mass strictly above each: 0, 0.5, 0.8, 0.95
    expect(kept(applyTopP(logOf(P), 0.4))).toEqual([[false, true, false, false]]);
    expect(kept(applyTopP(logOf(P), 0.6))).toEqual([[false, true, false, true]]);
    expect(kept(applyTopP(logOf(P), 0.9))).toEqual([[true, true, false, true]]);
    expect(kept(applyTopP(logOf(P), 1))).toEqual([[true, true, true, true]]);
  });
  it('topP keeps the kept values unchanged', () => {
    const out = applyTopP(logOf(P), 0.6).tolist() as number[][];
    expect(out[0][1]).toBeCloseTo(Math.log(0.5), 6);
    expect(out[0][3]).toBeCloseTo(Math.log(0.3), 6);
    expect(out[0][0]).toBe(-Infinity);
  });
  it('topK keeps the k largest', () => {
    expect(kept(applyTopK(logOf(P), 1))).toEqual([[false, true, false, false]]);
    expect(kept(applyTopK(logOf(P), 2))).toEqual([[false, true, false, true]]);
    expect(kept(applyTopK(logOf(P), 4))).toEqual([[true, true, true, true]]);
  });
  it('minP keeps p >= minP * top and at least minTokensToKeep', () => {
    // top 0.5: minP 0.5 -> cut 0.25 keeps 0.5 and 0.3; minP 0.25 -> cut 0.125 adds 0.15
    expect(kept(applyMinP(logOf(P), 0.5))).toEqual([[false, true, false, true]]);
    expect(kept(applyMinP(logOf(P), 0.25))).toEqual([[true, true, false, true]]);
    expect(kept(applyMinP(logOf(P), 0.9, 3))).toEqual([[true, true, false, true]]);
  });
  it('filters work row by row', () => {
    const x = logOf([
      [0.7, 0.2, 0.1],
      [0.1, 0.2, 0.7],
    ]);
    expect(kept(applyTopK(x, 1))).toEqual([
      [true, false, false],
      [false, false, true],
    ]);
    expect(kept(applyTopP(x, 0.8))).toEqual([
      [true, true, false],
      [false, true, true],
    ]);
  });
});

describe('makeSampler', () => {
  it('temp 0 is the argmax of each row', () => {
    const s = makeSampler({ temp: 0 });
    const y = s(
      kn.array([
        [1, 5, 2],
        [3, 0, -1],
      ]),
    );
    expect(y.dtype).toBe('int32');
    expect(y.tolist()).toEqual([1, 0]);
    expect(makeSampler()(kn.array([[0, 0, 9]])).tolist()).toEqual([2]);
  });
  it('seeded sampling is reproducible and seeds differ', () => {
    const draw = (seed: number) => {
      const s = makeSampler({ temp: 1, seed });
      const x = logOf([[0.25, 0.25, 0.25, 0.25]]);
      return Array.from({ length: 40 }, () => s(x).item());
    };
    const a = draw(7),
      b = draw(7),
      c = draw(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a).size).toBeGreaterThan(1); // the key advances between draws
  });
  it('a key option works like a seed', () => {
    const x = logOf([[0.25, 0.25, 0.25, 0.25]]);
    const s1 = makeSampler({ temp: 1, key: kn.random.key(3) }),
      s2 = makeSampler({ temp: 1, key: kn.random.key(3) });
    const a = Array.from({ length: 10 }, () => s1(x).item()),
      b = Array.from({ length: 10 }, () => s2(x).item());
    expect(a).toEqual(b);
  });
  it('more than one block of keys (256) stays reproducible', () => {
    const x = logOf([[0.5, 0.5]]);
    const s1 = makeSampler({ temp: 1, seed: 1 }),
      s2 = makeSampler({ temp: 1, seed: 1 });
    const rows = kn.broadcastTo(x, [1, 2]);
    const a: number[] = [],
      b: number[] = [];
    for (let i = 0; i < 300; i++) (a.push(s1(rows).item() as number), b.push(s2(rows).item() as number));
    expect(a).toEqual(b);
    expect(a.slice(0, 256)).not.toEqual(a.slice(44, 300)); // the second block is new keys
  });
  it('draws follow the filtered distribution', () => {
    // topK 2 leaves 0.5 and 0.3: renormalised 0.625 / 0.375; 4000 rows drawn at once
    const s = makeSampler({ temp: 1, topK: 2, seed: 11 });
    const x = kn.broadcastTo(logOf(P), [4000, 4]);
    const y = s(x).tolist() as number[];
    const count = (t: number) => y.filter((v) => v === t).length;
    expect(count(0) + count(2)).toBe(0);
    expect(count(1) / 4000).toBeGreaterThan(0.625 - 0.04); // ~5 standard errors (0.0077)
    expect(count(1) / 4000).toBeLessThan(0.625 + 0.04);
  });
  it('temperature sharpens: temp 0.05 on 0.6/0.4 almost always picks the larger', () => {
    // ratio of probabilities (0.6/0.4)^(1/0.05) = 1.5^20 ~ 3325
    const s = makeSampler({ temp: 0.05, seed: 2 });
    const y = s(kn.broadcastTo(logOf([[0.4, 0.6]]), [1000, 2])).tolist() as number[];
    expect(y.filter((v) => v === 0).length).toBeLessThan(5);
  });
  it('rejects invalid values with the option name and value', () => {
    expect(() => makeSampler({ topP: 1.5 })).toThrow('[makeSampler] topP must be in (0, 1], got 1.5');
    expect(() => makeSampler({ topP: 0 })).toThrow('topP must be in (0, 1], got 0');
    expect(() => makeSampler({ temp: -1 })).toThrow('[makeSampler] temp must be a finite number >= 0, got -1');
    expect(() => makeSampler({ temp: NaN })).toThrow('temp must be a finite number >= 0, got NaN');
    expect(() => makeSampler({ topK: 2.5 })).toThrow('topK must be an integer >= 0, got 2.5');
    expect(() => makeSampler({ minP: 2 })).toThrow('minP must be in [0, 1], got 2');
    expect(() => makeSampler({ minTokensToKeep: 0 })).toThrow('minTokensToKeep must be an integer >= 1, got 0');
    expect(() => makeSampler({ seed: 0.5 })).toThrow('seed must be a safe integer, got 0.5');
    expect(() => makeSampler({ temp: '1' as unknown as number })).toThrow('temp must be a finite number >= 0, got "1"');
  });
});

describe('makeLogitsProcessors', () => {
  const run = (opts: Parameters<typeof makeLogitsProcessors>[0], tokens: number[][], logits: number[][]) => {
    let x = kn.array(logits, 'float32');
    for (const p of makeLogitsProcessors(opts)) x = p(kn.array(tokens, 'int32'), x);
    return x.tolist() as number[][];
  };
  it('no options, no processors', () => {
    expect(makeLogitsProcessors({})).toEqual([]);
    expect(makeLogitsProcessors({ repetitionPenalty: 1, presencePenalty: 0 })).toEqual([]);
  });
  it('repetition penalty divides positive and multiplies negative logits of seen tokens', () => {
    // seen {0, 1}: 2 / 2 = 1, -1 * 2 = -2; tokens 2 and 3 untouched (a repeated id counts once)
    close(run({ repetitionPenalty: 2 }, [[0, 1, 1]], [[2, -1, 3, 0.5]]), [[1, -2, 3, 0.5]]);
  });
  it('repetition context size limits the window to the last tokens', () => {
    // only the last token (2) is in a window of 1: 3 / 1.5 = 2
    close(run({ repetitionPenalty: 1.5, repetitionContextSize: 1 }, [[0, 1, 2]], [[2, -1, 3, 0.5]]), [[2, -1, 2, 0.5]]);
  });
  it('presence and frequency penalties subtract per seen token and per occurrence', () => {
    // token 1 twice: 0.5 + 2 * 0.25 = 1; token 3 once: 0.5 + 0.25 = 0.75
    close(run({ presencePenalty: 0.5, frequencyPenalty: 0.25 }, [[1, 1, 3]], [[0, 0, 0, 0]]), [[0, -1, 0, -0.75]]);
    close(run({ frequencyPenalty: 1 }, [[2, 2, 2]], [[1, 1, 1, 1]]), [[1, 1, -2, 1]]);
    close(run({ presencePenalty: -1 }, [[0]], [[1, 1]]), [[2, 1]]);
  });
  it('logit bias adds to the given ids (object or Map)', () => {
    close(run({ logitBias: { 2: 10, 0: -5 } }, [[]], [[1, 1, 1, 1]]), [[-4, 1, 11, 1]]);
    close(run({ logitBias: new Map([[3, 0.5]]) }, [[]], [[1, 1, 1, 1]]), [[1, 1, 1, 1.5]]);
  });
  it('processors compose and work per row', () => {
    // row 0 saw token 0, row 1 saw token 1; bias +1 on token 1 first, then penalty 2
    const out = run(
      { logitBias: { 1: 1 }, repetitionPenalty: 2 },
      [[0], [1]],
      [
        [4, 1, 0],
        [4, 1, 0],
      ],
    );
    close(out, [
      [2, 2, 0],
      [4, 1, 0],
    ]);
  });
  it('an empty history leaves the logits as they are', () => {
    close(run({ repetitionPenalty: 3, frequencyPenalty: 1 }, [[]], [[1, -1]]), [[1, -1]]);
  });
  it('rejects invalid values', () => {
    expect(() => makeLogitsProcessors({ repetitionPenalty: 0 })).toThrow('[makeLogitsProcessors] repetitionPenalty must be a finite number > 0, got 0');
    expect(() => makeLogitsProcessors({ repetitionContextSize: 0 })).toThrow('repetitionContextSize must be an integer >= 1, got 0');
    expect(() => makeLogitsProcessors({ presencePenalty: Infinity })).toThrow('presencePenalty must be a finite number, got Infinity');
    expect(() => makeLogitsProcessors({ logitBias: { '-1': 2 } })).toThrow('logitBias keys must be token ids (integers >= 0), got -1');
    expect(() => makeLogitsProcessors({ logitBias: { 3: NaN } })).toThrow('logitBias[3] must be a finite number, got NaN');
    const [bias] = makeLogitsProcessors({ logitBias: { 9: 1 } });
    expect(() => bias(kn.array([[0]], 'int32'), kn.zeros([1, 4]))).toThrow('logitBias token id 9 is outside the vocabulary of 4 tokens');
  });
});
