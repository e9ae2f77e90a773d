// Contractions against numpy (fixtures/contract_cases.json from fixtures/make_contract_fixtures.py).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../index.js';

type Case = { kind: string; spec?: string; shapes: number[][]; axes?: number | [number[], number[]]; shape: number[]; values: number[] };
const cases = JSON.parse(readFileSync(new URL('./fixtures/contract_cases.json', import.meta.url), 'utf8')) as Case[];

// same data as the generator: ((arange(n) * 7 + k * 3) % 11) - 5
const arr = (shape: number[], k: number) => {
  const n = shape.reduce((p, d) => p * d, 1);
  return kn
    .arange(n)
    .multiply(7)
    .add(k * 3)
    .remainder(11)
    .subtract(5)
    .astype('float64')
    .reshape(shape);
};

describe('contractions match numpy', () => {
  it.each(cases.map((c) => [`${c.kind} ${c.spec ?? JSON.stringify(c.axes ?? '')} ${JSON.stringify(c.shapes)}`, c] as const))('%s', (_, c) => {
    const ops = c.shapes.map((s, k) => arr(s, k));
    let r: kn.NDArray;
    if (c.kind === 'einsum') r = kn.einsum(c.spec!, ...ops);
    else if (c.kind === 'tensordot') r = kn.tensordot(ops[0], ops[1], c.axes as number);
    else if (c.kind === 'inner') r = kn.inner(ops[0], ops[1]);
    else r = kn.outer(ops[0], ops[1]);
    expect(r.shape).toEqual(c.shape);
    expect(kn.reshape(r, [r.size]).tolist()).toEqual(c.values);
  });

  it('addmm and errors', () => {
    expect(kn.addmm(kn.ones([2, 2]), kn.ones([2, 3]), kn.ones([3, 2]), { alpha: 2, beta: 0.5 }).tolist()).toEqual([
      [6.5, 6.5],
      [6.5, 6.5],
    ]);
    expect(() => kn.einsum('ij,jk->ik', kn.ones([2, 3]), kn.ones([4, 5]))).toThrow(/\[einsum\] label j has sizes 3 and 4/);
    expect(() => kn.einsum('ij', kn.ones([2]))).toThrow(/\[einsum\] subscripts "ij" do not match operand 0/);
    expect(() => kn.einsum('ij->k', kn.ones([2, 2]))).toThrow(/\[einsum\] output label k/);
    expect(() => kn.tensordot(kn.ones([2, 3]), kn.ones([2, 3]), 1)).toThrow(/\[tensordot\] axis 1/);
  });
});
