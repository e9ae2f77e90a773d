// where kernel (binary.cc): every dtype × every layout for condition and both branches,
// three-way broadcasting, scalar branches and conditions of other dtypes.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';
import {
  DTYPES,
  LAYOUTS,
  broadcast,
  contiguous,
  expectMatches,
  genValues,
  mulberry32,
  nbytesOf,
  negstep,
  poison,
  runCase,
  seedOf,
  showInputs,
  sliced,
  transposed,
  zeroD,
  type DType,
  type Layout,
} from './util.js';

const COND_DOMAIN = { lo: -1, hi: 1, specials: [NaN, -0, 0], specialRate: 0.4, ilo: -1, ihi: 1, intSpecials: [0] };

interface Config {
  name: string;
  c: Layout | boolean;
  x: Layout | 'scalar';
  y: Layout | 'scalar';
  condDType?: DType;
}
const CONFIGS: Config[] = [
  ...LAYOUTS.map((l) => ({ name: `${l.name} (all three)`, c: l, x: l, y: l })),
  { name: 'mixed layouts', c: negstep([5, 6]), x: transposed([5, 6]), y: sliced([5, 6]) },
  { name: 'three-way broadcast', c: contiguous([4, 1, 1]), x: transposed([5, 1]), y: broadcast([6], [1]) },
  { name: 'scalar branches', c: transposed([5, 6]), x: 'scalar', y: 'scalar' },
  { name: 'scalar y', c: sliced([4, 7]), x: sliced([4, 7]), y: 'scalar' },
  { name: '0-d condition', c: zeroD(), x: transposed([5, 6]), y: negstep([5, 6]) },
  { name: 'JS boolean condition', c: false, x: transposed([5, 6]), y: contiguous([5, 6]) },
  { name: 'float32 condition (NaN is true)', c: transposed([5, 6]), x: contiguous([5, 6]), y: sliced([5, 6]), condDType: 'float32' },
  { name: 'int8 condition', c: sliced([4, 7]), x: sliced([4, 7]), y: contiguous([4, 7]), condDType: 'int8' },
];

// two JS scalar branches make an int32 (or bool) result whatever the test dtype: run that config once
const CASES = DTYPES.flatMap((d) =>
  CONFIGS.filter((c) => c.name !== 'scalar branches' || d === 'int32' || d === 'bool').map((c) => [d, c.name] as [DType, string]),
);

describe('where on every dtype and layout', () => {
  it.each(CASES)('%s %s', (d, name) => {
    const cfg = CONFIGS.find((c) => c.name === name)!;
    runCase(() => {
      const rng = mulberry32(seedOf('where', d, name));
      const cd = cfg.condDType ?? 'bool';
      const C = typeof cfg.c === 'boolean' ? { x: cfg.c, ref: cfg.c } : cfg.c.build(cd, (n) => genValues(cd, n, rng, COND_DOMAIN));
      const branch = (l: Layout | 'scalar', s: number) =>
        l === 'scalar' ? { x: d === 'bool' ? s > 0 : s, ref: d === 'bool' ? s > 0 : s } : l.build(d, (n) => genValues(d, n, rng));
      const X = branch(cfg.x, 2),
        Y = branch(cfg.y, R.isUnsigned(d) ? 3 : -3);
      const exp = R.whereRef(C.ref as R.Operand, X.ref as R.Operand, Y.ref as R.Operand);
      kn.eval([C.x, X.x, Y.x].filter((v): v is kn.NDArray => typeof v === 'object'));
      poison(nbytesOf(exp.dtype, exp.shape));
      const y = kn.where(C.x as kn.Operand, X.x as kn.Operand, Y.x as kn.Operand);
      const refs = [C.ref, X.ref, Y.ref].filter((r): r is R.RArray => typeof r === 'object');
      expectMatches(y, exp, { signedZero: true, inputs: showInputs(exp.shape, ...refs) });
    });
  });
});

describe('where: promotion and errors', () => {
  it('branches promote like binary ops', () => {
    const c = kn.array([true, false]);
    expect(kn.where(c, kn.array([1, 2], 'int8'), kn.array([3, 4], 'uint8')).dtype).toBe('int16');
    expect(kn.where(c, kn.array([1, 2], 'float16'), 2).dtype).toBe('float16');
    expect(kn.where(c, kn.array([1, 2], 'int32'), 2.5).dtype).toBe('float32');
    expect(kn.where(c, kn.array([1, 2], 'float16'), kn.array([1, 2], 'bfloat16')).dtype).toBe('float32');
    expect(kn.where(c, 1, 2).dtype).toBe('int32');
    expect(kn.where(c, 1, 2).tolist()).toEqual([1, 2]);
  });
  it('shapes that do not broadcast', () => {
    expect(() => kn.where(kn.array([true, false, true]), kn.zeros([2]), 0)).toThrow(/\[where\].*broadcast/);
  });
  it('a large case (multi-threaded): [500, 300] with a broadcast row condition', () => {
    runCase(() => {
      const rng = mulberry32(7);
      const C = contiguous([300]).build('bool', (n) => genValues('bool', n, rng));
      const X = transposed([500, 300]).build('float32', (n) => genValues('float32', n, rng));
      const Y = contiguous([500, 300]).build('float32', (n) => genValues('float32', n, rng));
      const exp = R.whereRef(C.ref, X.ref, Y.ref);
      kn.eval(C.x, X.x, Y.x);
      poison(nbytesOf('float32', exp.shape));
      expectMatches(kn.where(C.x, X.x, Y.x), exp, { signedZero: true });
    });
  });
});
