// nn.valueAndGrad: gradients of a loss with respect to a model's trainable parameters.
import { valueAndGrad as transformValueAndGrad } from '../ops/transforms.js';
import { Module, type Params } from './module.js';

/**
 * Wraps `lossFn(model, ...args)` into `(...args) => [loss, grads]`, where grads is shaped like
 * `model.trainableParameters()` (frozen parameters get no gradient). During the call the model
 * holds traced copies of its parameters; afterwards it holds the originals again (state such as
 * BatchNorm's running statistics keeps its update). lossFn returns a scalar or `[loss, ...aux]`.
 * As in MLX the model may also be passed as the first argument (`step(model, x, y)`): lossFn then
 * gets it once, not twice.
 * @example
 * const model = new kn.nn.Linear(3, 1);
 * const lossFn = (m, x, y) => kn.nn.losses.mseLoss(m.call(x), y);
 * const [loss, grads] = kn.nn.valueAndGrad(model, lossFn)(kn.ones([4, 3]), kn.zeros([4, 1]));
 * [grads.weight.shape, grads.bias.shape] // [[1, 3], [1]]
 */
export function valueAndGrad<M extends Module, A extends unknown[], R>(model: M, lossFn: (model: M, ...args: A) => R): (...args: A | [M, ...A]) => [R, Params] {
  if (!(model instanceof Module)) throw new TypeError('[nn.valueAndGrad] the first argument must be an nn.Module');
  if (typeof lossFn !== 'function') throw new TypeError('[nn.valueAndGrad] the second argument must be a loss function (model, ...args) => loss');
  const inner = (params: Params, ...args: A): R => {
    model.update(params);
    return lossFn(model, ...args);
  };
  const vg = transformValueAndGrad(inner);
  return (...given: A | [M, ...A]) => {
    const args = (given[0] === model ? given.slice(1) : given) as A;
    const saved = model.trainableParameters();
    try {
      const [value, grads] = vg(saved, ...args);
      return [value, grads as Params];
    } finally {
      model.update(saved);
    }
  };
}
