// Module tree behaviour: parameters, children, namedModules/leafModules order, freeze/unfreeze,
// update, apply, setDtype, train/eval propagation, call.
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';

const nn = kn.nn;
const keys = (t: unknown) => kn.tree.flatten(t).map(([k]) => k);

class Block extends nn.Module {
  attn = new nn.MultiHeadAttention(4, 2);
  norm = new nn.LayerNorm(4);
  mlp = [new nn.Linear(4, 8), new nn.GELU(), new nn.Linear(8, 4)];
  forward(x: kn.NDArray): kn.NDArray {
    const h = this.norm.call(x);
    let y = kn.add(x, this.attn.call(h, h, h));
    for (const l of this.mlp) y = l.forward(y) as kn.NDArray;
    return y;
  }
}

class Model extends nn.Module {
  embed = new nn.Embedding(10, 4);
  layers = [new Block(), new Block()];
  extra = { scale: kn.ones([4]), heads: { a: new nn.Linear(4, 2), b: new nn.Linear(4, 3, { bias: false }) } };
  dims = 4; // plain settings are not parameters
  kernel = [3, 3];
  _cache = kn.zeros([2]); // '_' fields are private state
  forward(ids: kn.NDArray): kn.NDArray {
    let x = this.embed.call(ids);
    for (const b of this.layers) x = b.call(x);
    return this.extra.heads.a.call(kn.multiply(x, this.extra.scale));
  }
}

describe('the parameter tree', () => {
  it('parameters(): dotted names in declaration order, lists as JS arrays, settings and _fields left out', () => {
    const m = new Model();
    const names = keys(m.parameters());
    expect(names.slice(0, 6)).toEqual([
      'embed.weight',
      'layers.0.attn.queryProj.weight',
      'layers.0.attn.keyProj.weight',
      'layers.0.attn.valueProj.weight',
      'layers.0.attn.outProj.weight',
      'layers.0.norm.weight',
    ]);
    expect(names).toContain('layers.1.mlp.2.bias');
    expect(names.slice(-4)).toEqual(['extra.scale', 'extra.heads.a.weight', 'extra.heads.a.bias', 'extra.heads.b.weight']);
    expect(names.length).toBe(1 + 2 * (4 + 2 + 4) + 4);
    const p = m.parameters();
    expect(Array.isArray(p.layers)).toBe(true);
    const mlp = ((p.layers as kn.nn.ParamTree[])[0] as Record<string, kn.nn.ParamTree>).mlp as kn.nn.ParamTree[];
    expect(mlp.length).toBe(3);
    expect(mlp[1]).toEqual({}); // GELU keeps its position
    expect(names.some((k) => k.startsWith('dims') || k.startsWith('kernel') || k.startsWith('_cache'))).toBe(false);
    expect((p.embed as Record<string, kn.NDArray>).weight).toBe(m.embed.weight);
  });

  it('children(): direct submodules only, as a tree', () => {
    const c = new Model().children();
    expect(Object.keys(c)).toEqual(['embed', 'layers', 'extra']);
    expect(c.embed).toBeInstanceOf(nn.Embedding);
    expect((c.layers as unknown[]).length).toBe(2);
    expect(keys(c)).toEqual(['embed', 'layers.0', 'layers.1', 'extra.heads.a', 'extra.heads.b']);
  });

  it('namedModules(): parents first, fields in declaration order', () => {
    const names = new Model().namedModules().map(([k, m]) => `${k}:${m.constructor.name}`);
    expect(names.slice(0, 10)).toEqual([
      ':Model',
      'embed:Embedding',
      'layers.0:Block',
      'layers.0.attn:MultiHeadAttention',
      'layers.0.attn.queryProj:Linear',
      'layers.0.attn.keyProj:Linear',
      'layers.0.attn.valueProj:Linear',
      'layers.0.attn.outProj:Linear',
      'layers.0.norm:LayerNorm',
      'layers.0.mlp.0:Linear',
    ]);
    expect(names.slice(-3)).toEqual(['layers.1.mlp.2:Linear', 'extra.heads.a:Linear', 'extra.heads.b:Linear']);
    expect(new Model().modules().length).toBe(names.length);
  });

  it('leafModules(): modules without submodules, as a tree', () => {
    const leaves = keys(new Model().leafModules());
    expect(leaves).toContain('layers.0.attn.queryProj');
    expect(leaves).toContain('layers.1.mlp.1');
    expect(leaves).not.toContain('layers.0.attn');
    expect(leaves[0]).toBe('embed');
    expect(leaves.length).toBe(1 + 2 * (4 + 1 + 3) + 2);
  });

  it('the same child referenced twice is listed under both names', () => {
    const shared = new nn.Linear(2, 2);
    const s = new nn.Sequential(shared, shared);
    expect(keys(s.parameters())).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
  });
});

