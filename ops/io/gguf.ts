// GGUF (ggml's model file, versions 2 and 3): "GGUF", version, tensor and key/value counts, the
// metadata key/values (typed, arrays nestable), tensor infos (name, dims in ggml order -- ne[0]
// varies fastest, so numpy's shape is the reverse --, ggml type, offset), then the tensor data,
// each tensor aligned to general.alignment (default 32). Unquantized tensors load as zero-copy
// views of the mapped file; quantized ones are dequantized to float32.
import type { NDArray } from '../../core/array.js';
import type { DType } from '../../core/dtype.js';
import { dispose } from '../../core/memory.js';
import { astype } from '../elementwise.js';
import {
  arrayFromFile,
  CHUNK,
  Cursor,
  expectArray,
  hasKey,
  mapFile,
  MAX_SAFE,
  namedArrays,
  newBuffer,
  setKey,
  streamBytes,
  viewArray,
  withFile,
  writeAtomic,
  type FileSource,
} from './common.js';
import { GGML_BY_ID, GGML_BY_NAME, READABLE, WRITABLE, type GgmlType, type GgmlTypeName } from './ggml_quants.js';

export type { GgmlTypeName } from './ggml_quants.js';

/** A metadata value: numbers (64-bit integers beyond 2^53 as bigint), booleans, strings, arrays. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufFile {
  tensors: Record<string, NDArray>;
  metadata: Record<string, GgufValue>;
  /** each key's GGUF value type: 'uint32', 'float32', 'string', 'array<string>', 'array<array<int32>>', ... */
  metadataTypes: Record<string, string>;
  /** the ggml type each tensor was stored as ('F16', 'Q4_K', ...); quantized ones load as float32 */
  types: Record<string, GgmlTypeName>;
  version: number;
  alignment: number;
}

export interface LoadGgufOptions {
  /**
   * How quantized tensors load: 'float32' (default) dequantizes them; 'blocks' keeps the types
   * kn.ggufMatmul runs natively (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K) as their raw blocks, uint8
   * [..., rowBytes] zero-copy views of the mapped file (`types` names each tensor's ggml type).
   */
  quantized?: 'float32' | 'blocks';
}

/** ggml block types loadable as raw blocks (those with native kernels). */
const BLOCK_TYPES = new Set<string>(['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K']);

export interface SaveGgufOptions {
  /**
   * ggml type per tensor name (or a function of name and array); the default stores each dtype as
   * itself (float32→F32, float16→F16, bfloat16→BF16, float64→F64, int8..int64→I8..I64). Q8_0 and
   * Q4_0 quantize (the last axis must be a multiple of 32).
   */
  types?: Record<string, GgmlTypeName> | ((name: string, a: NDArray) => GgmlTypeName | undefined);
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_NAME = 64; // GGML_MAX_NAME (including the terminating zero)
const MAX_DEPTH = 8;

const SCALAR = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'] as const;
const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const TYPE_ID = Object.fromEntries(SCALAR.map((n, i) => [n, i])) as Record<string, number>;
const DEFAULT_TYPE: Partial<Record<DType, GgmlTypeName>> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int8: 'I8',
  int16: 'I16',
  int32: 'I32',
  int64: 'I64',
};

// ---- reading ---------------------------------------------------------------------------------

const big = (v: bigint): number | bigint => (v >= -BigInt(MAX_SAFE) && v <= BigInt(MAX_SAFE) ? Number(v) : v);

function readString(c: Cursor, what: string): string {
  const n = c.count(`${what} length`, c.remaining);
  return c.bytes(n, what).toString('utf8');
}

