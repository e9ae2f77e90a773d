// The optimizer base class (MLX's semantics): per-parameter state kept by dotted parameter path,
// a step count, a learning rate that may follow a schedule, and lazy updates. Memory is managed
// deterministically (DESIGN.md §2): the arrays an optimizer stores survive any kn.tidy around a
// training step, and the ones it replaces are disposed by the next step.
import { NDArray } from '../../core/array.js';
import { isFloating, type DType } from '../../core/dtype.js';
import { tidy } from '../../core/memory.js';
import { flatten, isContainer, mapWithPath, treeLeaves, unflatten } from '../../core/tree.js';
import { add, array, astype } from '../../ops/index.js';
import { loadSafetensors, saveSafetensors } from '../../ops/io/index.js';
import { keep } from '../../core/memory.js';
import { checkLearningRate } from './validate.js';
import { isArraySchedule } from './schedules.js';
import type { LearningRate, Schedule } from './types.js';
export type { LearningRate, Schedule } from './types.js';

/** One parameter's optimizer state, e.g. `{ m, v }` for Adam. */
export type SlotState = Record<string, NDArray>;

/** Anything with trainable parameters that can take new ones, such as an nn.Module. */
export interface Trainable {
  trainableParameters(): unknown;
  update(parameters: unknown): unknown;
  parameters?(): unknown;
}

// Top-level state keys that are not parameter paths.
const STEP = 'step';
const LEARNING_RATE = 'learning_rate';

/**
 * Base class of every optimizer. Subclasses implement `initSingle` (a parameter's fresh state)
 * and `applySingle` (one parameter's update, replacing entries of its state object).
 *
 * Memory: the optimizer owns the arrays in its state (moments, step, learning rate) and the new
 * parameters `update()` gives a model. They are kept out of every enclosing `kn.tidy`, and the
 * ones a later step replaces are disposed then (graph edges keep them alive until lazy users are
 * evaluated). Parameters the model held before the first `update()` are never disposed. Arrays
 * handed over through `opt.state = tree`, `opt.learningRate = array` or `loadState` become the
 * optimizer's. The recommended loop:
 *
 * ```ts
 * const step = kn.nn.valueAndGrad(model, lossFn);
 * for (const [x, y] of batches) {
 *   const loss = kn.tidy(() => {
 *     const [loss, grads] = step(x, y);
 *     opt.update(model, grads);
 *     kn.eval(loss, model.parameters(), opt.state);
 *     return loss;
 *   });
 *   console.log(loss.item()); loss.dispose();
 * }
 * ```
 */
export abstract class Optimizer {
  #stepArray: NDArray;
  /** during an update: the step count after it, as a lazy uint64 array */
  #nextStep: NDArray | null = null;
  #hyper = new Map<string, NDArray>();
  #schedules = new Map<string, Schedule>();
  #slots = new Map<string, SlotState>();
  #owned = new WeakSet<NDArray>();
  #ownedParams = new WeakSet<NDArray>();
  /** the parameter path being updated, for error messages */
  #path = '';

  constructor() {
    this.#stepArray = this.#own(array(0, 'uint64'));
  }

  /** Name used in error messages. */
  protected get opName(): string {
    return this.constructor.name;
  }

  /** A fresh state for one parameter (zeros shaped like it, usually). */
  protected abstract initSingle(parameter: NDArray): SlotState;

  /**
   * The updated parameter for one gradient; replaces the entries of `state` it changes (the
   * old arrays are disposed by the base class once nothing in the new state uses them).
   */
  protected abstract applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray;

  /** Reads a state entry, with an error naming the parameter when a loaded state lacks it. */
  protected slot(state: SlotState, key: string): NDArray {
    const a = state[key];
    if (!(a instanceof NDArray))
      throw new Error(`[${this.opName}] the state of parameter '${this.#path}' has no '${key}' array (was it loaded from another optimizer?)`);
    return a;
  }