describe('freeze and unfreeze', () => {
  it('freeze() everything, then unfreeze by key everywhere', () => {
    const m = new Model();
    m.freeze();
    expect(keys(m.trainableParameters())).toEqual([]);
    m.unfreeze({ keys: 'bias' });
    const t = keys(m.trainableParameters());
    expect(t.length).toBeGreaterThan(0);
    expect(t.every((k) => k.endsWith('.bias'))).toBe(true);
    expect(t).toContain('layers.1.norm.bias');
    m.unfreeze();
    expect(keys(m.trainableParameters())).toEqual(keys(m.parameters()));
  });

  it('freeze by key, non-recursive, and on a submodule', () => {
    const m = new Model();
    m.freeze({ keys: ['weight'] });
    const t = keys(m.trainableParameters());
    expect(t.some((k) => k.endsWith('.weight'))).toBe(false);
    expect(t).toContain('extra.scale');
    m.unfreeze();
    m.freeze({ keys: 'extra', recurse: false });
    // the field's own arrays freeze; modules nested in it keep their own flags
    expect(keys(m.trainableParameters())).not.toContain('extra.scale');
    expect(keys(m.trainableParameters())).toContain('extra.heads.a.weight');
    m.unfreeze({ recurse: false });
    m.layers[1].freeze();
    const t2 = keys(m.trainableParameters());
    expect(t2.some((k) => k.startsWith('layers.1.'))).toBe(false);
    expect(t2.some((k) => k.startsWith('layers.0.'))).toBe(true);
    // the frozen parameters are still parameters
    expect(keys(m.parameters())).toContain('layers.1.norm.weight');
  });

  it('trainableParameters keeps list positions of frozen modules', () => {
    const s = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 2));
    (s.layers[0] as kn.nn.Module).freeze();
    const t = s.trainableParameters();
    expect((t.layers as unknown[])[0]).toEqual({});
    expect(keys(t)).toEqual(['layers.1.weight', 'layers.1.bias']);
  });

  it('strict keys must exist in every module visited', () => {
    const l = new nn.Linear(2, 2);
    expect(() => l.freeze({ keys: 'gamma', strict: true })).toThrow(/\[Module.freeze\] Linear has no parameter 'gamma'/);
    expect(() => l.freeze({ keys: 'bias', strict: true })).not.toThrow();
    expect(() => l.freeze({ keys: 3 as unknown as string })).toThrow(TypeError);
  });
});