/** Reads one value of GGUF type `t`; returns the value and its type name. */
function readValue(c: Cursor, t: number, what: string, depth: number): [GgufValue, string] {
  switch (t) {
    case 0:
      return [c.u8(what), 'uint8'];
    case 1:
      return [c.i8(what), 'int8'];
    case 2:
      return [c.u16(what), 'uint16'];
    case 3:
      return [c.i16(what), 'int16'];
    case 4:
      return [c.u32(what), 'uint32'];
    case 5:
      return [c.i32(what), 'int32'];
    case 6:
      return [c.f32(what), 'float32'];
    case 7: {
      const b = c.u8(what);
      if (b > 1) throw c.src.error(`${what} is a bool with byte value ${b}`);
      return [b === 1, 'bool'];
    }
    case 8:
      return [readString(c, what), 'string'];
    case 10:
      return [big(c.u64(what)), 'uint64'];
    case 11:
      return [big(c.i64(what)), 'int64'];
    case 12:
      return [c.f64(what), 'float64'];
    case 9: {
      if (depth >= MAX_DEPTH) throw c.src.error(`${what} nests arrays more than ${MAX_DEPTH} deep`);
      const et = c.u32(`${what} element type`);
      if (et > 12) throw c.src.error(`${what} has invalid element type ${et}`);
      const min = FIXED[et] ?? (et === 8 ? 8 : 12);
      const n = c.count(`${what} element count`, Math.floor(c.remaining / min));
      const out: GgufValue[] = new Array(n);
      let tn = et === 9 ? 'array<array>' : `array<${SCALAR[et]}>`;
      if (FIXED[et] !== undefined && et !== 7) {
        const b = c.bytes(n * min, what);
        const dv = new DataView(b.buffer, b.byteOffset, b.length);
        for (let i = 0; i < n; i++) {
          const o = i * min;
          out[i] =
            et === 0
              ? dv.getUint8(o)
              : et === 1
                ? dv.getInt8(o)
                : et === 2
                  ? dv.getUint16(o, true)
                  : et === 3
                    ? dv.getInt16(o, true)
                    : et === 4
                      ? dv.getUint32(o, true)
                      : et === 5
                        ? dv.getInt32(o, true)
                        : et === 6
                          ? dv.getFloat32(o, true)
                          : et === 10
                            ? big(dv.getBigUint64(o, true))
                            : et === 11
                              ? big(dv.getBigInt64(o, true))
                              : dv.getFloat64(o, true);
        }
      } else {
        let inner: string | null = null;
        for (let i = 0; i < n; i++) {
          const [v, vt] = readValue(c, et, `${what}[${i}]`, depth + 1);
          out[i] = v;
          inner = i === 0 ? vt : inner === vt ? inner : 'array';
        }
        // nested arrays may each hold another type: 'array<array>' then means "per element"
        if (et === 9 && inner) tn = `array<${inner}>`;
      }
      return [out, tn];
    }
    default:
      throw c.src.error(`${what} has invalid value type ${t}`);
  }
}

interface TensorInfo {
  name: string;
  shape: number[];
  type: GgmlType;
  offset: number;
  nbytes: number;
}

