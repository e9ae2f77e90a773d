// finfo / iinfo / canCast / issubdtype against numpy's tables (fixtures/make_dtype_info.py).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../index.js';

const t = JSON.parse(readFileSync(new URL('./fixtures/dtype_info.json', import.meta.url), 'utf8'));

describe('dtype utilities', () => {
  it.each(Object.entries(t.canCast as Record<string, boolean>))('canCast %s', (pair, want) => {
    const [f, to] = pair.split('>') as [kn.DType, kn.DType];
    expect(kn.canCast(f, to)).toBe(want);
  });
  it('finfo matches numpy and bfloat16 has its own limits', () => {
    for (const [d, v] of Object.entries(t.finfo as Record<string, Record<string, number>>)) {
      const f = kn.finfo(d as kn.DType);
      for (const k of ['eps', 'max', 'tiny', 'smallestSubnormal', 'precision', 'bits'] as const) expect(f[k]).toBe(v[k]);
    }
    expect(kn.finfo('bfloat16').eps).toBe(2 ** -7);
    expect(kn.array([kn.finfo('bfloat16').max], 'bfloat16').tolist()).toEqual([kn.finfo('bfloat16').max]);
    expect(() => kn.finfo('int32')).toThrow(/\[finfo\] int32 is not a floating dtype/);
  });
  it('iinfo matches numpy', () => {
    for (const [d, v] of Object.entries(t.iinfo as Record<string, { min: string; max: string }>)) {
      const i = kn.iinfo(d as kn.DType);
      expect(String(i.min)).toBe(v.min);
      expect(String(i.max)).toBe(v.max);
    }
    expect(() => kn.iinfo('float32')).toThrow(/\[iinfo\]/);
  });
  it('issubdtype categories', () => {
    expect(kn.issubdtype('int8', 'integer')).toBe(true);
    expect(kn.issubdtype('uint8', 'signedinteger')).toBe(false);
    expect(kn.issubdtype('bfloat16', 'floating')).toBe(true);
    expect(kn.issubdtype('bool', 'number')).toBe(false);
    expect(kn.issubdtype('float32', 'float32')).toBe(true);
  });
});
