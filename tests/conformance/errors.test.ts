// Clear errors (DESIGN.md §6: they name the op and the values) for bad shapes, axes and dtypes of
// the elementwise ops and array creation. View, reduction and matmul errors sit in their files.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

describe('elementwise errors', () => {
  it('binary shapes that do not broadcast name the op and the shapes', () => {
    expect(() => kn.add(kn.zeros([2, 3]), kn.zeros([4]))).toThrow(/\[add\] shapes \[2, 3\] and \[4\] cannot be broadcast together/);
    expect(() => kn.less(kn.zeros([2]), kn.zeros([3]))).toThrow(/\[less\].*broadcast/);
    expect(() => kn.zeros([3]).multiply(kn.zeros([2, 2]))).toThrow(/\[multiply\].*broadcast/);
    expect(() => kn.arctan2(kn.zeros([0]), kn.zeros([2]))).toThrow(/\[arctan2\].*broadcast/);
  });
  it('bitwise ops reject floats, shifts reject bool', () => {
    expect(() => kn.bitwiseAnd(kn.zeros([2]), kn.zeros([2]))).toThrow(/\[bitwiseAnd\] is only defined for integer and bool arrays, got float32/);
    expect(() => kn.bitwiseOr(kn.zeros([2], 'int32'), 1.5)).toThrow(/\[bitwiseOr\].*float32/);
    expect(() => kn.leftShift(kn.array([true]), kn.array([true]))).toThrow(/\[leftShift\] is only defined for integer arrays, got bool/);
    expect(() => kn.bitwiseInvert(kn.zeros([2], 'float16'))).toThrow(/\[bitwiseInvert\].*float16/);
  });
  it('bool negative and subtract', () => {
    expect(() => kn.negative(kn.array([true]))).toThrow(/\[negative\] is not supported for bool arrays/);
    expect(() => kn.subtract(kn.array([true]), kn.array([false]))).toThrow(/\[subtract\] boolean subtract is not supported/);
  });
  it('astype to an unknown dtype', () => {
    expect(() => kn.zeros([2]).astype('float8' as kn.DType)).toThrow(/\[astype\] unknown dtype "float8"/);
  });
  it('round with fractional decimals', () => {
    expect(() => kn.round(kn.zeros([2]), 0.5)).toThrow(/\[round\] decimals must be an integer/);
  });
  it('non-array operands', () => {
    expect(() => kn.add(kn.zeros([2]), 'float32' as unknown as number)).toThrow(/\[add\]/);
    expect(() => kn.exp(null as unknown as number)).toThrow(/\[exp\]/);
  });
});

describe('creation errors', () => {
  it('ragged and non-numeric nested lists', () => {
    expect(() => kn.array([[1, 2], [3]])).toThrow(/\[array\] ragged nested list/);
    expect(() => kn.array([1, 'a' as unknown as number])).toThrow(/\[array\] element \[1\] is string/);
  });
  it('bad shapes and fill values', () => {
    expect(() => kn.zeros([2, -1])).toThrow(/\[full\] shape must contain non-negative integers/);
    expect(() => kn.zeros([1.5])).toThrow(/\[full\]/);
    expect(() => kn.full([2], 'x' as unknown as number)).toThrow(/\[full\] fill value must be a number/);
  });
  it('arange arguments', () => {
    expect(() => kn.arange(0, 1, 0)).toThrow(/\[arange\] step must not be zero/);
    expect(() => kn.arange(0, Infinity)).toThrow(/\[arange\]/);
  });
  it('non-finite values into integer arrays', () => {
    expect(() => kn.array([NaN], 'int64')).toThrow(/\[array\] NaN does not fit int64/);
  });
  it('item of a non-scalar', () => {
    expect(() => kn.zeros([2]).item()).toThrow(/\[item\] can only convert an array of size 1, got shape \[2\]/);
  });
});

describe('the process survives bad input (errors, not crashes)', () => {
  it('evaluating after an error still works', () => {
    expect(() => kn.add(kn.zeros([2]), kn.zeros([3]))).toThrow();
    expect(kn.add(kn.ones([2]), 1).tolist()).toEqual([2, 2]);
  });
});
