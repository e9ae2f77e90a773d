// Arrays an optimizer stores (its state, a model's new parameters) must outlive the kn.tidy
// around a training step. `keep` takes them out of every enclosing tidy scope; the optimizer then
// owns them and disposes them itself when a later step replaces them.
import type { NDArray } from '../../core/array.js';
import { scopeStorage } from '../../core/scope.js';

/** Removes `a` from every enclosing kn.tidy scope so the end of those scopes does not free it. */
export function keep(a: NDArray): void {
  for (let s = scopeStorage.getStore(); s; s = s.parent) s.tracked.delete(a);
}