  /**
   * Number of updates applied so far (MLX keeps it as `state.step`, a uint64 array; reading this
   * evaluates it). During an update: the count including it.
   */
  get step(): number {
    return Number((this.#nextStep ?? this.#stepArray).item());
  }

  /**
   * The step count including the update in progress, as a 0-d array of `dtype`: bias corrections
   * and step-dependent rates use it so they stay in the graph (and follow a compiled step).
   */
  protected stepAs(dtype: DType): NDArray {
    return astype(this.#nextStep ?? this.#stepArray, dtype);
  }

  /** A schedule's value at the step count in `step` (a uint64 0-d array). */
  #scheduleAt(schedule: Schedule, step: NDArray): number | NDArray {
    if (isArraySchedule(schedule)) return astype(schedule(step), 'float32');
    return schedule(Number(step.item()));
  }

  /**
   * The learning rate as a float32 0-d array (for a schedule: the value used by the latest
   * update, or the schedule at step 0 before any). Set a number, an array or a schedule.
   * @example
   * const opt = new kn.optim.SGD(0.1);
   * opt.learningRate.item() // 0.1 (float32)
   */
  get learningRate(): NDArray {
    const lr = this.#hyper.get(LEARNING_RATE);
    if (!lr) throw new Error(`[${this.opName}] has no learning rate`);
    return lr;
  }
  set learningRate(value: LearningRate) {
    this.#schedules.delete(LEARNING_RATE);
    this.setSchedulable(LEARNING_RATE, checkLearningRate(this.opName, value));
  }

  /** Stores a hyperparameter that may be a schedule (MLX's `_maybe_schedule`). */
  protected setSchedulable(name: string, value: LearningRate): void {
    if (typeof value === 'function') {
      this.#schedules.set(name, value);
      this.#setHyper(name, this.#scheduleAt(value, this.#stepArray));
    } else {
      this.#setHyper(name, value);
    }
  }

  #setHyper(name: string, value: number | NDArray): void {
    let a: NDArray;
    if (value instanceof NDArray) a = value;
    else if (typeof value === 'number' && Number.isFinite(value)) a = array(value, 'float32');
    else throw new TypeError(`[${this.opName}] ${name} must be a finite number or an array, got ${String(value)}`);
    if (a.size !== 1) throw new Error(`[${this.opName}] ${name} must have one element, got shape [${a.shape.join(', ')}]`);
    const old = this.#hyper.get(name);
    this.#hyper.set(name, this.#own(a));
    if (old && old !== a) this.#release(old);
  }

  #own(a: NDArray): NDArray {
    keep(a);
    this.#owned.add(a);
    return a;
  }