/** Parses a GGUF file's header; every count, size and offset is checked against the file. */
function parseGguf(src: FileSource): {
  version: number;
  alignment: number;
  dataStart: number;
  infos: TensorInfo[];
  metadata: Record<string, GgufValue>;
  metadataTypes: Record<string, string>;
} {
  const c = new Cursor(src, 0);
  if (src.size < 4 || c.u32('magic') !== MAGIC) throw src.error('is not a GGUF file: the magic "GGUF" is missing');
  const version = c.u32('version');
  const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
  if (version !== 2 && version !== 3) {
    if (swapped >= 1 && swapped <= 3) throw src.error(`is big-endian (version ${swapped}); only little-endian files are supported`);
    if (version === 1) throw src.error('version 1 is not supported (versions 2 and 3 are)');
    throw src.error(`has unsupported version ${version}`);
  }
  const nTensors = c.count('tensor count', Math.floor(c.remaining / 24));
  const nKv = c.count('metadata count', Math.floor(c.remaining / 13));
  const metadata: Record<string, GgufValue> = {};
  const metadataTypes: Record<string, string> = {};
  for (let i = 0; i < nKv; i++) {
    const key = readString(c, `metadata key ${i}`);
    if (hasKey(metadata, key)) throw src.error(`has a duplicate metadata key '${key}'`);
    const t = c.u32(`type of '${key}'`);
    const [v, tn] = readValue(c, t, `metadata '${key}'`, 0);
    setKey(metadata, key, v);
    setKey(metadataTypes, key, tn);
  }
  let alignment = DEFAULT_ALIGNMENT;
  if (hasKey(metadata, 'general.alignment')) {
    const a = metadata['general.alignment'];
    if (metadataTypes['general.alignment'] !== 'uint32' || typeof a !== 'number' || a === 0 || (a & (a - 1)) !== 0)
      throw src.error(`general.alignment ${String(a)} (${metadataTypes['general.alignment']}) is not a uint32 power of two`);
    alignment = a;
  }
  const infos: TensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = readString(c, `tensor ${i} name`);
    if (names.has(name)) throw src.error(`has a duplicate tensor name '${name}'`);
    names.add(name);
    const bad = (m: string) => src.error(`tensor '${name}' ${m}`);
    const nd = c.u32(`tensor '${name}' dimension count`);
    if (nd > MAX_DIMS) throw bad(`has ${nd} dimensions (at most ${MAX_DIMS})`);
    const ne: number[] = [];
    let n = 1;
    for (let d = 0; d < nd; d++) {
      const v = c.u64(`tensor '${name}' dimension ${d}`);
      if (v > BigInt(MAX_SAFE)) throw bad(`dimension ${d} of ${v} is too large`);
      ne.push(Number(v));
      n *= Number(v);
      if (n > MAX_SAFE) throw bad(`has too many elements (dimensions ${ne.join(' x ')}...)`);
    }
    const tid = c.u32(`tensor '${name}' type`);
    const type = GGML_BY_ID.get(tid);
    if (!type) throw bad(`has unknown ggml type ${tid}`);
    if (!type.dtype && !type.dequant) throw bad(`has ggml type ${type.name}, which kiln cannot load yet (supported: ${READABLE.join(', ')})`);
    if ((ne[0] ?? 1) % type.blockSize !== 0) throw bad(`has ${ne[0]} elements per row, not a multiple of the ${type.name} block size ${type.blockSize}`);
    const offset = c.u64(`tensor '${name}' offset`);
    if (offset > BigInt(MAX_SAFE)) throw bad(`offset ${offset} is too large`);
    infos.push({ name, shape: ne.slice().reverse(), type, offset: Number(offset), nbytes: (n / type.blockSize) * type.typeSize });
  }
  const dataStart = infos.length ? Math.ceil(c.pos / alignment) * alignment : c.pos;
  for (const t of infos) {
    if (t.offset % alignment !== 0) throw src.error(`tensor '${t.name}' offset ${t.offset} is not a multiple of the alignment ${alignment}`);
    if (dataStart + t.offset + t.nbytes > src.size)
      throw src.error(`is truncated: tensor '${t.name}' (${t.nbytes} bytes at offset ${dataStart + t.offset}) runs past the end of the ${src.size}-byte file`);
  }
  return { version, alignment, dataStart, infos, metadata, metadataTypes };
}

/** A quantized tensor dequantized block-chunk by block-chunk into a float32 buffer. */
function dequantTensor(src: FileSource, pos: number, t: TensorInfo): NDArray {
  const nblocks = t.nbytes / t.type.typeSize;
  const perChunk = Math.max(1, Math.floor(CHUNK / 4 / t.type.blockSize));
  const outBytes = nblocks * t.type.blockSize * 4;
  const buf = newBuffer(outBytes, (write) => {
    for (let b = 0; b < nblocks; b += perChunk) {
      const nb = Math.min(perChunk, nblocks - b);
      const raw = src.read(pos + b * t.type.typeSize, nb * t.type.typeSize, `tensor '${t.name}'`);
      const out = new Float32Array(nb * t.type.blockSize);
      t.type.dequant!(raw, nb, out, 0);
      write(b * t.type.blockSize * 4, new Uint8Array(out.buffer));
    }
  });
  try {
    return viewArray(buf, 0, t.shape, 'float32');
  } finally {
    buf.release();
  }
}

