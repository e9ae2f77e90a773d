import { it, expect } from 'vitest';
import * as kn from '../index.js';

it('using frees the array at the end of its block', () => {
  const before = kn.memory.buffers();
  {
    using a = kn.ones([8]).eval();
    expect(kn.memory.buffers()).toBe(before + 1);
    expect(Array.from(a.toTypedArray() as Float32Array)).toEqual(new Array(8).fill(1));
  }
  expect(kn.memory.buffers()).toBe(before);
});
