// The user-facing Array handle: a small mutable object pointing at an immutable graph node.
import { inspect } from 'node:util';
import { itemsize, type DType } from './dtype.js';
import { decode, toScalars, type HostTypedArray, type Scalar } from './host.js';
import { decRef, type Node } from './node.js';
import { evaluateNodes, readNode, readScalar } from './eval.js';
import { track } from './scope.js';
import { formatArray } from './format.js';
import { complexScalars, type Complex } from './complex_host.js';
import { SafetyNet } from './safety_net.js';

// The finalizer safety net frees buffers (core/node.ts). Handles need one only for the outputs
// of a multi-output primitive: each sibling reaches the others, so a dropped sibling's buffer
// would live as long as any sibling unless its handle gives it back.
const siblingHandles = new SafetyNet<NDArray, Node>(
  (node) => decRef(node),
  (a) => a[REGISTER](),
  (a) => a,
);
const REGISTER = Symbol('register');

export type NestedList = Scalar | Complex | NestedList[];

export class NDArray {
  #node: Node | null;
  #registered = false;

  /** @internal wrap a graph node; ops create arrays, users call kn.array(...) */
  constructor(node: Node) {
    node.refs++;
    this.#node = node;
    if (node.siblings) siblingHandles.add(this);
    track(this);
  }

  /** @internal the node the safety net gives back when this handle is collected (null: disposed) */
  [REGISTER](): Node | null {
    // disposed before its batch was registered, or queued twice (rebind)
    if (!this.#node || this.#registered) return null;
    this.#registered = true;
    return this.#node;
  }

  /** @internal the node behind this handle; throws when disposed */
  get node(): Node {
    if (!this.#node) throw new Error('[kiln] this array was disposed and cannot be used');
    return this.#node;
  }

  /** @internal point this handle at a new node (in-place updates) */
  rebind(node: Node): void {
    const old = this.node;
    node.refs++;
    this.#node = node;
    if (this.#registered) {
      siblingHandles.unregister(this);
      this.#registered = false;
    }
    if (node.siblings) siblingHandles.add(this);
    decRef(old);
  }

  get disposed(): boolean {
    return this.#node === null;
  }
  get shape(): number[] {
    return this.node.shape.slice();
  }
  get ndim(): number {
    return this.node.shape.length;
  }
  get size(): number {
    return this.node.size;
  }
  get dtype(): DType {
    return this.node.dtype;
  }
  get itemsize(): number {
    return itemsize(this.node.dtype);
  }
  get nbytes(): number {
    return this.size * this.itemsize;
  }

  /**
   * Frees this array's buffer now (if nothing else holds it). Using the array afterwards throws.
   * @example
   * const a = kn.ones([1000]);
   * a.dispose();
   * kn.memory.active() >= 0 // true
   */
  dispose(): void {
    const n = this.#node;
    if (!n) return;
    this.#node = null;
    if (this.#registered) siblingHandles.unregister(this);
    this.#registered = false;
    decRef(n);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Evaluates this array now. @example kn.add(kn.array([1, 2]), 1).eval().tolist() // [2, 3] */
  eval(): this {
    evaluateNodes([this.node]);
    return this;
  }

  /**
   * Copies the elements out as a typed array of the dtype (float16 as Float16Array from
   * @petamoriken/float16, bfloat16 widened to Float32Array, bool as Uint8Array, 64-bit ints as
   * BigInt64Array/BigUint64Array, complex64 as a Float32Array of 2 * size interleaved re, im).
   * @example
   * const t = kn.arange(3).toTypedArray();
   * t instanceof Int32Array // true
   * t // [0, 1, 2]
   */
  toTypedArray(): HostTypedArray {
    return decode(readNode(this.node), this.node.dtype);
  }

  /**
   * The only element of a size-1 array as a JS value: a number for numeric dtypes (64-bit
   * integers exact up to 2^53), a boolean for bool (complex64: `{ re, im }`). Typed `number` so
   * numbers need no cast; name the type for other dtypes: `kn.all(m).item<boolean>()`.
   * @example kn.array(3).item() // 3
   * @example kn.array([[2.5]]).item() + 1 // 3.5
   * @example kn.array(true).item() // true
   */
  item<T = number>(): T {
    if (this.size !== 1) throw new Error(`[item] can only convert an array of size 1, got shape [${this.node.shape.join(', ')}]`);
    // complex64: a { re, im } object (see core/complex_host.ts)
    if (this.dtype === 'complex64') return complexScalars(this.toTypedArray() as Float32Array)[0] as T;
    const x = readScalar(this.node);
    if (this.dtype === 'bool') return (x !== 0) as T;
    return (typeof x === 'bigint' ? Number(x) : x) as T;
  }

  /**
   * A size-1 array converts like its element, so `Number(a)`, `+a`, `a > 2` and `a + 1` work; a
   * larger array throws there (numpy's rule). In text (`${a}`, `String(a)`) a 0-d array shows its
   * element as numpy's `str` does, any other array its repr.
   * @example `loss ${kn.array(0.25)}` // 'loss 0.25'
   * @example kn.sum(kn.array([1, 2])) > 2 // true
   * @example Number(kn.array([2.5])) // 2.5
   */
  [Symbol.toPrimitive](hint: 'number' | 'string' | 'default'): number | boolean | string {
    if (!this.#node) {
      if (hint === 'string') return this.toString();
      throw new Error('[kiln] this array was disposed and cannot be used');
    }
    if (hint === 'string') {
      if (this.ndim === 0 && this.dtype === 'bool') return String(this.item<boolean>()); // JS spelling
      const repr = this.toString();
      return this.ndim === 0 ? repr.replace(/^array\(([\s\S]*?)(, dtype=\w+)?\)$/, '$1') : repr;
    }
    if (this.size === 1 && this.dtype !== 'complex64') return this.item<number | boolean>();
    throw new TypeError(
      `[kiln] only a real size-1 array converts to a JS number (Number(a), +a, a > 2); this one is ${this.dtype} of shape [${this.node.shape.join(', ')}]: use a.tolist(), kn.all(...) or kn.any(...), or String(a) for text`,
    );
  }

  /**
   * Nested JS arrays of numbers (booleans for bool; 64-bit ints as numbers, exact up to 2^53).
   * @example kn.array([[1, 2], [3, 4]]).tolist() // [[1, 2], [3, 4]]
   */
  tolist(): NestedList {
    const flat: (Scalar | Complex)[] =
      this.dtype === 'complex64' ? complexScalars(this.toTypedArray() as Float32Array) : toScalars(this.toTypedArray(), this.dtype);
    const shape = this.node.shape;
    if (shape.length === 0) return flat[0];
    let pos = 0;
    const build = (d: number): NestedList[] => {
      const out: NestedList[] = [];
      for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? flat[pos++] : build(d + 1));
      return out;
    };
    return build(0);
  }

  /** numpy-style text, e.g. `array([1, 2, 3])`; dtype shown unless float32, int32 or bool. */
  toString(): string {
    if (!this.#node) return 'array(<disposed>)';
    const raw = this.toTypedArray();
    return formatArray(raw as ArrayLike<number | bigint | boolean>, this.node.shape, this.node.dtype);
  }
  [inspect.custom](): string {
    return this.toString();
  }
  get [Symbol.toStringTag](): string {
    return 'kiln.array';
  }
}

export { NDArray as Array };