describe('update, apply, setDtype', () => {
  it('update replaces arrays in place of the tree; lists accept objects keyed by index', () => {
    const m = new Model();
    const w = kn.zeros([2, 4]);
    m.update({ extra: { heads: { a: { weight: w } } } });
    expect(m.extra.heads.a.weight).toBe(w);
    const nw = kn.ones([8, 4]);
    m.update({ layers: { 1: { mlp: { 0: { weight: nw } } } } } as Record<string, unknown>);
    expect((m.layers[1].mlp[0] as kn.nn.Linear).weight).toBe(nw);
    const round = kn.tree.unflatten(kn.tree.flatten(m.parameters())) as Record<string, unknown>;
    expect(() => m.update(round)).not.toThrow();
  });

  it('strict update rejects unknown names and non-arrays; non-strict skips them', () => {
    const l = new nn.Linear(2, 2);
    expect(() => l.update({ gamma: kn.ones([2]) })).toThrow(/\[Module.update\] the module has no such entry at 'gamma'/);
    expect(() => l.update({ weight: 3 })).toThrow(/\[Module.update\] expected an array, got number at 'weight'/);
    expect(() => l.update({ weight: new nn.Linear(2, 2) })).toThrow(/expected an array, got a Module/);
    const w = kn.ones([2, 2]);
    l.update({ gamma: kn.ones([2]), weight: w }, { strict: false });
    expect(l.weight).toBe(w);
  });

  it('updateModules swaps submodules', () => {
    const s = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU());
    const g = new nn.GELU();
    s.updateModules({ layers: { 1: g } });
    expect(s.layers[1]).toBe(g);
    expect(() => s.updateModules({ layers: { 0: kn.ones([2]) } })).toThrow(/expected a Module/);
  });

  it('apply maps every parameter (or the filtered ones)', () => {
    const l = new nn.Linear(3, 2);
    l.apply((p) => kn.zerosLike(p));
    expect(kn.abs(l.weight).sum().item()).toBe(0);
    expect(kn.abs(l.bias!).sum().item()).toBe(0);
    l.apply(
      (p) => kn.onesLike(p),
      (_m, k) => k === 'bias',
    );
    expect(l.bias!.tolist()).toEqual([1, 1]);
    expect(kn.abs(l.weight).sum().item()).toBe(0);
  });

  it('setDtype casts floating parameters and leaves integer ones', () => {
    class M extends nn.Module {
      lin = new nn.Linear(2, 2);
      table = kn.arange(3);
    }
    const m = new M().setDtype('float16');
    expect(m.lin.weight.dtype).toBe('float16');
    expect(m.lin.bias!.dtype).toBe('float16');
    expect(m.table.dtype).toBe('int32');
    expect(m.lin.call(kn.ones([1, 2], 'float16')).dtype).toBe('float16');
    m.setDtype('float64', (d) => d === 'int32');
    expect(m.table.dtype).toBe('float64');
    expect(m.lin.weight.dtype).toBe('float16');
    expect(() => m.setDtype('float99' as kn.DType)).toThrow();
  });
});

describe('train / eval and calling', () => {
  it('train(false)/eval() and train() propagate to every submodule', () => {
    const m = new Model();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.layers[0].train();
    expect(m.training).toBe(false);
    expect(m.layers[0].modules().every((x) => x.training)).toBe(true);
    expect(m.layers[1].training).toBe(false);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
    expect(() => m.train('yes' as unknown as boolean)).toThrow(TypeError);
  });

  it('call and forward agree; the base class has no forward', () => {
    const m = new Model();
    const ids = kn.array([[1, 2, 3]]);
    const a = m.call(ids),
      b = m.forward(ids);
    expect(a.shape).toEqual([1, 3, 2]);
    expect(a.tolist()).toEqual(b.tolist());
    expect(() => new nn.Module().call()).toThrow(/\[Module.forward\] this module does not implement forward/);
  });

  it('prints an MLX-style summary', () => {
    const s = String(new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU()));
    expect(s).toContain('(layers.0): Linear(inputDims=2, outputDims=3, bias=true)');
    expect(s).toContain('(layers.1): ReLU()');
  });
});

describe('cycles', () => {
  it('a module that holds its parent throws a clear error; a _field back-reference is fine', () => {
    class Child extends nn.Module {
      lin = new nn.Linear(2, 2);
      parent?: kn.nn.Module;
      _parent?: kn.nn.Module;
    }
    class Parent extends nn.Module {
      child = new Child();
    }
    const p = new Parent();
    p.child._parent = p;
    expect(keys(p.parameters())).toEqual(['child.lin.weight', 'child.lin.bias']);
    p.child.parent = p;
    expect(() => p.parameters()).toThrow(/\[Module\] the module tree has a cycle/);
    p.child.parent = undefined;
    expect(keys(p.parameters())).toEqual(['child.lin.weight', 'child.lin.bias']); // no stale state after the error
  });
});
