// Layer forwards against numpy references (fixtures/make_nn_fixtures.py), in float64.
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';
import { arr, close, values } from './util.js';

const nn = kn.nn;

describe('Linear, Bilinear, Identity, Embedding', () => {
  it('Linear: x·Wᵀ + b, with and without bias', () => {
    const l = new nn.Linear(5, 4).update({ weight: arr('lin_w'), bias: arr('lin_b') });
    close(l.call(arr('lin_x')), 'lin_y');
    const nb = new nn.Linear(5, 4, { bias: false }).update({ weight: arr('lin_w') });
    expect(kn.tree.flatten(nb.parameters()).map(([k]) => k)).toEqual(['weight']);
    close(nb.call(arr('lin_x')), 'lin_y_nobias');
  });

  it('Linear init: shapes and the uniform ±√(1/in) range; keys make it reproducible', () => {
    const l = new nn.Linear(16, 3, { key: kn.random.key(0) });
    expect(l.weight.shape).toEqual([3, 16]);
    expect(l.bias!.shape).toEqual([3]);
    expect(l.weight.dtype).toBe('float32');
    expect(kn.abs(l.weight).max().item()).toBeLessThanOrEqual(0.25);
    expect(new nn.Linear(16, 3, { key: kn.random.key(0) }).weight.tolist()).toEqual(l.weight.tolist());
    expect(new nn.Linear(16, 3, { key: kn.random.key(1) }).weight.tolist()).not.toEqual(l.weight.tolist());
  });

  it('Linear errors', () => {
    expect(() => new nn.Linear(0, 3)).toThrow(/\[Linear\] inputDims must be a positive integer, got 0/);
    expect(() => new nn.Linear(4, 3).call(kn.ones([2, 5]))).toThrow(/\[Linear\] expected input with last dimension 4, got shape \[2, 5\]/);
  });

  it('Bilinear: Σ x1[i]·W[o, j, i]·x2[j] + b', () => {
    const b = new nn.Bilinear(4, 5, 6).update({ weight: arr('bil_w'), bias: arr('bil_b') });
    expect(new nn.Bilinear(4, 5, 6).weight.shape).toEqual([6, 5, 4]);
    close(b.call(arr('bil_x1'), arr('bil_x2')), 'bil_y', 1e-12);
    expect(() => b.call(kn.ones([2, 4]), kn.ones([3, 5]))).toThrow(/\[Bilinear\] x1 \[2, 4\] and x2 \[3, 5\] must agree/);
  });

  it('Identity returns its input', () => {
    const x = kn.ones([2]);
    expect(new nn.Identity().call(x)).toBe(x);
  });

  it('Embedding lookup and asLinear (tied head)', () => {
    const e = new nn.Embedding(7, 3).update({ weight: arr('emb_w') });
    close(e.call(arr('emb_ids', 'int32')), 'emb_y');
    close(e.asLinear(arr('emb_h')), 'emb_lin');
    expect(() => e.call(kn.ones([2]))).toThrow(/\[Embedding\] ids must be integers, got dtype float32/);
    expect(() => e.asLinear(kn.ones([2, 4]))).toThrow(/last dimension 3, got shape \[2, 4\]/);
    const init = new nn.Embedding(1000, 4, { key: kn.random.key(3) }).weight;
    expect(Math.abs((kn.std(init).item() as number) - 0.5)).toBeLessThan(0.03);
  });
});

