// nn.Module (DESIGN.md §4): a tree of parameters and child modules, read off the instance's own
// fields as in MLX. A field holding an NDArray is a parameter, a Module is a child, and JS arrays
// or plain objects nesting them are walked (lists keep their positions, so `layers.0.weight`).
// Fields whose name starts with '_' are private state and never part of the tree.
import { inspect } from 'node:util';
import { NDArray } from '../core/array.js';
import { isFloating, toDType, type DType } from '../core/dtype.js';
import { fmtShape, shapeEqual } from '../core/shape.js';
import { flatten, unflatten } from '../core/tree.js';
import { astype } from '../ops/elementwise.js';
import { loadSafetensors, saveSafetensors } from '../ops/io/safetensors.js';
import { loadNpz, savez } from '../ops/io/npz.js';

/** A nested parameter value: an array, or lists / plain objects of them. */
export type ParamTree = NDArray | ParamTree[] | { [key: string]: ParamTree };
/** What `parameters()` returns: parameter names to arrays or nested trees. */
export type Params = { [key: string]: ParamTree };
/** A nested tree of modules (what `children()` and `leafModules()` return). */
export type ModuleTree = Module | ModuleTree[] | { [key: string]: ModuleTree };

type Filter = (module: Module, key: string, value: unknown) => boolean;

const isPlainObject = (t: unknown): t is Record<string, unknown> =>
  t !== null && typeof t === 'object' && (Object.getPrototypeOf(t) === Object.prototype || Object.getPrototypeOf(t) === null);
const isBranch = (t: unknown): t is unknown[] | Record<string, unknown> => Array.isArray(t) || isPlainObject(t);

/** Whether a field value takes part in the tree: it is or (recursively) holds an array or module. */
function holdsState(v: unknown, seen = new Set<unknown>()): boolean {
  if (v instanceof NDArray || v instanceof Module) return true;
  if (!isBranch(v) || seen.has(v)) return false;
  seen.add(v);
  return (Array.isArray(v) ? v : Object.values(v)).some((e) => holdsState(e, seen));
}

/** Modules and containers on the path of the current tree walk (a module holding its parent would loop). */
const walking = new Set<unknown>();
function enter(node: unknown, where: string): void {
  if (walking.has(node)) {
    walking.clear();
    throw new Error(`[Module] the module tree has a cycle: '${where}' contains itself (keep back-references in '_' fields)`);
  }
  walking.add(node);
}

/** Whether a value is or nests a module. */
function hasModule(v: unknown): boolean {
  return v instanceof Module || (isBranch(v) && (Array.isArray(v) ? v : Object.values(v)).some(hasModule));
}

/** Whether a value is or nests an array outside any module (a module's own parameters). */
function hasOwnArrays(v: unknown): boolean {
  return v instanceof NDArray || (isBranch(v) && (Array.isArray(v) ? v : Object.values(v)).some(hasOwnArrays));
}

function keyList(keys: string | readonly string[] | undefined, op: string): string[] | undefined {
  if (keys === undefined) return undefined;
  const list = typeof keys === 'string' ? [keys] : keys;
  if (!Array.isArray(list) || !list.every((k) => typeof k === 'string'))
    throw new TypeError(`[Module.${op}] keys must be a string or an array of strings, got ${String(keys)}`);
  return [...list];
}

export interface FreezeOptions {
  /** also (un)freeze every submodule (default true) */
  recurse?: boolean;
  /** only these parameter names (a module's own field names, e.g. 'bias'); default all */
  keys?: string | readonly string[];
  /** throw when a module visited has no field named by `keys` (default false) */
  strict?: boolean;
}

export interface LoadWeightsOptions {
  /**
   * true (default): the weights must name exactly the model's parameters. false: names the model
   * lacks are ignored and parameters the weights lack keep their values. Shapes are checked in
   * both modes.
   */
  strict?: boolean;
}

/**
 * Base class of layers and models. Subclasses declare parameters and submodules as fields and
 * implement `forward`; call a module with `m.call(x)` (or `m.forward(x)`).
 * @example
 * class MLP extends kn.nn.Module {
 *   l1 = new kn.nn.Linear(4, 8);
 *   l2 = new kn.nn.Linear(8, 2);
 *   forward(x) { return this.l2.call(kn.nn.relu(this.l1.call(x))); }
 * }
 * new MLP().call(kn.ones([3, 4])).shape // [3, 2]
 */