  #release(a: NDArray): void {
    if (this.#owned.has(a)) {
      this.#owned.delete(a);
      a.dispose();
    }
  }

  /** Every array in the state, for releasing what a replacement no longer uses. */
  #stateArrays(): NDArray[] {
    const out = [this.#stepArray, ...this.#hyper.values()];
    for (const s of this.#slots.values()) out.push(...Object.values(s));
    return out;
  }

  #checkPath(op: string, path: string): void {
    if (path === '') throw new TypeError(`[${op}] parameters and gradients must be trees (objects, arrays or Maps) of arrays, not a single array`);
    const top = path.split('.')[0];
    if (top === STEP || this.#hyper.has(top) || this.#schedules.has(top) || top === LEARNING_RATE)
      throw new Error(`[${op}] parameter '${path}' collides with the optimizer's state key '${top}'`);
  }

  /**
   * Creates the state of every parameter that has none yet (optional: the first update does it).
   * @example
   * const opt = new kn.optim.Adam(1e-3);
   * opt.init({ w: kn.zeros([2]) });
   * Object.keys(opt.state) // ['step', 'learning_rate', 'w']
   */
  init(parameters: unknown): void {
    const op = `${this.opName}.init`;
    if (!isContainer(parameters)) throw new TypeError(`[${op}] parameters must be a tree (object, array or Map) of arrays`);
    for (const [path, p] of flatten<unknown>(parameters)) {
      if (!(p instanceof NDArray)) throw new TypeError(`[${op}] parameter '${path}' is ${describe(p)}, not an array`);
      this.#initSlot(op, path, p);
    }
  }

  #initSlot(op: string, path: string, p: NDArray): void {
    this.#checkPath(op, path);
    if (this.#slots.has(path)) return;
    const s = tidy(() => this.initSingle(p));
    for (const a of Object.values(s)) this.#own(a);
    this.#slots.set(path, s);
  }

  /**
   * Applies one step to a tree of parameters and returns the updated parameters, shaped like
   * `gradients` (which may cover a subset of `parameters`). Updates are lazy; the state
   * advances now. The returned arrays belong to the caller (a surrounding kn.tidy frees them
   * unless they are returned or handed to a model).
   * @example
   * const opt = new kn.optim.SGD(0.1);
   * opt.applyGradients({ w: kn.array([1, 2], 'float32') }, { w: kn.array([1, 1], 'float32') }) // { w: [0.9, 0.8] }
   */
  applyGradients<T>(gradients: T, parameters: unknown): T {
    const op = `${this.opName}.applyGradients`;
    if (!isContainer(gradients)) throw new TypeError(`[${op}] gradients must be a tree (object, array or Map) of arrays`);
    if (!isContainer(parameters)) throw new TypeError(`[${op}] parameters must be a tree (object, array or Map) of arrays`);
    const params = new Map(flatten<unknown>(parameters));
    const work: [string, NDArray, NDArray][] = [];
    for (const [path, g] of flatten<unknown>(gradients)) {
      if (!(g instanceof NDArray)) throw new TypeError(`[${op}] gradient '${path}' is ${describe(g)}, not an array`);
      if (!isFloating(g.dtype)) throw new TypeError(`[${op}] gradient '${path}' has dtype ${g.dtype}; gradients must be floating point`);
      const p = params.get(path);
      if (!(p instanceof NDArray)) throw new Error(`[${op}] gradient '${path}' has no matching parameter${p === undefined ? '' : ` (found ${describe(p)})`}`);
      const gs = g.shape,
        ps = p.shape;
      if (gs.length !== ps.length || gs.some((d, i) => d !== ps[i]))
        throw new Error(`[${op}] gradient '${path}' has shape [${gs.join(', ')}] but the parameter has shape [${ps.join(', ')}]`);
      this.#checkPath(op, path);
      work.push([path, g, p]);
    }
    for (const [path, , p] of work) this.#initSlot(op, path, p);

    // Scheduled values use the step count before this update (MLX), then the count advances.
    for (const [name, schedule] of this.#schedules) this.#setHyper(name, this.#scheduleAt(schedule, this.#stepArray));
    const nextStep = add(this.#stepArray, 1);
    this.#nextStep = nextStep;
    const newSlots = new Map<string, SlotState>();
    const newParams = new Map<string, NDArray>();
    try {
      tidy(() => {
        for (const [path, g, p] of work) {
          this.#path = path;
          const s = { ...this.#slots.get(path)! };
          const np = this.applySingle(g, p, s);
          const ns = np.shape;
          if (ns.length !== p.ndim || ns.some((d, i) => d !== p.shape[i]))
            throw new Error(
              `[${op}] the update of '${path}' has shape [${ns.join(', ')}], not the parameter's [${p.shape.join(', ')}]: does the state match the parameters?`,
            );
          newParams.set(path, np);
          newSlots.set(path, s);
        }
        return [[...newParams.values()], [...newSlots.values()]];
      });
    } catch (e) {
      this.#nextStep = null;
      nextStep.dispose();
      for (const a of newParams.values()) a.dispose();
      for (const s of newSlots.values()) for (const a of Object.values(s)) if (!this.#owned.has(a)) a.dispose();
      throw e;
    }

    const before = this.#stateArrays();
    const oldStep = this.#stepArray;
    this.#nextStep = null;
    this.#stepArray = this.#own(nextStep);
    this.#release(oldStep);
    for (const [path, s] of newSlots) {
      for (const a of Object.values(s)) this.#own(a);
      this.#slots.set(path, s);
    }
    const live = new Set(this.#stateArrays());
    for (const a of before) if (!live.has(a)) this.#release(a);
    return mapWithPath((path) => newParams.get(path), gradients) as T;
  }

  /**
   * Updates a model in place: `model.update(opt.applyGradients(grads, model.trainableParameters()))`.
   * The new parameters survive an enclosing kn.tidy; the ones this optimizer gave the model at
   * its previous update are disposed once the model no longer holds them.
   * @example
   * const model = new kn.nn.Linear(1, 1).update({ weight: kn.ones([1, 1]), bias: kn.zeros([1]) });
   * const opt = new kn.optim.SGD(0.5);
   * opt.update(model, { weight: kn.ones([1, 1]), bias: kn.ones([1]) });
   * kn.eval(model.parameters(), opt.state);
   * [model.weight, model.bias] // [[[0.5]], [-0.5]]
   */
  update(model: Trainable, gradients: unknown): void {
    const op = `${this.opName}.update`;
    if (model === null || typeof model !== 'object' || typeof model.trainableParameters !== 'function' || typeof model.update !== 'function')
      throw new TypeError(`[${op}] model must have trainableParameters() and update(tree) methods`);
    const params = model.trainableParameters();
    const before = treeLeaves(params);
    const next = this.applyGradients(gradients, params);
    const fresh = treeLeaves(next);
    for (const a of fresh) keep(a);
    try {
      model.update(next);
    } catch (e) {
      for (const a of fresh) a.dispose();
      throw e;
    }
    const held = new Set(treeLeaves(typeof model.parameters === 'function' ? model.parameters() : model.trainableParameters()));
    for (const a of fresh) this.#ownedParams.add(a);
    for (const a of before) {
      if (this.#ownedParams.has(a) && !held.has(a)) {
        this.#ownedParams.delete(a);
        a.dispose();
      }
    }
  }

  /**
   * The state as a tree: `step` (uint64), `learning_rate` (float32) and, under each parameter's
   * path, its arrays (MLX's key names, e.g. `layers.0.weight.m`). The arrays are the optimizer's
   * and stay valid until a later step replaces them. Setting a tree (for example one loaded from
   * a file) hands its arrays to the optimizer; `step` is required.
   * @example
   * const opt = new kn.optim.SGD(0.1, { momentum: 0.9 });
   * opt.applyGradients({ w: kn.ones([2]) }, { w: kn.zeros([2]) });
   * kn.tree.flatten(opt.state).map(([k]) => k) // ['step', 'learning_rate', 'w.v']
   */
  get state(): Record<string, unknown> {
    const pairs: [string, NDArray][] = [[STEP, this.#stepArray]];
    for (const [k, v] of this.#hyper) pairs.push([k, v]);
    for (const [path, s] of this.#slots) for (const [k, v] of Object.entries(s)) pairs.push([`${path}.${k}`, v]);
    return unflatten(pairs) as Record<string, unknown>;
  }

  set state(tree: Record<string, unknown>) {
    const op = `${this.opName}.state`;
    if (!isContainer(tree) || Array.isArray(tree)) throw new TypeError(`[${op}] the state must be an object (or Map) with a 'step' entry`);
    let step: NDArray | undefined;
    const hyper = new Map<string, NDArray>();
    const slots = new Map<string, SlotState>();
    for (const [path, v] of flatten<unknown>(tree)) {
      const a = v instanceof NDArray ? v : typeof v === 'number' ? array(v, path === STEP ? 'uint64' : 'float32') : undefined;
      if (!a) throw new TypeError(`[${op}] state entry '${path}' is ${describe(v)}, not an array`);
      const dot = path.lastIndexOf('.');
      if (dot < 0) {
        if (path === STEP) step = a;
        else hyper.set(path, a);
      } else {
        const p = path.slice(0, dot);
        let s = slots.get(p);
        if (!s) slots.set(p, (s = {}));
        s[path.slice(dot + 1)] = a;
      }
    }
    if (!step) throw new Error(`[${op}] the state has no 'step' entry`);
    if (step.size !== 1) throw new Error(`[${op}] 'step' must have one element, got shape [${step.shape.join(', ')}]`);
    const n = Number(step.item());
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`[${op}] 'step' must be a non-negative integer, got ${n}`);
    for (const [k, a] of hyper) if (a.size !== 1) throw new Error(`[${op}] '${k}' must have one element, got shape [${a.shape.join(', ')}]`);
    if (this.#hyper.has(LEARNING_RATE) && !hyper.has(LEARNING_RATE)) throw new Error(`[${op}] the state has no 'learning_rate' entry`);

    const before = this.#stateArrays();
    this.#stepArray = step;
    this.#hyper = hyper;
    this.#slots = slots;
    const live = this.#stateArrays();
    for (const a of live) this.#own(a);
    const liveSet = new Set(live);
    for (const a of before) if (!liveSet.has(a)) this.#release(a);
  }

  /**
   * Saves the state to a .safetensors file with dotted keys (`step`, `learning_rate`,
   * `layers.0.weight.m`, ...), readable by MLX's `tree_unflatten(mx.load(path))`.
   * @example
   * const opt = new kn.optim.Adam(1e-3);
   * opt.init({ w: kn.zeros([2]) });
   * opt.saveState('/tmp/kiln-doc-opt.safetensors');
   * kn.loadSafetensors('/tmp/kiln-doc-opt.safetensors').metadata.optimizer // 'Adam'
   */
  saveState(path: string): void {
    const tensors: Record<string, NDArray> = Object.create(null);
    for (const [k, v] of flatten<NDArray>(this.state)) tensors[k] = v;
    saveSafetensors(path, tensors, { format: 'kiln.optim', optimizer: this.opName, step: String(this.step) });
  }

  /**
   * Loads a state saved by `saveState` (or MLX); training then resumes exactly where it stopped,
   * including the position of a learning-rate schedule.
   * @example
   * const a = new kn.optim.Adam(1e-3);
   * a.applyGradients({ w: kn.ones([2]) }, { w: kn.zeros([2]) });
   * a.saveState('/tmp/kiln-doc-opt.safetensors');
   * const opt = new kn.optim.Adam(1e-3);
   * opt.loadState('/tmp/kiln-doc-opt.safetensors');
   * opt.step // 1
   */
  loadState(path: string): void {
    const { tensors, metadata } = loadSafetensors(path);
    if (metadata.optimizer !== undefined && metadata.optimizer !== this.opName) {
      for (const a of Object.values(tensors)) a.dispose();
      throw new Error(`[${this.opName}.loadState] ${path} holds the state of ${metadata.optimizer}, not ${this.opName}`);
    }
    this.state = unflatten(Object.entries(tensors)) as Record<string, unknown>;
  }

  /** The learning rate cast to `dtype` (MLX casts it to each gradient's dtype). */
  protected lrAs(dtype: DType): NDArray {
    return astype(this.learningRate, dtype);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : `${typeof v} ${String(v)}`;
}