describe('normalisation', () => {
  it('RMSNorm', () => {
    const m = new nn.RMSNorm(8).setDtype('float64').update({ weight: arr('norm_w') });
    close(m.call(arr('norm_x')), 'rms', 1e-12);
    expect(new nn.RMSNorm(8).weight.tolist()).toEqual(new Array(8).fill(1));
  });

  it('LayerNorm: affine, no bias, no affine', () => {
    close(new nn.LayerNorm(8).update({ weight: arr('norm_w'), bias: arr('norm_b') }).call(arr('norm_x')), 'ln', 1e-12);
    const nb = new nn.LayerNorm(8, { bias: false }).update({ weight: arr('norm_w') });
    expect(Object.keys(nb.parameters())).toEqual(['weight']);
    close(nb.call(arr('norm_x')), 'ln_nobias', 1e-12);
    const na = new nn.LayerNorm(8, { affine: false });
    expect(na.parameters()).toEqual({});
    close(na.call(arr('norm_x')), 'ln_noaffine', 1e-12);
    expect(() => na.call(kn.ones([2, 7]))).toThrow(
      /\[LayerNorm\] expected input with at least 1 dimension and 8 features on the last axis, got shape \[2, 7\]/,
    );
  });

  it('GroupNorm: MLX strided groups and PyTorch-compatible contiguous groups', () => {
    const p = { weight: arr('norm_w'), bias: arr('norm_b') };
    close(new nn.GroupNorm(2, 8).update(p).call(arr('norm_x')), 'gn', 1e-12);
    close(new nn.GroupNorm(2, 8, { pytorchCompatible: true }).update(p).call(arr('norm_x')), 'gn_pt', 1e-12);
    close(new nn.GroupNorm(4, 8, { pytorchCompatible: true, affine: false }).call(arr('norm_x')), 'gn4_pt_noaffine', 1e-12);
    expect(() => new nn.GroupNorm(3, 8)).toThrow(/dims 8 are not divisible by numGroups 3/);
  });

  it('InstanceNorm normalises each sample and channel over the spatial axes', () => {
    close(new nn.InstanceNorm(4).call(arr('in_x')), 'in_y', 1e-12);
    expect(new nn.InstanceNorm(4).parameters()).toEqual({});
    expect(Object.keys(new nn.InstanceNorm(4, { affine: true }).parameters())).toEqual(['weight', 'bias']);
  });

  it('BatchNorm: batch statistics and running averages in training, running statistics in eval', () => {
    const bn = new nn.BatchNorm(4).setDtype('float64').update({ weight: arr('bn_w'), bias: arr('bn_b') });
    expect(bn.training).toBe(true);
    close(bn.call(arr('bn_x1')), 'bn_y1', 1e-12);
    close(bn.call(arr('bn_x2')), 'bn_y2', 1e-12);
    close(bn.runningMean!, 'bn_rm', 1e-12);
    close(bn.runningVar!, 'bn_rv', 1e-12);
    bn.eval();
    close(bn.call(arr('bn_xe')), 'bn_ye', 1e-12);
    close(bn.runningMean!, 'bn_rm', 1e-12); // unchanged in eval
    expect(kn.tree.flatten(bn.parameters()).map(([k]) => k)).toEqual(['weight', 'bias', 'runningMean', 'runningVar']);
    expect(kn.tree.flatten(bn.trainableParameters()).map(([k]) => k)).toEqual(['weight', 'bias']);
    bn.unfreeze();
    expect(kn.tree.flatten(bn.trainableParameters()).map(([k]) => k)).toEqual(['weight', 'bias']);
  });

  it('BatchNorm without running statistics always uses the batch', () => {
    const bn = new nn.BatchNorm(4, { trackRunningStats: false, affine: false });
    expect(bn.parameters()).toEqual({});
    bn.eval();
    const x = arr('bn_x1');
    const m = values(kn.mean(bn.call(x), 0));
    m.forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-12));
    expect(() => bn.call(kn.ones([1, 1, 1, 1, 4]))).toThrow(/\[BatchNorm\] expected 2 to 4 dimensions/);
  });
});

describe('positional encodings', () => {
  it('RoPE: half-split and traditional, partial dims, base, scale and offset', () => {
    close(new nn.RoPE(8).call(arr('rope_x')), 'rope_half', 1e-12);
    close(new nn.RoPE(8, { traditional: true }).call(arr('rope_x')), 'rope_trad', 1e-12);
    close(new nn.RoPE(4, { base: 500, scale: 0.5 }).call(arr('rope_x'), 3), 'rope_partial_off', 1e-12);
    close(new nn.RoPE(6, { traditional: true, scale: 2 }).call(arr('rope_x'), 7), 'rope_trad_partial_off', 1e-12);
    expect(new nn.RoPE(8).parameters()).toEqual({});
    expect(() => new nn.RoPE(7)).toThrow(/\[RoPE\] dims must be even, got 7/);
    expect(() => new nn.RoPE(16).call(arr('rope_x'))).toThrow(/D >= 16/);
  });

  it('SinusoidalPositionalEncoding', () => {
    close(new nn.SinusoidalPositionalEncoding(6).call(arr('sin_pos', 'float32')), 'sin_y', 1e-6);
    close(
      new nn.SinusoidalPositionalEncoding(6, { cosFirst: true, fullTurns: true, scale: 0.5 }).call(arr('sin_pos', 'float32')),
      'sin_y_cosfirst_turns',
      1e-5,
    );
    expect(new nn.SinusoidalPositionalEncoding(6).parameters()).toEqual({});
  });
});