export class Module {
  #training = true;
  #noGrad = new Set<string>();

  /** The computation; subclasses override it with their own signature. */
  forward(...args: unknown[]): unknown {
    void args;
    throw new Error(`[${this.constructor.name}.forward] this module does not implement forward()`);
  }

  /**
   * Runs `forward` (modules are not JS functions, so this stands in for MLX's `module(x)`).
   * @example new kn.nn.Linear(2, 3).call(kn.ones([2])).shape // [3]
   */
  call<M extends Module>(this: M, ...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    return this.forward(...(args as unknown[])) as ReturnType<M['forward']>;
  }

  /** Whether the module is in training mode (set by `train()` / `eval()`). @example new kn.nn.Dropout().training // true */
  get training(): boolean {
    return this.#training;
  }

  /** The module's own fields that take part in the tree, in declaration order. */
  #fields(): [string, unknown][] {
    return Object.entries(this).filter(([k, v]) => !k.startsWith('_') && holdsState(v));
  }

  /**
   * Walks the fields and maps the values that pass `filter` (a module with the field's name and
   * value), treating values for which `isLeaf` holds as leaves. Lists keep their length ({} where
   * an element is filtered out); plain objects and modules drop filtered keys.
   * @example new kn.nn.Linear(2, 2).filterAndMap((_m, k) => k === 'bias', (b) => b.shape) // { bias: [2] }
   */
  filterAndMap(filter: Filter, map: (v: unknown) => unknown = (v) => v, isLeaf: Filter = (_m, _k, v) => v instanceof NDArray): Record<string, unknown> {
    const unwrap = (owner: Module, key: string, value: unknown): unknown => {
      if (isLeaf(owner, key, value)) return map(value);
      if (value instanceof Module) return value.filterAndMap(filter, map, isLeaf);
      if (!isBranch(value)) return {};
      enter(value, key);
      try {
        if (Array.isArray(value))
          return value.map((v, i) => {
            const k = `${key}.${i}`;
            return filter(owner, k, v) ? unwrap(owner, k, v) : {};
          });
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) if (filter(owner, `${key}.${k}`, v)) out[k] = unwrap(owner, `${key}.${k}`, v);
        return out;
      } finally {
        walking.delete(value);
      }
    };
    enter(this, this.constructor.name);
    try {
      const out: Record<string, unknown> = {};
      for (const [k, v] of this.#fields()) if (filter(this, k, v)) out[k] = unwrap(this, k, v);
      return out;
    } finally {
      walking.delete(this);
    }
  }

  /**
   * Every parameter (trainable or frozen) as a tree: `{ layers: [{ weight, bias }, ...] }`.
   * @example kn.tree.flatten(new kn.nn.Linear(2, 3).parameters()).map(([k]) => k) // ['weight', 'bias']
   */
  parameters(): Params {
    return this.filterAndMap((_m, _k, v) => holdsState(v)) as Params;
  }

  /**
   * The parameters that are not frozen, shaped like `parameters()` without the frozen leaves.
   * @example Object.keys(new kn.nn.Linear(2, 3).freeze({ keys: 'bias' }).trainableParameters()) // ['weight']
   */
  trainableParameters(): Params {
    return this.filterAndMap((m, k, v) => {
      if (v instanceof Module) return true;
      if (!holdsState(v)) return false;
      const top = k.split('.')[0];
      if (!m.#noGrad.has(top) && !m.stateKeys().includes(top)) return true;
      // a frozen field's own arrays are out, but submodules nested in it follow their own flags
      return hasModule(v);
    }) as Params;
  }

  /**
   * Fields that are saved and loaded with the parameters but never trained (BatchNorm's running
   * statistics); `trainableParameters()` leaves them out whatever `unfreeze` says.
   */
  protected stateKeys(): readonly string[] {
    return [];
  }

  /**
   * The direct submodules as a tree (fields holding modules, lists and objects of modules).
   * @example Object.keys(new kn.nn.MultiHeadAttention(8, 2).children()) // ['queryProj', 'keyProj', 'valueProj', 'outProj']
   */
  children(): { [key: string]: ModuleTree } {
    return this.filterAndMap(
      (_m, _k, v) => hasModule(v),
      undefined,
      (_m, _k, v) => v instanceof Module,
    ) as { [key: string]: ModuleTree };
  }

  /**
   * The submodules with no submodules of their own, as a tree.
   * @example kn.tree.flatten(new kn.nn.Sequential(new kn.nn.Linear(2, 2), new kn.nn.ReLU()).leafModules()).map(([k]) => k) // ['layers.0', 'layers.1']
   */
  leafModules(): { [key: string]: ModuleTree } {
    const isLeaf = (v: unknown) => v instanceof Module && flatten(v.children()).length === 0;
    return this.filterAndMap(
      (_m, _k, v) => hasModule(v),
      undefined,
      (_m, _k, v) => isLeaf(v),
    ) as { [key: string]: ModuleTree };
  }

  /**
   * This module (named '') and every submodule with its dotted path, parents before their
   * children, fields in declaration order.
   * @example new kn.nn.Sequential(new kn.nn.Linear(2, 2)).namedModules().map(([k]) => k) // ['', 'layers.0']
   */
  namedModules(): [string, Module][] {
    const out: [string, Module][] = [];
    const visit = (prefix: string, m: Module) => {
      out.push([prefix, m]);
      for (const [k, child] of flatten<Module>(m.children(), { prefix, isLeaf: (t) => t instanceof Module })) if (child instanceof Module) visit(k, child);
    };
    visit('', this);
    return out;
  }

  /** Every module of the tree (this one first). @example new kn.nn.Sequential(new kn.nn.ReLU()).modules().length // 2 */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * Calls `fn(path, module)` on this module and every submodule (the order of `namedModules`).
   * @example
   * const seen = [];
   * new kn.nn.Sequential(new kn.nn.ReLU()).applyToModules((name, m) => seen.push([name, m.constructor.name]));
   * seen // [['', 'Sequential'], ['layers.0', 'ReLU']]
   */
  applyToModules(fn: (name: string, module: Module) => void): this {
    for (const [k, m] of this.namedModules()) fn(k, m);
    return this;
  }

  /**
   * Replaces parameters from a tree shaped like (part of) `parameters()`: plain objects, lists, or
   * objects keyed '0', '1', ... for lists (as `kn.tree.unflatten` makes). With `strict` (default)
   * every key must name an existing parameter and every leaf must be an array.
   * @example new kn.nn.Linear(2, 3).update({ bias: kn.ones([3]) }).bias // [1, 1, 1]
   */
  update(params: Record<string, unknown>, opts: { strict?: boolean } = {}): this {
    this.#updateTree(
      params,
      opts.strict ?? true,
      'update',
      (cur) => cur instanceof NDArray,
      (v) => v instanceof NDArray,
      'an array',
    );
    return this;
  }

  /**
   * Replaces submodules from a tree shaped like (part of) `children()` (e.g. to swap a Linear for
   * a LoRA layer).
   * @example new kn.nn.Sequential(new kn.nn.ReLU()).updateModules({ layers: { 0: new kn.nn.GELU() } }).layers[0].constructor.name // 'GELU'
   */
  updateModules(modules: Record<string, unknown>, opts: { strict?: boolean } = {}): this {
    this.#updateTree(
      modules,
      opts.strict ?? true,
      'updateModules',
      (cur) => cur instanceof Module,
      (v) => v instanceof Module,
      'a Module',
    );
    return this;
  }

  #updateTree(src: unknown, strict: boolean, op: string, isTarget: (cur: unknown) => boolean, isValue: (v: unknown) => boolean, what: string): void {
    const fail = (path: string, msg: string) => {
      throw new Error(`[Module.${op}] ${msg} at '${path}'`);
    };
    const visit = (dst: Record<string, unknown> | unknown[], tree: unknown, path: string, isModule: boolean) => {
      if (!isBranch(tree)) {
        if (strict) fail(path || '(root)', `expected an object or list of new values, got ${typeof tree}`);
        return;
      }
      const entries = Array.isArray(tree) ? tree.map((v, i) => [String(i), v] as const) : Object.entries(tree);
      for (const [k, nv] of entries) {
        const p = path ? `${path}.${k}` : k;
        const has = Array.isArray(dst)
          ? /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < dst.length
          : Object.prototype.hasOwnProperty.call(dst, k) && !(isModule && k.startsWith('_'));
        if (!has) {
          if (strict) fail(p, 'the module has no such entry');
          continue;
        }
        const cur = (dst as Record<string, unknown>)[k];
        // {} stands for "nothing here" (parameter-free modules, functions in a Sequential)
        if (isBranch(nv) && !isBranch(cur) && !(cur instanceof Module) && flatten(nv).length === 0) continue;
        if (isTarget(cur)) {
          if (isValue(nv)) (dst as Record<string, unknown>)[k] = nv;
          else if (strict || nv instanceof NDArray || nv instanceof Module) fail(p, `expected ${what}, got ${nv instanceof Module ? 'a Module' : typeof nv}`);
        } else if (cur instanceof Module) cur.#updateTree(nv, strict, op, isTarget, isValue, what);
        else if (isBranch(cur)) visit(cur, nv, p, false);
        else if (strict) fail(p, `the module's entry is not ${what}`);
      }
    };
    visit(this as unknown as Record<string, unknown>, src, '', true);
  }

  /**
   * Maps every parameter that passes `filter` (default: all) and stores the results.
   * @example new kn.nn.Linear(2, 2).apply((p) => p.astype('float16')).weight.dtype // 'float16'
   */
  apply(fn: (p: NDArray) => NDArray, filter: Filter = (_m, _k, v) => holdsState(v)): this {
    return this.update(this.filterAndMap(filter, (v) => fn(v as NDArray)));
  }

  /**
   * Casts the parameters whose dtype passes `predicate` (default: floating types) to `dtype`.
   * @example new kn.nn.Linear(2, 2).setDtype('float16').weight.dtype // 'float16'
   */
  setDtype(dtype: DType, predicate: (d: DType) => boolean = isFloating): this {
    const dt = toDType(dtype, 'Module.setDtype');
    return this.apply((p) => (predicate(p.dtype) ? astype(p, dt) : p));
  }

  /**
   * Freezes parameters so `trainableParameters()` (and so `nn.valueAndGrad`) leaves them out.
   * Keys name a module's own fields (`'bias'` freezes every bias when recursing), as in MLX; a
   * frozen field freezes the arrays it holds, while modules nested in it keep their own flags.
   * @example Object.keys(new kn.nn.Linear(2, 2).freeze().unfreeze({ keys: ['bias'] }).trainableParameters()) // ['bias']
   */
  freeze(opts: FreezeOptions = {}): this {
    const keys = keyList(opts.keys, 'freeze');
    this.#eachForFreeze(opts, (m) => {
      const local =
        keys ??
        m
          .#fields()
          .filter(([, v]) => hasOwnArrays(v))
          .map(([k]) => k);
      if (opts.strict) m.#checkKeys(local, 'freeze');
      for (const k of local) m.#noGrad.add(k);
    });
    return this;
  }

  /**
   * Undoes `freeze` for all parameters or the named ones.
   * @example Object.keys(new kn.nn.Linear(2, 2).freeze().unfreeze({ keys: 'weight' }).trainableParameters()) // ['weight']
   */
  unfreeze(opts: FreezeOptions = {}): this {
    const keys = keyList(opts.keys, 'unfreeze');
    this.#eachForFreeze(opts, (m) => {
      if (keys === undefined) m.#noGrad.clear();
      else {
        if (opts.strict) m.#checkKeys(keys, 'unfreeze');
        for (const k of keys) m.#noGrad.delete(k);
      }
    });
    return this;
  }

  #eachForFreeze(opts: FreezeOptions, fn: (m: Module) => void): void {
    if (opts === null || typeof opts !== 'object') throw new TypeError('[Module.freeze] options must be an object');
    if (opts.recurse ?? true) for (const m of this.modules()) fn(m);
    else fn(this);
  }

  #checkKeys(keys: string[], op: string): void {
    const own = new Set(this.#fields().map(([k]) => k));
    for (const k of keys) if (!own.has(k)) throw new Error(`[Module.${op}] ${this.constructor.name} has no parameter '${k}'`);
  }

  /**
   * Sets training mode on this module and every submodule (Dropout and BatchNorm behave
   * differently in training).
   * @example new kn.nn.Dropout().train(false).training // false
   */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`[Module.train] mode must be a boolean, got ${typeof mode}`);
    for (const m of this.modules()) m.#training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. @example new kn.nn.Dropout().eval().training // false */
  eval(): this {
    return this.train(false);
  }

  /**
   * Saves every parameter under its dotted name to `.safetensors` (or `.npz`).
   * @example
   * new kn.nn.Linear(2, 2).saveWeights('/tmp/kiln-doc-linear.safetensors');
   * Object.keys(kn.loadSafetensors('/tmp/kiln-doc-linear.safetensors').tensors).sort() // ['bias', 'weight']
   */
  saveWeights(path: string): void {
    if (typeof path !== 'string') throw new TypeError(`[Module.saveWeights] path must be a string, got ${typeof path}`);
    const weights: Record<string, NDArray> = Object.fromEntries(flatten<NDArray>(this.parameters()));
    if (path.endsWith('.safetensors')) saveSafetensors(path, weights);
    else if (path.endsWith('.npz')) savez(path, weights);
    else throw new Error(`[Module.saveWeights] unsupported file '${path}': use a .safetensors or .npz path`);
  }

  /**
   * Loads parameters from a `.safetensors` / `.npz` file (or a sharded `.safetensors.index.json`),
   * `[name, array]` pairs or a `{ name: array }` record. Names are dotted paths as in
   * `kn.tree.flatten(model.parameters())`. Loaded arrays keep their dtype (see `setDtype`).
   * @example
   * new kn.nn.Linear(2, 2).update({ bias: kn.ones([2]) }).saveWeights('/tmp/kiln-doc-linear.safetensors');
   * new kn.nn.Linear(2, 2).loadWeights('/tmp/kiln-doc-linear.safetensors').bias // [1, 1]
   * @example new kn.nn.Linear(2, 2).loadWeights([['bias', kn.zeros([2])]], { strict: false }).bias // [0, 0]
   */
  loadWeights(weights: string | Iterable<readonly [string, NDArray]> | Record<string, NDArray>, opts: LoadWeightsOptions = {}): this {
    const op = '[Module.loadWeights]';
    const strict = opts.strict ?? true;
    let pairs: [string, unknown][];
    if (typeof weights === 'string') {
      if (weights.endsWith('.safetensors') || weights.endsWith('.safetensors.index.json')) pairs = Object.entries(loadSafetensors(weights).tensors);
      else if (weights.endsWith('.npz')) pairs = Object.entries(loadNpz(weights));
      else throw new Error(`${op} unsupported file '${weights}': use a .safetensors, .safetensors.index.json or .npz path`);
    } else if (weights !== null && typeof weights === 'object' && Symbol.iterator in weights) {
      pairs = [];
      for (const e of weights as Iterable<unknown>) {
        if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') throw new TypeError(`${op} entries must be [name, array] pairs`);
        pairs.push([e[0], e[1]]);
      }
    } else if (isPlainObject(weights)) pairs = Object.entries(weights);
    else throw new TypeError(`${op} expected a file path, [name, array] pairs or a { name: array } record, got ${typeof weights}`);

    const current = new Map(flatten<NDArray>(this.parameters()));
    const given = new Map<string, NDArray>();
    for (const [k, v] of pairs) {
      if (!(v instanceof NDArray)) throw new TypeError(`${op} the value for '${k}' is not an array`);
      if (given.has(k)) throw new Error(`${op} '${k}' appears twice in the weights`);
      given.set(k, v);
    }
    const problems: string[] = [];
    const list = (ks: string[]) => ks.sort().join(', ');
    if (strict) {
      const extra = [...given.keys()].filter((k) => !current.has(k));
      const missing = [...current.keys()].filter((k) => !given.has(k));
      if (extra.length) problems.push(`${extra.length} weight${extra.length > 1 ? 's are' : ' is'} not a parameter of the model: ${list(extra)}`);
      if (missing.length) problems.push(`${missing.length} parameter${missing.length > 1 ? 's are' : ' is'} missing from the weights: ${list(missing)}`);
    }
    for (const [k, v] of given) {
      const cur = current.get(k);
      if (cur && !shapeEqual(cur.shape, v.shape)) problems.push(`'${k}' has shape ${fmtShape(v.shape)} in the weights but ${fmtShape(cur.shape)} in the model`);
    }
    if (problems.length) throw new Error(`${op} ${problems.join('; ')}`);
    const use = [...given].filter(([k]) => current.has(k));
    if (use.length) this.update(unflatten(use) as Record<string, unknown>);
    return this;
  }

  /** Extra text shown inside the parentheses when printing (layers override it). */
  protected describe(): string {
    return '';
  }

  /** MLX-style summary: the module, its settings and its submodules, indented. */
  toString(): string {
    const kids = flatten<Module>(this.children(), { isLeaf: (t) => t instanceof Module });
    const head = `${this.constructor.name}(${this.describe()}`;
    if (!kids.length) return `${head})`;
    const body = kids.map(([k, m]) => `  (${k}): ${String(m).split('\n').join('\n  ')}`).join('\n');
    return `${head}\n${body}\n)`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
