// nn.QuantizedLinear, nn.QuantizedEmbedding and nn.quantize (nn/layers/quantized.ts): the layers
// compute what their dequantized float layers compute, keep MLX's parameter names, are frozen, pass
// gradients to their input, and nn.quantize swaps layers in place following classPredicate.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const key = (i: number) => kn.random.key(i);

describe('QuantizedLinear', () => {
  it('equals the Linear of its dequantized weight, with MLX parameter names, frozen', () => {
    const lin = new kn.nn.Linear(128, 24, { key: key(1) });
    const q = kn.nn.QuantizedLinear.fromLinear(lin, { groupSize: 32, bits: 4 });
    expect(Object.keys(q.parameters()).sort()).toEqual(['bias', 'biases', 'scales', 'weight']);
    expect(q.weight.dtype).toBe('uint32');
    expect(q.weight.shape).toEqual([24, 16]);
    expect(q.scales.shape).toEqual([24, 4]);
    expect(Object.keys(q.trainableParameters())).toEqual([]);
    const x = kn.random.normal([3, 128], { key: key(2) });
    const ref = q.toLinear().call(x);
    expect(kn.allclose(q.call(x), ref, { atol: 1e-5 })).toBe(true);
    // 8 bits are close to the float layer itself
    const q8 = kn.nn.QuantizedLinear.fromLinear(lin, { bits: 8 });
    expect(kn.allclose(q8.call(x), lin.call(x), { atol: 0.02 })).toBe(true);
    expect(q.toString()).toMatch(/groupSize=32, bits=4/);
  });

  it('passes gradients to its input (QLoRA) and rejects a wrong input size', () => {
    const lin = new kn.nn.Linear(64, 8, { key: key(3), bias: false });
    const q = kn.nn.QuantizedLinear.fromLinear(lin, { bits: 8 });
    const x = kn.random.normal([2, 64], { key: key(4) });
    const g = kn.grad((a: kn.NDArray) => kn.sum(q.call(a)))(x) as kn.NDArray;
    const W = q.toLinear().weight;
    const ref = kn.broadcastTo(kn.sum(W, 0, { keepdims: true }), [2, 64]);
    expect(kn.allclose(g, ref, { atol: 1e-4 })).toBe(true);
    expect(() => q.call(kn.ones([2, 32]))).toThrow(/\[QuantizedLinear\] expected input with last dimension 64/);
    expect(() => new kn.nn.QuantizedLinear(kn.ones([8, 3], 'uint32'), kn.ones([8, 1]), kn.ones([8, 1]), undefined, { bits: 4 })).toThrow(/QuantizedLinear/);
  });
});

describe('QuantizedEmbedding', () => {
  it('looks up dequantized rows and scores with asLinear like the float table', () => {
    const e = new kn.nn.Embedding(40, 64, { key: key(5) });
    const q = kn.nn.QuantizedEmbedding.fromEmbedding(e, { groupSize: 64, bits: 6 });
    const ids = kn.array([[1, 39, 7]]);
    const f = q.toEmbedding();
    expect(kn.allclose(q.call(ids), f.call(ids), { atol: 1e-6 })).toBe(true);
    const h = kn.random.normal([2, 64], { key: key(6) });
    expect(kn.allclose(q.asLinear(h), f.asLinear(h), { atol: 1e-4 })).toBe(true);
    expect(q.asLinear(h).shape).toEqual([2, 40]);
    expect(() => q.call(kn.ones([2]))).toThrow(/ids must be integers/);
  });
});

describe('nn.quantize', () => {
  it('swaps Linear and Embedding layers in place, skipping what classPredicate rejects and layers that do not fit the group', () => {
    class Net extends kn.nn.Module {
      emb = new kn.nn.Embedding(10, 64, { key: key(7) });
      a = new kn.nn.Linear(64, 64, { key: key(8) });
      b = new kn.nn.Linear(64, 10, { key: key(9) });
      c = new kn.nn.Linear(48, 4, { key: key(10) }); // 48 inputs: not a multiple of 64
      forward(ids: kn.NDArray) {
        return this.b.call(kn.nn.relu(this.a.call(this.emb.call(ids))));
      }
    }
    const m = new Net();
    const ids = kn.array([[1, 2, 3]]);
    const before = m.call(ids);
    const done = kn.nn.quantize(m, { bits: 8, classPredicate: (p) => (p === 'b' ? { bits: 4, groupSize: 32 } : true) });
    expect([...done.keys()].sort()).toEqual(['a', 'b', 'emb']);
    expect(done.get('b')).toEqual({ groupSize: 32, bits: 4 });
    expect(m.a).toBeInstanceOf(kn.nn.QuantizedLinear);
    expect(m.emb).toBeInstanceOf(kn.nn.QuantizedEmbedding);
    expect(m.c).toBeInstanceOf(kn.nn.Linear);
    expect((m.b as unknown as kn.nn.QuantizedLinear).bits).toBe(4);
    expect(kn.allclose(m.call(ids), before, { atol: 0.1 })).toBe(true);
    expect(() => kn.nn.quantize(m, { bits: 9 })).toThrow(/bits must be one of/);
  });
});