describe('MultiHeadAttention', () => {
  const load = (bias: boolean) => {
    const m = new nn.MultiHeadAttention(8, 2, { queryInputDims: 6, keyInputDims: 5, valueInputDims: 7, valueDims: 4, valueOutputDims: 3, bias });
    const p = (w: string, b: string) => (bias ? { weight: arr(w), bias: arr(b) } : { weight: arr(w) });
    return m.update({ queryProj: p('mha_wq', 'mha_bq'), keyProj: p('mha_wk', 'mha_bk'), valueProj: p('mha_wv', 'mha_bv'), outProj: p('mha_wo', 'mha_bo') });
  };
  const q = () => arr('mha_q'),
    k = () => arr('mha_k'),
    v = () => arr('mha_v');

  it('projections, heads, scaled softmax attention and output projection', () => {
    close(load(true).call(q(), k(), v()), 'mha_y', 1e-12);
    close(load(false).call(q(), k(), v()), 'mha_y_nobias', 1e-12);
  });

  it('additive mask, causal mask and the boolean causal mask', () => {
    close(load(true).call(q(), k(), v(), arr('mha_mask')), 'mha_y_mask', 1e-12);
    close(load(true).call(q(), k(), v(), 'causal'), 'mha_y_causal', 1e-12);
    const keep = kn.lessEqual(kn.arange(4).expandDims(0), kn.arange(3).expandDims(1).add(1));
    close(load(true).call(q(), k(), v(), keep), 'mha_y_causal', 1e-12);
  });

  it('parameter names and the default bias-free projections', () => {
    const m = new nn.MultiHeadAttention(8, 2);
    expect(kn.tree.flatten(m.parameters()).map(([k]) => k)).toEqual(['queryProj.weight', 'keyProj.weight', 'valueProj.weight', 'outProj.weight']);
    expect(() => new nn.MultiHeadAttention(8, 3)).toThrow(/dims 8 are not divisible by numHeads 3/);
    expect(() => m.call(kn.ones([2, 8]), kn.ones([2, 8]), kn.ones([2, 8]))).toThrow(/queries must be \[batch, length, features\]/);
  });

  it('createAdditiveCausalMask', () => {
    const m = nn.MultiHeadAttention.createAdditiveCausalMask(3).tolist() as number[][];
    const lo = kn.finfo('float32').min;
    expect(m).toEqual([
      [0, lo, lo],
      [0, 0, lo],
      [0, 0, 0],
    ]);
  });
});

describe('Dropout', () => {
  it('eval mode and p = 0 are the identity', () => {
    const x = kn.random.normal([10], { key: kn.random.key(0) });
    const d = new nn.Dropout(0.5);
    d.eval();
    expect(d.call(x)).toBe(x);
    expect(new nn.Dropout(0).call(x)).toBe(x);
  });

  it('training: zeros or x/(1 − p), about a fraction p zeroed; a call key fixes the mask', () => {
    const d = new nn.Dropout(0.25);
    const y = values(d.call(kn.ones([4000]), { key: kn.random.key(7) }));
    const zeros = y.filter((v) => v === 0).length;
    expect(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(zeros / 4000 - 0.25)).toBeLessThan(0.03);
    expect(values(d.call(kn.ones([4000]), { key: kn.random.key(7) }))).toEqual(y);
  });

  it('a module-held key gives reproducible, changing masks', () => {
    const a = new nn.Dropout(0.5, { key: kn.random.key(3) }),
      b = new nn.Dropout(0.5, { key: kn.random.key(3) });
    const a1 = a.call(kn.ones([64])).tolist(),
      a2 = a.call(kn.ones([64])).tolist();
    expect(a1).not.toEqual(a2);
    expect(b.call(kn.ones([64])).tolist()).toEqual(a1);
    expect(b.call(kn.ones([64])).tolist()).toEqual(a2);
  });

  it('Dropout2d drops whole channels', () => {
    const y = new nn.Dropout2d(0.5).call(kn.ones([2, 3, 3, 16]), { key: kn.random.key(1) });
    const v = y.tolist() as number[][][][];
    for (const n of v)
      for (let c = 0; c < 16; c++) {
        const chan = n.flatMap((row) => row.map((px) => px[c]));
        expect(new Set(chan).size).toBe(1);
      }
    expect(() => new nn.Dropout2d().call(kn.ones([2, 3]))).toThrow(/\[Dropout2d\] expected/);
    expect(() => new nn.Dropout(1)).toThrow(/\[Dropout\] p must be in \[0, 1\), got 1/);
  });
});

describe('Sequential', () => {
  it('applies modules and functions in order; parameters keep positions', () => {
    const s = new nn.Sequential(new nn.Linear(5, 4), nn.relu, new nn.Linear(4, 2, { bias: false }));
    s.setDtype('float64');
    s.update({ layers: [{ weight: arr('lin_w'), bias: arr('lin_b') }, {}, { weight: kn.ones([2, 4], 'float64') }] });
    const h = values(arr('lin_y')).map((v) => Math.max(v, 0));
    const want: number[] = [];
    for (let i = 0; i < h.length; i += 4) {
      const sum = h[i] + h[i + 1] + h[i + 2] + h[i + 3];
      want.push(sum, sum);
    }
    close(s.call(arr('lin_x')), { shape: [2, 3, 2], values: want });
    expect(kn.tree.flatten(s.parameters()).map(([k]) => k)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.2.weight']);
    expect(() => new nn.Sequential(3 as unknown as kn.nn.Module)).toThrow(/\[Sequential\] layer 0 must be a Module or a function/);
  });
});
