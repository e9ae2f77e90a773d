// kn.tree: flatten / unflatten / map / mapWithPath / reduce over objects, arrays and Maps.
import { describe, expect, test } from 'vitest';
import * as kn from '../index.js';

describe('kn.tree', () => {
  const a = kn.array([1]),
    b = kn.array([2]),
    c = kn.array([3]);

  test('flatten gives dotted paths depth first; unflatten inverts it', () => {
    const t = { layers: [{ w: a, b }, { w: c }], head: { scale: 2 } };
    const flat = kn.tree.flatten(t);
    expect(flat.map(([k]) => k)).toEqual(['layers.0.w', 'layers.0.b', 'layers.1.w', 'head.scale']);
    expect(flat[0][1]).toBe(a);
    const back = kn.tree.unflatten(flat) as typeof t;
    expect(Array.isArray(back.layers)).toBe(true);
    expect(back.layers[1].w).toBe(c);
    expect(back.head.scale).toBe(2);
    expect(kn.tree.flatten(t, { prefix: 'model' })[0][0]).toBe('model.layers.0.w');
  });

  test('Maps flatten by key; leaves may be anything that is not a container', () => {
    const m = new Map<string, unknown>([
      ['x', a],
      ['y', [b, 'tag']],
    ]);
    expect(kn.tree.flatten(m).map(([k, v]) => [k, v instanceof kn.NDArray ? 'arr' : v])).toEqual([
      ['x', 'arr'],
      ['y.0', 'arr'],
      ['y.1', 'tag'],
    ]);
    const single = kn.tree.flatten(a);
    expect(single.length).toBe(1);
    expect(single[0][0]).toBe('');
    expect(single[0][1]).toBe(a);
    expect(kn.tree.unflatten([['', a]])).toBe(a);
  });

  test('unflatten: integer keys make lists (any order), mixed keys objects, conflicts throw', () => {
    expect(
      kn.tree.unflatten([
        ['1', 'b'],
        ['0', 'a'],
      ]),
    ).toEqual(['a', 'b']);
    expect(
      kn.tree.unflatten([
        ['0', 'a'],
        ['2', 'c'],
      ]),
    ).toEqual({ 0: 'a', 2: 'c' });
    expect(() =>
      kn.tree.unflatten([
        ['a', 1],
        ['a.b', 2],
      ]),
    ).toThrow(/\[tree.unflatten\] key 'a.b' goes through the leaf 'a'/);
    expect(() =>
      kn.tree.unflatten([
        ['a', 1],
        ['a', 2],
      ]),
    ).toThrow(/appears twice/);
  });

  test('map rebuilds containers (Maps stay Maps) and zips several trees', () => {
    const t = { p: [a, b], m: new Map([['q', c]]) };
    const doubled = kn.tree.map((x: kn.NDArray, y: kn.NDArray) => kn.add(x, y), t, t);
    expect(doubled.p[1].tolist()).toEqual([4]);
    expect(doubled.m).toBeInstanceOf(Map);
    expect(doubled.m.get('q').tolist()).toEqual([6]);
    expect(() => kn.tree.map((x: unknown) => x, { p: [a] }, { p: [a, b] })).toThrow(/\[tree.map\] the trees differ at 'p'/);
    expect(() => kn.tree.map((x: unknown) => x, { p: a }, { q: a })).toThrow(/differ at 'p'/);
    const paths: string[] = [];
    kn.tree.mapWithPath((path: string) => paths.push(path), t);
    expect(paths).toEqual(['p.0', 'p.1', 'm.q']);
  });

  test('reduce folds leaves; cycles are reported', () => {
    expect(kn.tree.reduce((n: number, x: kn.NDArray) => n + (x.item() as number), { a, l: [b, c] }, 0)).toBe(6);
    const cyc: Record<string, unknown> = { a };
    cyc.self = cyc;
    expect(() => kn.tree.flatten(cyc)).toThrow(/cycle at 'self'/);
  });
});
