// Shared plumbing for the file formats: bounded file reads, arrays built from file bytes (copied
// in chunks or viewed zero-copy in a mapped file), streaming an array's bytes out, atomic writes.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { NDArray } from '../../core/array.js';
import { itemsize, type DType } from '../../core/dtype.js';
import { evaluateNodes } from '../../core/eval.js';
import { BufferRef, Constant, Node } from '../../core/node.js';
import { Contiguous } from '../../core/primitives.js';
import { contiguousStrides } from '../../core/shape.js';
import { native, type NativeBackend } from '../../backends/native.js';
import { make } from '../make.js';

/**
 * Bytes moved per native read/write or file read while streaming (bounded memory).
 * @example CHUNK // 67108864
 */
export const CHUNK = 64 << 20;
/**
 * Largest exact integer: every size and offset must stay below it.
 * @example MAX_SAFE // 9007199254740991
 */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * An Error naming the operation and format: `[load] safetensors header length ... exceeds ...`.
 * @example ioError('load', 'npy', 'is truncated').message // '[load] npy is truncated'
 */
export function ioError(op: string, format: string, msg: string): Error {
  return new Error(`[${op}] ${format} ${msg}`);
}

/**
 * Object with own keys only (a hostile "__proto__" name stays an ordinary key).
 * @example
 * const tensors = {};
 * setKey(tensors, '__proto__', 1); // an own key, not the prototype
 * Object.keys(tensors) // ['__proto__']
 */
export function setKey<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Whether `key` is an own property (never one inherited from Object.prototype).
 * @example hasKey({ a: 1 }, 'toString') // false
 */
