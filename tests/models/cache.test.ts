// KV caches: contents against plain concatenation, growth in steps, in-place row writes (memory),
// rotating windows with kept tokens against full attention under the same visibility, trim,
// prompt-cache files, and errors.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { CACHE_STEP, KVCache, RotatingKVCache, loadPromptCache, makeCache, savePromptCache, trimCache, canTrimCache } from '../../models/cache.js';
import { createModel } from '../../models/registry.js';
import type { KVCacheLike, LanguageModel } from '../../models/types.js';
import { CONFIGS, randomize, randomTokens, referenceForward, relErr, tok, type Visible } from './tiny.js';

/** [B, H, L, D] keys whose every element is its absolute position (so contents are readable). */
const rows = (start: number, L: number, B = 1, H = 2, D = 3) => kn.broadcastTo(kn.arange(start, start + L, 'float32').reshape([1, 1, L, 1]), [B, H, L, D]);

/** The positions a fetched [1, H, S, D] key array holds, read from head 0, feature 0. */
const held = (k: kn.NDArray) => k.index(0, 0, kn.sliceOf(), 0).tolist() as number[];

function tiny(name = 'llama'): LanguageModel & kn.nn.Module {
  const m = createModel(CONFIGS[name]) as LanguageModel & kn.nn.Module;
  randomize(m, 99);
  return m;
}

function run(model: LanguageModel, tokens: number[][], sizes: number[], cache: KVCacheLike[]): kn.NDArray {
  const outs: kn.NDArray[] = [];
  let at = 0;
  for (const n of sizes) {
    const logits = model.forward(tok(tokens.map((r) => r.slice(at, at + n))), { cache });
    at += n;
    kn.eval(logits, ...cache.flatMap((c) => c.state));
    outs.push(logits);
  }
  return kn.concatenate(outs, 1);
}

/** An additive float mask [1, 1, T, T] from a visibility predicate, built in JS. */
function jsMask(T: number, vis: Visible): kn.NDArray {
  const d = new Uint8Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) d[i * T + j] = vis(0, i, j) ? 1 : 0;
  return kn.array(d, 'bool').reshape([1, 1, T, T]);
}

