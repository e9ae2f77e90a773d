// Max and average pooling against numpy loops (fixtures/make_nn_fixtures.py).
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';
import { arr, close } from './util.js';

const nn = kn.nn;

describe('pooling matches numpy loops', () => {
  it('MaxPool1d / AvgPool1d with stride and padding', () => {
    close(new nn.MaxPool1d(2).call(arr('pool1_x')), 'max1_k2');
    close(new nn.MaxPool1d(3, { stride: 2, padding: 1 }).call(arr('pool1_x')), 'max1_k3_s2_p1');
    close(new nn.AvgPool1d(3, { stride: 1, padding: 1 }).call(arr('pool1_x')), 'avg1_k3_s1_p1');
  });

  it('MaxPool2d / AvgPool2d with per-axis kernel, stride and padding', () => {
    close(new nn.MaxPool2d(2).call(arr('pool2_x')), 'max2_k2');
    close(new nn.MaxPool2d([3, 2], { stride: [1, 2], padding: [1, 0] }).call(arr('pool2_x')), 'max2_k3x2_s1x2_p1x0');
    close(new nn.AvgPool2d([2, 3], { stride: [2, 1], padding: 1 }).call(arr('pool2_x')), 'avg2_k2x3_s2x1_p1x1');
    close(new nn.AvgPool2d(2).call(arr('pool2_x')), 'avg2_k2');
  });

  it('hand-checked small cases; float32 stays float32', () => {
    const x = kn.array([[[1], [5], [2], [0], [3]]], 'float32');
    const m = new nn.MaxPool1d(2, { stride: 1 }).call(x);
    expect(m.dtype).toBe('float32');
    expect(m.tolist()).toEqual([[[5], [5], [2], [3]]]);
    expect(new nn.AvgPool1d(2, { stride: 2, padding: 1 }).call(x).tolist()).toEqual([[[0.5], [3.5], [1.5]]]);
  });

  it('max pooling of integers pads below every value', () => {
    const x = kn.array([[[-5], [-7], [-9]]], 'int32');
    expect(new nn.MaxPool1d(2, { stride: 2, padding: 1 }).call(x).tolist()).toEqual([[[-5], [-7]]]);
  });

  it('pooling layers hold no parameters', () => {
    expect(new nn.MaxPool2d(2).parameters()).toEqual({});
  });

  it('errors', () => {
    expect(() => new nn.MaxPool1d(2).call(kn.ones([4, 2]))).toThrow(/\[MaxPool1d\] expected \[N, L, C\]/);
    expect(() => new nn.MaxPool2d(2, { padding: 2 })).toThrow(/padding 2 must be at most half the kernel size 2/);
    expect(() => new nn.AvgPool2d([2, 2, 2])).toThrow(/\[AvgPool2d\] kernelSize must be/);
    expect(() => new nn.MaxPool1d(5).call(kn.ones([1, 3, 1]))).toThrow(/kernel spans 5/);
  });
});
