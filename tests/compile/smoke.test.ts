import { test, expect } from 'vitest';
import * as kn from '../../index.js';
const close = (a: any, b: any) => { const x = [a.tolist()].flat(Infinity), y = [b.tolist()].flat(Infinity); expect(x.length).toBe(y.length); x.forEach((v: number, i: number) => expect(Math.abs(v - y[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(y[i])))); };
test('smoke', () => {
  const fns: [string, (...a: any[]) => any][] = [
    ['chain', (x, y) => kn.add(kn.exp(x), kn.multiply(y, 2))],
    ['sum', (x, y) => kn.add(kn.exp(x), kn.multiply(y, 2)).sum()],
    ['softmax', (x) => kn.softmax(x, -1)],
    ['rms', (x) => kn.multiply(x, kn.rsqrt(kn.add(kn.mean(kn.square(x), -1, { keepdims: true }), 1e-5)))],
    ['mse', (x, y) => kn.mean(kn.square(kn.subtract(x, y)))],
    ['lse', (x) => kn.logsumexp(x, -1)],
    ['var', (x) => kn.var(x, -1)],
  ];
  const x = kn.random.normal([7, 300], { key: kn.random.key(1) }), y = kn.random.normal([7, 300], { key: kn.random.key(2) });
  for (const [name, f] of fns) {
    const c = kn.compile(f);
    const a = c(x, y), e = f(x, y);
    close(a, e);
    console.log(name, c.info.kernels, c.info.fused, c.info.schedule);
  }
});
