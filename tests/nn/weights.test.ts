// saveWeights → loadWeights round trips and the errors of strict and non-strict loading.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kn from '../../index.js';

const nn = kn.nn;
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-nn-weights-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const model = (seed: number) =>
  new nn.Sequential(
    new nn.Linear(3, 4, { key: kn.random.key(seed) }),
    new nn.ReLU(),
    new nn.BatchNorm(4),
    new nn.Linear(4, 2, { key: kn.random.key(seed + 1) }),
  );
const flat = (m: kn.nn.Module) => Object.fromEntries(kn.tree.flatten<kn.NDArray>(m.parameters()).map(([k, v]) => [k, v.tolist()]));

describe('saveWeights / loadWeights', () => {
  it('round trips through .safetensors and .npz, running statistics included', () => {
    for (const ext of ['safetensors', 'npz']) {
      const a = model(1);
      a.call(kn.random.normal([8, 3], { key: kn.random.key(9) })); // moves BatchNorm's running statistics
      const path = join(dir, `m.${ext}`);
      a.saveWeights(path);
      const b = model(50);
      expect(flat(b)).not.toEqual(flat(a));
      b.loadWeights(path);
      expect(flat(b)).toEqual(flat(a));
      expect(Object.keys(flat(b))).toContain('layers.2.runningMean');
      const x = kn.random.normal([2, 3], { key: kn.random.key(4) });
      a.eval();
      b.eval();
      expect(b.call(x).tolist()).toEqual(a.call(x).tolist());
    }
  });

  it('keeps the saved dtype (bfloat16 stays bfloat16)', () => {
    const a = new nn.Linear(2, 2).setDtype('bfloat16');
    const path = join(dir, 'bf16.safetensors');
    a.saveWeights(path);
    const b = new nn.Linear(2, 2).loadWeights(path);
    expect(b.weight.dtype).toBe('bfloat16');
    expect(b.weight.tolist()).toEqual(a.weight.tolist());
  });

  it('loads [name, array] pairs and { name: array } records', () => {
    const l = new nn.Linear(2, 3);
    const w = kn.ones([3, 2]),
      b = kn.zeros([3]);
    l.loadWeights([
      ['weight', w],
      ['bias', b],
    ]);
    expect(l.weight).toBe(w);
    const w2 = kn.full([3, 2], 2);
    l.loadWeights({ weight: w2, bias: b });
    expect(l.weight).toBe(w2);
    l.loadWeights(
      new Map([
        ['weight', w],
        ['bias', b],
      ]),
    );
    expect(l.weight).toBe(w);
  });

  it('strict: names every missing and unexpected key and every wrong shape', () => {
    const m = model(2);
    const good = Object.fromEntries(kn.tree.flatten<kn.NDArray>(m.parameters()));
    const { ['layers.0.bias']: _dropped, ...missing } = good;
    void _dropped;
    expect(() => m.loadWeights(missing)).toThrow(/\[Module.loadWeights\] 1 parameter is missing from the weights: layers.0.bias/);
    expect(() => m.loadWeights({ ...good, 'layers.1.weight': kn.ones([2]), 'head.bias': kn.ones([2]) })).toThrow(
      /2 weights are not a parameter of the model: head.bias, layers.1.weight/,
    );
    expect(() => m.loadWeights({ ...good, 'layers.3.weight': kn.ones([4, 2]) })).toThrow(
      /'layers.3.weight' has shape \[4, 2\] in the weights but \[2, 4\] in the model/,
    );
    const both = { ...missing, extra: kn.ones([1]) };
    expect(() => m.loadWeights(both)).toThrow(/1 weight is not a parameter of the model: extra; 1 parameter is missing from the weights: layers.0.bias/);
    // a failed load changes nothing
    expect(m.layers[0] instanceof nn.Linear && (m.layers[0] as kn.nn.Linear).bias).toBe(good['layers.0.bias']);
  });

  it('non-strict: loads the matching names, ignores the rest, still checks shapes', () => {
    const m = new nn.Linear(2, 3);
    const oldBias = m.bias;
    const w = kn.ones([3, 2]);
    m.loadWeights({ weight: w, 'other.thing': kn.ones([5]) }, { strict: false });
    expect(m.weight).toBe(w);
    expect(m.bias).toBe(oldBias);
    expect(() => m.loadWeights({ weight: kn.ones([2, 3]) }, { strict: false })).toThrow(/'weight' has shape \[2, 3\] in the weights but \[3, 2\] in the model/);
  });

  it('bad arguments and files', () => {
    const l = new nn.Linear(2, 2);
    expect(() => l.saveWeights(join(dir, 'w.bin'))).toThrow(/\[Module.saveWeights\] unsupported file .*w.bin/);
    expect(() => l.loadWeights(join(dir, 'w.pt'))).toThrow(/\[Module.loadWeights\] unsupported file/);
    expect(() => l.loadWeights(join(dir, 'absent.safetensors'))).toThrow(/absent.safetensors/);
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, Buffer.from([1, 2, 3]));
    expect(() => l.loadWeights(bad)).toThrow(/truncated/);
    expect(() =>
      l.loadWeights({
        weight: [
          [1, 2],
          [3, 4],
        ] as unknown as kn.NDArray,
        bias: kn.ones([2]),
      }),
    ).toThrow(/the value for 'weight' is not an array/);
    expect(() => l.loadWeights([['weight']] as unknown as [string, kn.NDArray][])).toThrow(/\[name, array\] pairs/);
    expect(() => l.loadWeights(42 as unknown as string)).toThrow(TypeError);
  });
});