describe('KVCache', () => {
  it('returns everything written so far and grows in steps of 256', () => {
    const c = new KVCache();
    const [k1, v1] = c.updateAndFetch(rows(0, 5), rows(0, 5));
    expect(c.offset).toBe(5);
    expect(c.capacity).toBe(CACHE_STEP);
    expect(k1.shape).toEqual([1, 2, 5, 3]);
    expect(held(k1)).toEqual([0, 1, 2, 3, 4]);
    expect(held(v1)).toEqual([0, 1, 2, 3, 4]);
    let k = k1;
    for (let i = 5; i < 300; i++) [k] = c.updateAndFetch(rows(i, 1), rows(i, 1));
    expect(c.capacity).toBe(2 * CACHE_STEP);
    expect(held(k)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(relErr(k, rows(0, 300))).toBe(0);
  });

  it('keeps its dtype and casts updates to it', () => {
    const c = new KVCache();
    c.updateAndFetch(rows(0, 2).astype('bfloat16'), rows(0, 2).astype('bfloat16'));
    const [k] = c.updateAndFetch(rows(2, 1), rows(2, 1));
    expect(k.dtype).toBe('bfloat16');
    expect(held(k)).toEqual([0, 1, 2]);
  });

  it('trim drops the last tokens and later writes overwrite them', () => {
    const c = new KVCache();
    c.updateAndFetch(rows(0, 6), rows(0, 6));
    expect(c.trim(2)).toBe(2);
    expect(c.trim(100)).toBe(4);
    expect(c.offset).toBe(0);
    c.updateAndFetch(rows(10, 2), rows(10, 2));
    const [k] = c.updateAndFetch(rows(12, 1), rows(12, 1));
    expect(held(k)).toEqual([10, 11, 12]);
    expect(c.isTrimmable()).toBe(true);
  });

  it('500 decode updates write rows in place: no step allocates a second cache', () => {
    const c = new KVCache({ step: 1024 });
    const one = kn.ones([1, 8, 1, 64]).eval();
    kn.tidy(() => {
      c.updateAndFetch(one, one);
      kn.eval(...c.state);
    });
    const bytes = 2 * 8 * 1024 * 64 * 4;
    const start = kn.memory.active();
    kn.memory.resetPeak();
    for (let i = 0; i < 500; i++)
      kn.tidy(() => {
        const [k, v] = c.updateAndFetch(kn.full([1, 8, 1, 64], i), one);
        kn.eval(k, v, ...c.state);
      });
    expect(kn.memory.active()).toBe(start);
    // a copy per token would need another 1 MiB buffer at the peak
    expect(kn.memory.peak() - start).toBeLessThan(bytes / 16);
    expect(c.keys!.index(0, 3, kn.sliceOf(498, 502), 0).tolist()).toEqual([497, 498, 499, 0]);
  });

  it('a fetched array kept alive keeps its values (the next write copies instead)', () => {
    const c = new KVCache();
    const [k0] = c.updateAndFetch(rows(0, 3), rows(0, 3));
    kn.eval(k0, ...c.state);
    c.trim(1);
    const [k1] = c.updateAndFetch(rows(7, 1), rows(7, 1));
    expect(held(k1)).toEqual([0, 1, 7]);
    expect(held(k0)).toEqual([0, 1, 2]);
  });
});

describe('RotatingKVCache', () => {
  it('keeps the first `keep` tokens and the most recent ones', () => {
    const c = new RotatingKVCache(5, 2);
    let k!: kn.NDArray;
    for (let i = 0; i < 9; i++) [k] = c.updateAndFetch(rows(i, 1), rows(i, 1));
    expect(c.offset).toBe(9);
    expect(held(k).sort((a, b) => a - b)).toEqual([0, 1, 6, 7, 8]);
    const s = new RotatingKVCache(4, 0);
    for (let i = 0; i < 6; i++) [k] = s.updateAndFetch(rows(i, 1), rows(i, 1));
    expect(held(k).sort((a, b) => a - b)).toEqual([2, 3, 4, 5]);
  });

  it('a chunk that overflows returns what its queries need, then holds kept + window', () => {
    const c = new RotatingKVCache(6, 1);
    c.updateAndFetch(rows(0, 4), rows(0, 4));
    const [k] = c.updateAndFetch(rows(4, 5), rows(4, 5));
    // kept 0, the window - 1 = 4 most recent old tokens (1..3 are all there are), the 5 new
    expect(held(k)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(c.filled).toBe(6);
    const [k2] = c.updateAndFetch(rows(9, 1), rows(9, 1));
    expect(held(k2).sort((a, b) => a - b)).toEqual([0, 5, 6, 7, 8, 9]);
  });

  for (const [maxSize, keep] of [
    [8, 0],
    [8, 2],
  ] as const) {
    it(`maxSize ${maxSize}, keep ${keep}: decoding equals full attention under the same visibility`, () => {
      const m = tiny('llama');
      const T = 20,
        W = maxSize - keep;
      const vis: Visible = (_b, i, j) => j <= i && (j < keep || j > i - W);
      const t = randomTokens(1, T, 61, 4);
      const full = m.forward(tok(t), { mask: jsMask(T, vis) });
      expect(relErr(full, referenceForward(m, CONFIGS.llama, t, vis))).toBeLessThan(1e-5);
      const mk = () => Array.from({ length: m.numLayers }, () => new RotatingKVCache(maxSize, keep));
      expect(relErr(run(m, t, Array(T).fill(1), mk()), full)).toBeLessThan(1e-4);
      expect(relErr(run(m, t, [5, 4, 7, 1, 3], mk()), full)).toBeLessThan(1e-4);
      expect(relErr(run(m, t, [12, 8], mk()), full)).toBeLessThan(1e-4);
    });
  }

  it('mistral makeCache gives exact sliding-window caches', () => {
    const m = tiny('mistral');
    const cache = makeCache(m);
    expect(cache.every((c) => c instanceof RotatingKVCache && c.maxSize === 6 && c.keep === 0)).toBe(true);
    const t = randomTokens(1, 15, 61, 8);
    expect(relErr(run(m, t, [4, ...Array(11).fill(1)], cache), m.forward(tok(t)))).toBeLessThan(1e-4);
    expect(relErr(run(m, t, [9, 6], makeCache(m)), m.forward(tok(t)))).toBeLessThan(1e-4);
  });

  it('trims only while nothing was evicted', () => {
    const c = new RotatingKVCache(4, 0);
    c.updateAndFetch(rows(0, 3), rows(0, 3));
    expect(c.isTrimmable()).toBe(true);
    expect(c.trim(1)).toBe(1);
    const [k] = c.updateAndFetch(rows(9, 1), rows(9, 1));
    expect(held(k)).toEqual([0, 1, 9]);
    c.updateAndFetch(rows(3, 2), rows(3, 2));
    expect(c.isTrimmable()).toBe(false);
    expect(c.trim(1)).toBe(0);
    expect(canTrimCache([c])).toBe(false);
    expect(trimCache([c], 1)).toBe(0);
  });
});

describe('makeCache', () => {
  it('KVCache per layer by default, RotatingKVCache(maxKvSize, 4) when bounded', () => {
    const m = tiny();
    const c = makeCache(m);
    expect(c.length).toBe(2);
    expect(c.every((x) => x instanceof KVCache)).toBe(true);
    const r = makeCache(m, { maxKvSize: 32 });
    expect(r.every((x) => x instanceof RotatingKVCache && x.maxSize === 32 && x.keep === 4)).toBe(true);
    expect(() => makeCache(m, { maxKvSize: 0 })).toThrow('[makeCache] maxKvSize must be a positive integer, got 0');
  });
});

describe('prompt cache files', () => {
  for (const kind of ['KVCache', 'RotatingKVCache'] as const) {
    it(`${kind}: save, load and continue decoding as the original`, () => {
      const m = tiny();
      const t = randomTokens(1, 14, 61, 31);
      const mk = () => (kind === 'KVCache' ? makeCache(m) : makeCache(m, { maxKvSize: 8, keep: 2 }));
      const cache = mk();
      run(m, t, [10], cache);
      const path = `/tmp/kiln-prompt-${kind}-${process.pid}.safetensors`;
      savePromptCache(path, cache, { model: 'tiny', tokens: '10' });
      const { cache: loaded, metadata } = loadPromptCache(path);
      expect(metadata).toEqual({ model: 'tiny', tokens: '10' });
      expect(loaded.map((c) => c.constructor.name)).toEqual([kind, kind]);
      expect(loaded.map((c) => c.offset)).toEqual([10, 10]);
      const a = run(m, [t[0].slice(10)], [1, 1, 1, 1], cache);
      const b = run(m, [t[0].slice(10)], [1, 1, 1, 1], loaded);
      expect(relErr(b, a)).toBe(0);
    });
  }

  it('an empty cache round-trips; bad files and metadata give clear errors', () => {
    const path = `/tmp/kiln-prompt-empty-${process.pid}.safetensors`;
    savePromptCache(path, [new KVCache(), new KVCache()]);
    expect(loadPromptCache(path).cache.map((c) => c.offset)).toEqual([0, 0]);
    expect(() => savePromptCache(path, [new KVCache()], { 'kiln.cache': 'x' })).toThrow(/reserved/);
    const plain = `/tmp/kiln-prompt-plain-${process.pid}.safetensors`;
    kn.saveSafetensors(plain, { w: kn.ones([2]) });
    expect(() => loadPromptCache(plain)).toThrow(/is not a prompt cache/);
    const bad = `/tmp/kiln-prompt-bad-${process.pid}.safetensors`;
    kn.saveSafetensors(bad, { w: kn.ones([2]) }, { 'kiln.cache': '{not json' });
    expect(() => loadPromptCache(bad)).toThrow(/corrupt 'kiln.cache' metadata/);
  });
});

describe('errors', () => {
  it('bad updates and constructor arguments', () => {
    const c = new KVCache();
    expect(() => c.updateAndFetch(kn.ones([2, 3, 4]), kn.ones([2, 3, 4]))).toThrow(
      /keys and values must have shape \[B, nKvHeads, L, headDim\], got keys \[2, 3, 4\]/,
    );
    expect(() => c.updateAndFetch(kn.ones([1, 2, 3, 4]), kn.ones([1, 2, 2, 4]))).toThrow(/must agree in B, nKvHeads and L/);
    c.updateAndFetch(kn.ones([1, 2, 1, 4]), kn.ones([1, 2, 1, 4]));
    expect(() => c.updateAndFetch(kn.ones([1, 3, 1, 4]), kn.ones([1, 3, 1, 4]))).toThrow(/keys \[1, 3, 1, 4\] do not match the cache's \[1, 2, \*, 4\]/);
    expect(() => new RotatingKVCache(4, 4)).toThrow('[RotatingKVCache] keep must be an integer in [0, maxSize) = [0, 4), got 4');
    expect(() => new RotatingKVCache(0)).toThrow(/maxSize must be a positive integer, got 0/);
    expect(() => new KVCache({ leftPadding: [-1] })).toThrow(/leftPadding must be a list of non-negative integers/);
    const p = new KVCache({ leftPadding: [1, 0] });
    expect(() => p.updateAndFetch(kn.ones([3, 1, 1, 2]), kn.ones([3, 1, 1, 2]))).toThrow(/leftPadding has 2 rows but keys have batch size 3/);
  });
});