export function hasKey(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/**
 * Product of a shape with an overflow check (sizes must stay exact in a double).
 * @example checkedSize([2, 3], (m) => new Error(m)) // 6
 */
export function checkedSize(shape: readonly number[], fail: (m: string) => Error): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw fail(`has an invalid dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  if (n > MAX_SAFE) throw fail(`shape [${shape.join(', ')}] has too many elements`);
  return n;
}

/**
 * A file opened for reading whose every read is checked against its size first.
 * @example
 * kn.save('/tmp/kiln-doc-src.npy', kn.arange(3));
 * const f = new FileSource('/tmp/kiln-doc-src.npy', 'load', 'npy');
 * f.read(1, 5, 'magic').toString() // 'NUMPY'
 * f.close();
 */
export class FileSource {
  readonly fd: number;
  readonly size: number;
  constructor(
    readonly path: string,
    readonly op: string,
    readonly format: string,
  ) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw ioError(op, format, `cannot open ${path}: ${(e as Error).message}`);
    }
    try {
      const st = fstatSync(this.fd);
      if (!st.isFile()) throw ioError(op, format, `${path} is not a regular file`);
      this.size = st.size;
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }
  error(msg: string): Error {
    return ioError(this.op, this.format, msg);
  }
  /** `n` bytes at `pos` (n up to 2 GiB); throws naming `what` when the file is too short. */
  read(pos: number, n: number, what: string): Buffer {
    if (!(Number.isSafeInteger(pos) && Number.isSafeInteger(n) && pos >= 0 && n >= 0) || pos + n > this.size)
      throw this.error(`is truncated: ${what} needs ${n} bytes at offset ${pos}, but the file has ${this.size} bytes`);
    if (n > 0x7fffffff) throw this.error(`${what} of ${n} bytes is too large to read at once`);
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const r = readSync(this.fd, out, done, n - done, pos + done);
      if (r === 0) throw this.error(`is truncated: ${what} ends at byte ${pos + done} (the file shrank while reading)`);
      done += r;
    }
    return out;
  }
  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Runs `fn` with an open FileSource and always closes it.
 * @example
 * kn.save('/tmp/kiln-doc-src.npy', kn.arange(3));
 * withFile('/tmp/kiln-doc-src.npy', 'load', 'npy', (f) => f.size) // 140
 */
export function withFile<T>(path: string, op: string, format: string, fn: (f: FileSource) => T): T {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`[${op}] path must be a non-empty string, got ${String(path)}`);
  const f = new FileSource(path, op, format);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

/**
 * Sequential little-endian reader over a FileSource through a sliding window.
 * @example
 * kn.save('/tmp/kiln-doc-src.npy', kn.arange(3));
 * const c = new Cursor(new FileSource('/tmp/kiln-doc-src.npy', 'load', 'npy'), 6);
 * [c.u8('major'), c.u8('minor'), c.u16('header length')] // [1, 0, 118]
 * c.src.close();
 */
export class Cursor {
  private win: Buffer = Buffer.alloc(0);
  private winStart = 0;
  constructor(
    readonly src: FileSource,
    public pos: number,
    private readonly windowSize = 1 << 20,
  ) {}
  get remaining(): number {
    return this.src.size - this.pos;
  }
  private ensure(n: number, what: string): number {
    const off = this.pos - this.winStart;
    if (off >= 0 && off + n <= this.win.length) return off;
    if (n > this.remaining) throw this.src.error(`is truncated: ${what} needs ${n} bytes at offset ${this.pos}, but the file has ${this.src.size} bytes`);
    const len = Math.min(Math.max(n, this.windowSize), this.remaining);
    this.win = this.src.read(this.pos, len, what);
    this.winStart = this.pos;
    return 0;
  }
  bytes(n: number, what: string): Buffer {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining)
      throw this.src.error(`is truncated or corrupt: ${what} declares ${n} bytes at offset ${this.pos}, but only ${this.remaining} remain`);
    const off = this.ensure(n, what);
    this.pos += n;
    return this.win.subarray(off, off + n);
  }
  u8(what: string): number {
    const o = this.ensure(1, what);
    this.pos += 1;
    return this.win[o];
  }
  i8(what: string): number {
    const o = this.ensure(1, what);
    this.pos += 1;
    return this.win.readInt8(o);
  }
  u16(what: string): number {
    const o = this.ensure(2, what);
    this.pos += 2;
    return this.win.readUInt16LE(o);
  }
  i16(what: string): number {
    const o = this.ensure(2, what);
    this.pos += 2;
    return this.win.readInt16LE(o);
  }
  u32(what: string): number {
    const o = this.ensure(4, what);
    this.pos += 4;
    return this.win.readUInt32LE(o);
  }
  i32(what: string): number {
    const o = this.ensure(4, what);
    this.pos += 4;
    return this.win.readInt32LE(o);
  }
  u64(what: string): bigint {
    const o = this.ensure(8, what);
    this.pos += 8;
    return this.win.readBigUInt64LE(o);
  }
  i64(what: string): bigint {
    const o = this.ensure(8, what);
    this.pos += 8;
    return this.win.readBigInt64LE(o);
  }
  f32(what: string): number {
    const o = this.ensure(4, what);
    this.pos += 4;
    return this.win.readFloatLE(o);
  }
  f64(what: string): number {
    const o = this.ensure(8, what);
    this.pos += 8;
    return this.win.readDoubleLE(o);
  }
  /** A u64 that must be at most `max` (a count or size checked before anything is allocated). */
  count(what: string, max: number): number {
    const v = this.u64(what);
    if (v > BigInt(max)) throw this.src.error(`${what} ${v} is too large (at most ${max} fits in the ${this.src.size}-byte file)`);
    return Number(v);
  }
}

/**
 * Reverses the bytes of each `size`-byte element in place (big-endian files).
 * @example
 * const bytes = new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2]); // big-endian int32 1, 2
 * byteswap(bytes, 4);
 * new Int32Array(bytes.buffer) // [1, 2]
 */
export function byteswap(b: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= b.length; i += size) {
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = b[a];
      b[a] = b[z];
      b[z] = t;
    }
  }
}

/** Any non-zero byte of a bool array becomes 1 (numpy's truth), so kernels see only 0 and 1. */
function normalizeBool(b: Uint8Array): void {
  for (let i = 0; i < b.length; i++) if (b[i] > 1) b[i] = 1;
}

/**
 * Column-major (Fortran) element strides of `shape`.
 * @example fortranStrides([2, 3, 4]) // [1, 2, 6]
 */
export function fortranStrides(shape: readonly number[]): number[] {
  const st: number[] = [];
  let acc = 1;
  for (const d of shape) {
    st.push(acc);
    acc *= d;
  }
  return st;
}

/**
 * An array whose evaluated node views `buf` (retained here) at an element offset.
 * @example
 * const buf = newBuffer(16, (write) => write(0, new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)));
 * viewArray(buf, 1, [3], 'float32') // [2, 3, 4]
 * buf.release();
 */
export function viewArray(buf: BufferRef, offset: number, shape: number[], dtype: DType, strides?: number[]): NDArray {
  const node = new Node(Constant, {}, [], shape, dtype);
  node.data = { buf: buf.retain(), offset, strides: strides ?? contiguousStrides(shape) };
  return new NDArray(node);
}

/**
 * A fresh native buffer filled by `fill(write)`; released again if filling throws.
 * @example
 * const buf = newBuffer(8, (write) => write(0, new Uint8Array(new Int32Array([7, 8]).buffer)));
 * viewArray(buf, 0, [2], 'int32') // [7, 8]
 * buf.release();
 */
export function newBuffer(nbytes: number, fill: (write: (byteOffset: number, data: Uint8Array) => void) => void): BufferRef {
  const buf = new BufferRef(native.alloc(nbytes), nbytes).retain();
  try {
    fill((off, data) => {
      if (data.length) native.write(buf.id, off, data);
    });
    return buf;
  } catch (e) {
    buf.release();
    throw e;
  }
}

/**
 * Builds an array from a raw region of `src` (copied in chunks; optional byteswap, Fortran order).
 * @example
 * kn.save('/tmp/kiln-doc-src.npy', kn.arange(6));
 * withFile('/tmp/kiln-doc-src.npy', 'load', 'npy', (src) => arrayFromFile(src, 128, [2, 3], 'int32')) // [[0, 1, 2], [3, 4, 5]]
 */
export function arrayFromFile(
  src: FileSource,
  pos: number,
  shape: number[],
  dtype: DType,
  opts: { swap?: boolean; fortran?: boolean; onChunk?: (raw: Uint8Array) => void } = {},
): NDArray {
  const isz = itemsize(dtype);
  const nbytes = checkedSize(shape, (m) => src.error(m)) * isz;
  if (pos + nbytes > src.size)
    throw src.error(
      `is truncated: the data of shape [${shape.join(', ')}] ${dtype} needs ${nbytes} bytes at offset ${pos}, but the file has ${src.size} bytes`,
    );
  const chunk = Math.max(isz, Math.floor(CHUNK / isz) * isz);
  const buf = newBuffer(nbytes, (write) => {
    for (let off = 0; off < nbytes; off += chunk) {
      const n = Math.min(chunk, nbytes - off);
      const b = src.read(pos + off, n, 'array data');
      opts.onChunk?.(b);
      if (opts.swap) byteswap(b, isz);
      if (dtype === 'bool') normalizeBool(b);
      write(off, b);
    }
  });
  try {
    return viewArray(buf, 0, shape, dtype, opts.fortran ? fortranStrides(shape) : undefined);
  } finally {
    buf.release();
  }
}

/**
 * Builds an array from bytes in memory (copied; optional byteswap and Fortran order).
 * @example arrayFromBytes(new Uint8Array(12), [3], 'float32') // [0, 0, 0]
 */
export function arrayFromBytes(bytes: Uint8Array, shape: number[], dtype: DType, opts: { swap?: boolean; fortran?: boolean } = {}): NDArray {
  const nbytes = bytes.length;
  let data = bytes;
  if (opts.swap || dtype === 'bool') {
    data = Uint8Array.from(bytes);
    if (opts.swap) byteswap(data, itemsize(dtype));
    if (dtype === 'bool') normalizeBool(data);
  }
  const buf = newBuffer(nbytes, (write) => {
    for (let off = 0; off < nbytes; off += CHUNK) write(off, data.subarray(off, Math.min(nbytes, off + CHUNK)));
  });
  try {
    return viewArray(buf, 0, shape, dtype, opts.fortran ? fortranStrides(shape) : undefined);
  } finally {
    buf.release();
  }
}

type MapFn = (path: string) => number;

/**
 * Maps `path` into a native buffer (zero-copy), or null when the addon has no mapFile (an
 * older build) or mapping is refused. The caller owns one reference and must release it.
 * @example
 * kn.save('/tmp/kiln-doc-src.npy', kn.arange(4));
 * const src = new FileSource('/tmp/kiln-doc-src.npy', 'load', 'npy');
 * const mapped = mapFile(src);
 * viewArray(mapped, 128 / 4, [4], 'int32') // [0, 1, 2, 3]
 * mapped.release(); src.close();
 */
export function mapFile(src: FileSource): BufferRef | null {
  const fn = (native as Partial<NativeBackend> & { mapFile?: MapFn }).mapFile;
  if (typeof fn !== 'function' || process.env.KILN_NO_MMAP === '1') return null;
  let id: number;
  try {
    id = fn.call(native, src.path);
  } catch {
    return null;
  }
  // native views are bounds-checked against the mapped size, so a file changed meanwhile is safe
  return new BufferRef(id, src.size).retain();
}

/**
 * Calls `sink` with the row-major bytes of `a` in chunks of at most CHUNK bytes (evaluating `a`
 * first; strided views are copied once into a contiguous buffer).
 * @example
 * const chunks = [];
 * streamBytes(kn.array([1, 2], 'int32'), (b) => chunks.push(Array.from(b)));
 * chunks // [[1, 0, 0, 0, 2, 0, 0, 0]]
 */
export function streamBytes(a: NDArray, sink: (bytes: Uint8Array) => void): void {
  evaluateNodes([a.node]);
  const c = make(Contiguous, {}, [a], a.shape, a.dtype);
  try {
    evaluateNodes([c.node]);
    const v = c.node.data!;
    const isz = itemsize(a.dtype);
    const nbytes = a.size * isz;
    const base = v.offset * isz;
    for (let off = 0; off < nbytes; off += CHUNK) {
      const n = Math.min(CHUNK, nbytes - off);
      sink(new Uint8Array(native.read(v.buf.id, base + off, n)));
    }
  } finally {
    c.dispose();
  }
}

/**
 * A file written through a temporary name in the same folder and renamed over `path` at the end,
 * so a failed save leaves no half file and saving over a memory-mapped file that is still in use
 * (load, then save to the same path) never truncates the mapping under the loaded arrays.
 * @example
 * const f = new AtomicFile('/tmp/kiln-doc-x.bin');
 * f.write(new Uint8Array([1, 2, 3]));
 * f.commit();
 * withFile('/tmp/kiln-doc-x.bin', 'load', 'bin', (s) => s.size) // 3
 */
export class AtomicFile {
  readonly fd: number;
  private readonly tmp: string;
  pos = 0;
  private done = false;
  constructor(
    readonly path: string,
    op = 'save',
  ) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    try {
      this.fd = openSync(this.tmp, 'wx');
    } catch (e) {
      throw new Error(`[${op}] cannot write ${path}: ${(e as Error).message}`);
    }
  }
  write(b: Uint8Array): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done, this.pos + done);
    this.pos += b.length;
  }
  /** Overwrites bytes already written (patching a header once sizes are known). */
  writeAt(b: Uint8Array, at: number): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done, at + done);
  }
  commit(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.done = true;
    renameSync(this.tmp, this.path);
  }
  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      /* never created */
    }
  }
}

/**
 * Writes a file atomically through `fn`; nothing is left behind when it throws.
 * @example
 * writeAtomic('/tmp/kiln-doc-x.bin', 'save', (f) => f.write(new Uint8Array([1, 2])));
 * withFile('/tmp/kiln-doc-x.bin', 'load', 'bin', (s) => s.size) // 2
 */
export function writeAtomic(path: string, op: string, fn: (f: AtomicFile) => void): void {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`[${op}] path must be a non-empty string, got ${String(path)}`);
  const f = new AtomicFile(path, op);
  try {
    fn(f);
    f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}

/**
 * Checks a save argument is a live array.
 * @example
 * expectArray(kn.array([1]), 'save', 'the array') // [1]
 * // expectArray(3, 'save', 'the array') throws "[save] the array must be a kiln array, got number"
 */
export function expectArray(a: unknown, op: string, what: string): NDArray {
  if (!(a instanceof NDArray)) throw new TypeError(`[${op}] ${what} must be a kiln array, got ${a === null ? 'null' : typeof a}`);
  a.node; // throws when disposed
  return a;
}

/**
 * The entries of a `{ name: array }` record (or Map), checked.
 * @example namedArrays({ w: kn.ones([2]) }, 'savez') // [['w', [1, 1]]]
 */
export function namedArrays(arrays: unknown, op: string): [string, NDArray][] {
  let entries: [string, unknown][];
  if (arrays instanceof Map) entries = [...arrays.entries()] as [string, unknown][];
  else if (arrays !== null && typeof arrays === 'object' && !Array.isArray(arrays)) entries = Object.entries(arrays);
  else throw new TypeError(`[${op}] expected an object of { name: array }, got ${Array.isArray(arrays) ? 'an array' : typeof arrays}`);
  return entries.map(([k, v]) => {
    if (typeof k !== 'string') throw new TypeError(`[${op}] array names must be strings, got ${typeof k}`);
    return [k, expectArray(v, op, `'${k}'`)];
  });
}
