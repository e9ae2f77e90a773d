// Sequential: applies layers (modules or plain functions such as kn.nn.relu) one after another.
import type { NDArray } from '../../core/array.js';
import { Module } from '../module.js';

export type Layer = Module | ((x: NDArray) => NDArray);

/**
 * Chains layers; parameters are named `layers.0.weight`, ... (functions take a position but
 * hold no parameters).
 * @example const mlp = new kn.nn.Sequential(new kn.nn.Linear(4, 8), kn.nn.relu, new kn.nn.Linear(8, 2));
 * mlp.call(kn.ones([3, 4])).shape // [3, 2]
 */
export class Sequential extends Module {
  layers: Layer[];

  constructor(...layers: Layer[]) {
    super();
    layers.forEach((l, i) => {
      if (!(l instanceof Module) && typeof l !== 'function')
        throw new TypeError(`[Sequential] layer ${i} must be a Module or a function, got ${l === null ? 'null' : typeof l}`);
    });
    this.layers = layers;
  }

  forward(x: NDArray): NDArray {
    let y = x;
    for (const l of this.layers) y = l instanceof Module ? (l.forward(y) as NDArray) : l(y);
    return y;
  }

  protected override describe(): string {
    const fns = this.layers.filter((l) => !(l instanceof Module)).length;
    return fns ? `${fns} function layer${fns > 1 ? 's' : ''}` : '';
  }
}