/**
 * Loads an open GGUF file.
 * @example
 * import { withFile } from './common.js';
 * kn.saveGguf('/tmp/kiln-doc.gguf', { tensors: { w: kn.ones([2, 2]) }, metadata: { 'general.name': 'demo' } });
 * withFile('/tmp/kiln-doc.gguf', 'load', 'gguf', readGguf).metadata // { 'general.name': 'demo' }
 */
export function readGguf(src: FileSource, opts: LoadGgufOptions = {}): GgufFile {
  const h = parseGguf(src);
  const tensors: Record<string, NDArray> = {};
  const types: Record<string, GgmlTypeName> = {};
  const blocks = opts.quantized === 'blocks';
  const asBlocks = (t: TensorInfo) => blocks && BLOCK_TYPES.has(t.type.name) && t.shape.length >= 1;
  const mapped = h.infos.some((t) => (t.type.dtype || asBlocks(t)) && t.nbytes > 0) ? mapFile(src) : null;
  try {
    for (const t of h.infos) {
      const pos = h.dataStart + t.offset;
      let a: NDArray;
      if (asBlocks(t)) {
        // the blocks as the file stores them: uint8 [..., rowBytes], a zero-copy view of the mapping
        const rowBytes = (t.shape[t.shape.length - 1] / t.type.blockSize) * t.type.typeSize;
        const shape = [...t.shape.slice(0, -1), rowBytes];
        a = mapped ? viewArray(mapped, pos, shape, 'uint8') : arrayFromFile(src, pos, shape, 'uint8');
      } else if (t.type.dtype) {
        const isz = t.type.typeSize;
        a = mapped && pos % isz === 0 ? viewArray(mapped, pos / isz, t.shape, t.type.dtype) : arrayFromFile(src, pos, t.shape, t.type.dtype);
      } else a = dequantTensor(src, pos, t);
      setKey(tensors, t.name, a);
      setKey(types, t.name, t.type.name);
    }
  } catch (e) {
    dispose(tensors);
    throw e;
  } finally {
    mapped?.release();
  }
  return { tensors, metadata: h.metadata, metadataTypes: h.metadataTypes, types, version: h.version, alignment: h.alignment };
}

/**
 * Loads a GGUF file: `{ tensors, metadata, metadataTypes, types, version, alignment }`. Shapes are
 * in numpy order (GGUF's dims reversed). F32/F16/BF16/F64/I8–I64 tensors keep their dtype and are
 * zero-copy views of the mapped file; Q4_0, Q4_1, Q8_0, Q4_K and Q6_K are dequantized to float32.
 * @example
 * kn.saveGguf('/tmp/kiln-doc.gguf', { tensors: { w: kn.ones([2, 3]) }, metadata: { 'general.architecture': 'llama' } });
 * const { tensors, metadata, types } = kn.loadGguf('/tmp/kiln-doc.gguf');
 * metadata['general.architecture'] // 'llama'
 * [tensors.w.shape, types.w] // [[2, 3], 'F32']
 */
export function loadGguf(path: string, opts: LoadGgufOptions = {}): GgufFile {
  if (opts.quantized !== undefined && opts.quantized !== 'float32' && opts.quantized !== 'blocks')
    throw new TypeError(`[loadGguf] quantized must be 'float32' or 'blocks', got ${String(opts.quantized)}`);
  return withFile(path, 'load', 'gguf', (f) => readGguf(f, opts));
}

// ---- writing ---------------------------------------------------------------------------------

