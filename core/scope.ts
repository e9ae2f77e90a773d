// kn.tidy scopes: every array created inside is tracked and disposed at the end unless returned.
// AsyncLocalStorage keeps async tidy scopes correct across awaits and concurrent tasks.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

export class Scope {
  readonly tracked = new Set<Disposable>();
  constructor(readonly parent: Scope | undefined) {}
}

export const scopeStorage = new AsyncLocalStorage<Scope>();

export function track(a: Disposable): void {
  scopeStorage.getStore()?.tracked.add(a);
}