class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  num(size: number, f: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    f(b);
    this.push(b);
  }
  u32(v: number): void {
    this.num(4, (b) => b.writeUInt32LE(v));
  }
  u64(v: number | bigint): void {
    this.num(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  concat(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Parses 'uint32' / 'array<array<string>>' into a chain of type names. */
function parseType(t: string, key: string): string[] {
  const chain: string[] = [];
  let s = t.trim();
  for (;;) {
    const m = /^array\s*<(.*)>$/.exec(s);
    if (!m) break;
    chain.push('array');
    s = m[1].trim();
  }
  // a bare innermost 'array' (as read from an empty or mixed nested array): inferred per value
  if (!(s in TYPE_ID))
    throw new Error(`[saveGguf] metadata '${key}' has unknown type '${t}' (use ${SCALAR.filter((x) => x !== 'array').join(', ')} or array<...>)`);
  chain.push(s);
  return chain;
}

/** The GGUF type a JS value gets when none is given (like gguf-py: int → int32, float → float32). */
function inferType(v: unknown, key: string, depth = 0): string[] {
  if (typeof v === 'string') return ['string'];
  if (typeof v === 'boolean') return ['bool'];
  if (typeof v === 'bigint') return [v < 0n ? 'int64' : v > 0x7fffffffffffffffn ? 'uint64' : 'int64'];
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return ['float32'];
    return [v >= -(2 ** 31) && v < 2 ** 31 ? 'int32' : v >= 2 ** 63 ? 'uint64' : 'int64'];
  }
  if (Array.isArray(v)) {
    if (depth >= MAX_DEPTH) throw new Error(`[saveGguf] metadata '${key}' nests arrays more than ${MAX_DEPTH} deep`);
    if (v.length === 0) return ['array', 'int32'];
    const kinds = v.map((x) => inferType(x, key, depth + 1));
    let el = kinds[0];
    for (const k of kinds) {
      if (k.join() === el.join()) continue;
      const nums = ['int32', 'int64', 'uint64', 'float32'];
      if (k.length === 1 && el.length === 1 && nums.includes(k[0]) && nums.includes(el[0])) {
        el = [k[0] === 'float32' || el[0] === 'float32' ? 'float32' : 'int64'];
      } else
        throw new Error(
          `[saveGguf] metadata '${key}' mixes ${el.join('<')} and ${k.join('<')} values; GGUF arrays hold one type (give metadataTypes['${key}'])`,
        );
    }
    return ['array', ...el];
  }
  throw new TypeError(`[saveGguf] metadata '${key}' has a ${v === null ? 'null' : typeof v} value; GGUF holds numbers, bigints, booleans, strings and arrays`);
}

const INT_RANGE: Record<string, [bigint, bigint]> = {
  uint8: [0n, 255n],
  int8: [-128n, 127n],
  uint16: [0n, 65535n],
  int16: [-32768n, 32767n],
  uint32: [0n, 0xffffffffn],
  int32: [-0x80000000n, 0x7fffffffn],
  uint64: [0n, 0xffffffffffffffffn],
  int64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

function writeValue(out: Bytes, chain: string[], v: unknown, key: string): void {
  if (chain.length === 1 && chain[0] === 'array') chain = inferType(v, key);
  const t = chain[0];
  const bad = (what: string) => new TypeError(`[saveGguf] metadata '${key}': ${what} cannot be stored as ${chain.join('<')}${'>'.repeat(chain.length - 1)}`);
  if (t === 'array') {
    if (!Array.isArray(v)) throw bad(`${typeof v} value`);
    out.u32(chain[1] === 'array' ? 9 : TYPE_ID[chain[1]]);
    out.u64(v.length);
    for (const x of v) writeValue(out, chain.slice(1), x, key);
    return;
  }
  if (t === 'string') {
    if (typeof v !== 'string') throw bad(`${typeof v} value`);
    out.str(v);
    return;
  }
  if (t === 'bool') {
    if (typeof v !== 'boolean') throw bad(`${typeof v} value`);
    out.num(1, (b) => b.writeUInt8(v ? 1 : 0));
    return;
  }
  if (t === 'float32' || t === 'float64') {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw bad(`${typeof v} value`);
    out.num(t === 'float32' ? 4 : 8, (b) => (t === 'float32' ? b.writeFloatLE(Number(v)) : b.writeDoubleLE(Number(v))));
    return;
  }
  if ((typeof v !== 'number' || !Number.isInteger(v)) && typeof v !== 'bigint') throw bad(`value ${String(v)}`);
  const bv = BigInt(v);
  const [lo, hi] = INT_RANGE[t];
  if (bv < lo || bv > hi) throw bad(`value ${String(v)} (out of range)`);
  const size = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, uint64: 8, int64: 8 }[t]!;
  out.num(size, (b) => {
    if (t === 'uint64') b.writeBigUInt64LE(bv);
    else if (t === 'int64') b.writeBigInt64LE(bv);
    else if (t.startsWith('u')) b.writeUIntLE(Number(bv), 0, size);
    else b.writeIntLE(Number(bv), 0, size);
  });
}

function tensorType(name: string, a: NDArray, opts: SaveGgufOptions): GgmlType {
  let tn: GgmlTypeName | undefined;
  if (typeof opts.types === 'function') tn = opts.types(name, a);
  else if (opts.types && hasKey(opts.types, name)) tn = opts.types[name];
  tn ??= DEFAULT_TYPE[a.dtype];
  if (!tn)
    throw new Error(`[saveGguf] tensor '${name}' has dtype ${a.dtype}, which GGUF has no type for; convert it (e.g. astype('int32') or astype('float32'))`);
  const t = GGML_BY_NAME.get(tn);
  // uint8 blocks of a block type (as loadGguf(..., { quantized: 'blocks' }) returns them) are written as they are
  if (t && !t.dtype && a.dtype === 'uint8' && BLOCK_TYPES.has(t.name)) {
    const rb = a.ndim ? a.shape[a.ndim - 1] : 0;
    if (a.ndim < 1 || rb === 0 || rb % t.typeSize !== 0)
      throw new Error(`[saveGguf] tensor '${name}' of shape [${a.shape.join(', ')}]: uint8 ${t.name} rows must be whole ${t.typeSize}-byte blocks`);
    return t;
  }
  if (!t || !(t.dtype || t.quant))
    throw new Error(`[saveGguf] tensor '${name}': kiln cannot write ggml type ${String(tn)} (supported: ${WRITABLE.join(', ')}, and ${[...BLOCK_TYPES].join(', ')} given as uint8 blocks)`);
  const ne0 = a.ndim ? a.shape[a.ndim - 1] : 1;
  if (ne0 % t.blockSize !== 0)
    throw new Error(
      `[saveGguf] tensor '${name}' of shape [${a.shape.join(', ')}] cannot be ${t.name}: its last axis (${ne0}) is not a multiple of the block size ${t.blockSize}`,
    );
  return t;
}

/**
 * Saves tensors and metadata to a GGUF v3 file (llama.cpp / ggml read it). Metadata types are
 * taken from `metadataTypes` (as `kn.loadGguf` returns them, so a loaded file saves back
 * unchanged) or inferred: integers → int32 (int64 beyond), other numbers → float32, bigint →
 * int64, strings, booleans, arrays of one type. `general.alignment` (uint32) sets the alignment.
 * @example
 * kn.saveGguf('/tmp/kiln-doc.gguf', { tensors: { w: kn.ones([4, 32]) }, metadata: { 'general.name': 'demo' } }, { types: { w: 'Q8_0' } });
 * kn.loadGguf('/tmp/kiln-doc.gguf').types // { w: 'Q8_0' }
 */
export function saveGguf(
  path: string,
  file: { tensors: Record<string, NDArray>; metadata?: Record<string, GgufValue>; metadataTypes?: Record<string, string> },
  opts: SaveGgufOptions = {},
): void {
  const op = 'saveGguf';
  if (file === null || typeof file !== 'object') throw new TypeError(`[${op}] expected { tensors, metadata }`);
  const entries = namedArrays(file.tensors ?? {}, op);
  const metadata = file.metadata ?? {};
  const mtypes = file.metadataTypes ?? {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new TypeError(`[${op}] metadata must be an object`);
  let alignment = DEFAULT_ALIGNMENT;
  const head = new Bytes();
  head.u32(MAGIC);
  head.u32(3);
  head.u64(entries.length);
  const kvs = Object.entries(metadata);
  head.u64(kvs.length);
  for (const [key, v] of kvs) {
    let chain = hasKey(mtypes, key) ? parseType(mtypes[key], key) : inferType(v, key);
    if (key === 'general.alignment') {
      chain = ['uint32'];
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 0x80000000 || (v & (v - 1)) !== 0)
        throw new Error(`[${op}] general.alignment must be a power of two, got ${String(v)}`);
      alignment = v;
    }
    head.str(key);
    head.u32(chain[0] === 'array' ? 9 : TYPE_ID[chain[0]]);
    writeValue(head, chain, v, key);
  }
  const plan = entries.map(([name, a]) => {
    const nb = Buffer.byteLength(name, 'utf8');
    if (nb >= MAX_NAME) throw new Error(`[${op}] tensor name '${name}' is ${nb} bytes; ggml allows at most ${MAX_NAME - 1}`);
    if (a.ndim > MAX_DIMS) throw new Error(`[${op}] tensor '${name}' has ${a.ndim} dimensions; GGUF allows at most ${MAX_DIMS}`);
    const type = tensorType(name, expectArray(a, op, `'${name}'`), opts);
    const raw = !type.dtype && a.dtype === 'uint8';
    // raw blocks: GGUF's shape counts values, the array's last axis counts bytes
    const shape = raw ? [...a.shape.slice(0, -1), (a.shape[a.ndim - 1] / type.typeSize) * type.blockSize] : a.shape;
    return { name, a, type, raw, shape, nbytes: raw ? a.size : (a.size / type.blockSize) * type.typeSize, offset: 0 };
  });
  let off = 0;
  for (const p of plan) {
    p.offset = off;
    off += Math.ceil(p.nbytes / alignment) * alignment;
  }
  for (const p of plan) {
    head.str(p.name);
    head.u32(p.a.ndim);
    for (const d of p.shape.slice().reverse()) head.u64(d);
    head.u32(p.type.id);
    head.u64(p.offset);
  }
  const pad = (n: number) => Buffer.alloc((alignment - (n % alignment)) % alignment);
  writeAtomic(path, op, (f) => {
    f.write(head.concat());
    if (plan.length) f.write(pad(f.pos)); // ggml seeks to the aligned data section only when there are tensors
    const dataStart = f.pos;
    for (const p of plan) {
      if (f.pos - dataStart !== p.offset) throw new Error(`[${op}] internal error: tensor '${p.name}' offset mismatch`);
      if (p.raw) streamBytes(p.a, (b) => f.write(b));
      else if (p.type.dtype) {
        const src = p.a.dtype === p.type.dtype ? p.a : astype(p.a, p.type.dtype);
        try {
          streamBytes(src, (b) => f.write(b));
        } finally {
          if (src !== p.a) src.dispose();
        }
      } else {
        const src = p.a.dtype === 'float32' ? p.a : astype(p.a, 'float32');
        try {
          streamBytes(src, (b) => {
            const x = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
            const q = new Uint8Array((x.length / p.type.blockSize) * p.type.typeSize);
            p.type.quant!(x, q);
            f.write(q);
          });
        } finally {
          if (src !== p.a) src.dispose();
        }
      }
      f.write(pad(f.pos - dataStart));
    }
  });
}

/**
 * Where each tensor's raw bytes lie in a GGUF file (absolute offset, size, ggml type): for tools
 * and tests that need the stored blocks rather than the dequantized values.
 * @example
 * kn.saveGguf('/tmp/kiln-doc.gguf', { tensors: { w: kn.ones([4, 32]) } }, { types: { w: 'Q8_0' } });
 * ggufTensorLayout('/tmp/kiln-doc.gguf')[0] // { name: 'w', type: 'Q8_0', shape: [4, 32], offset: 96, nbytes: 136 }
 */
export function ggufTensorLayout(path: string): { name: string; type: GgmlTypeName; shape: number[]; offset: number; nbytes: number }[] {
  return withFile(path, 'load', 'gguf', (src) => {
    const h = parseGguf(src);
    return h.infos.map((t) => ({ name: t.name, type: t.type.name, shape: t.shape, offset: h.dataStart + t.offset, nbytes: t.nbytes }));
  });
}
