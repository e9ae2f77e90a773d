// .npy: numpy's own array file format, byte-compatible with np.save / np.load.
// Header: "\x93NUMPY", version, header length, then a Python dict literal with 'descr',
// 'fortran_order' and 'shape', padded with spaces to a multiple of 64 bytes and ending in "\n".
import type { NDArray } from '../../core/array.js';
import { viewAsComplex } from '../complex/views.js';
import { transpose } from '../views.js';
import { itemsize, type DType } from '../../core/dtype.js';
import { arrayFromBytes, arrayFromFile, checkedSize, expectArray, streamBytes, withFile, writeAtomic, type FileSource } from './common.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21; // numpy leaves room to grow the first axis in place
const MAX_HEADER = 1 << 24;

const DESCR: Record<DType, string | null> = {
  bool: '|b1',
  uint8: '|u1',
  int8: '|i1',
  uint16: '<u2',
  int16: '<i2',
  uint32: '<u4',
  int32: '<i4',
  uint64: '<u8',
  int64: '<i8',
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
  bfloat16: null,
  complex64: '<c8',
};

const FROM_KIND: Record<string, DType> = {
  b1: 'bool',
  '?1': 'bool',
  u1: 'uint8',
  i1: 'int8',
  u2: 'uint16',
  i2: 'int16',
  u4: 'uint32',
  i4: 'int32',
  u8: 'uint64',
  i8: 'int64',
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  c8: 'complex64',
};

/**
 * numpy's descr string for `dtype`; throws for bfloat16, which numpy has no dtype for.
 * @example npyDescr('float32', 'save') // '<f4'
 */
export function npyDescr(dtype: DType, op: string): string {
  const d = DESCR[dtype];
  if (!d) throw new Error(`[${op}] npy cannot store bfloat16: numpy has no bfloat16 dtype; convert first, e.g. a.astype('float32'), or use kn.saveSafetensors`);
  return d;
}

function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * The .npy header numpy writes for a C-ordered array of `shape` and `dtype`, byte for byte.
 * @example npyHeader([2, 3], 'float32').length // 128
 */
export function npyHeader(shape: readonly number[], dtype: DType, op = 'save'): Buffer {
  let dict = `{'descr': '${npyDescr(dtype, op)}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const hlen = dict.length + 1; // + the final "\n"
  for (const [major, lenBytes] of [
    [1, 2],
    [2, 4],
  ] as const) {
    const padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + lenBytes + hlen) % ARRAY_ALIGN);
    const total = hlen + padlen;
    if (lenBytes === 2 && total > 0xffff) continue;
    const pre = Buffer.alloc(MAGIC.length + 2 + lenBytes);
    MAGIC.copy(pre);
    pre[6] = major;
    pre[7] = 0;
    if (lenBytes === 2) pre.writeUInt16LE(total, 8);
    else pre.writeUInt32LE(total, 8);
    return Buffer.concat([pre, Buffer.from(dict + ' '.repeat(padlen) + '\n', 'latin1')]);
  }
  throw new Error(`[${op}] npy header too long`);
}

// ---- header parsing: a tiny reader for the Python literals numpy writes ----------------------

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

function parsePyLiteral(text: string, fail: (m: string) => Error): PyValue {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (depth: number): PyValue => {
    if (depth > 16) throw fail('header nests too deeply');
    ws();
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      const map = new Map<string, PyValue>();
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        const v = value(depth + 1);
        if (c === '{') {
          ws();
          if (text[i] !== ':') throw fail(`header dict expects ':' at character ${i}`);
          i++;
          if (typeof v !== 'string') throw fail('header dict keys must be strings');
          map.set(v, value(depth + 1));
        } else items.push(v);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) throw fail(`header has an unexpected character ${JSON.stringify(text[i] ?? 'end')} at ${i}`);
      }
      return c === '{' ? map : items;
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        s += text[i++];
      }
      if (i >= text.length) throw fail('header has an unterminated string');
      i++;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)/.exec(text.slice(i, i + 64));
    if (!m) throw fail(`header has an unexpected character ${JSON.stringify(c ?? 'end')} at ${i}`);
    i += m[0].length;
    if (m[2]) return m[2] === 'None' ? null : m[2] === 'True';
    return Number(m[1]);
  };
  const v = value(0);
  ws();
  if (i !== text.length) throw fail(`header has trailing characters at ${i}`);
  return v;
}

export interface NpyInfo {
  dtype: DType;
  shape: number[];
  fortran: boolean;
  /** data is big-endian and must be byte-swapped */
  swap: boolean;
  /** byte offset of the data */
  dataOffset: number;
  /** complex data ('<c8', '<c16'): the dtype of one part of each (re, im) pair */
  complexPart?: 'float32' | 'float64';
  nbytes: number;
}

/** Parses the descr string (e.g. '<f4', '>i8', '|b1'). */
function parseDescr(descr: PyValue, fail: (m: string) => Error): { dtype: DType; swap: boolean; complexPart?: 'float32' | 'float64' } {
  if (typeof descr !== 'string') throw fail('has a structured dtype (a list descr), which kiln does not support');
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(descr);
  // complex: pairs of floats; complex128 is read into complex64 (kiln has no complex128, as MLX)
  if (m && m[2] === 'c' && (m[3] === '8' || m[3] === '16'))
    return { dtype: 'complex64', swap: m[1] === '>', complexPart: m[3] === '8' ? 'float32' : 'float64' };
  const dtype = m ? FROM_KIND[m[2] + m[3]] : undefined;
  if (!m || !dtype) {
    const kind = /^[<>|=]?([a-zA-Z])/.exec(descr)?.[1];
    const what =
      kind === 'c'
        ? 'complex'
        : kind === 'U' || kind === 'S'
          ? 'string'
          : kind === 'O'
            ? 'object (pickled)'
            : kind === 'M' || kind === 'm'
              ? 'datetime'
              : kind === 'V'
                ? 'void/raw'
                : 'this';
    throw fail(`has dtype '${descr}': kiln cannot read ${what} arrays`);
  }
  return { dtype, swap: m[1] === '>' && itemsize(dtype) > 1 };
}

/**
 * Parses an npy header from `head` (the file's first bytes: at least the magic, version and
 * header); `avail` is how many bytes exist in total, to check the data fits before reading it.
 * @example
 * const bytes = npyHeader([2, 3], 'float32');
 * parseNpyHeader(bytes, bytes.length + 24, (m) => new Error(m)).shape // [2, 3]
 */
export function parseNpyHeader(head: Uint8Array, avail: number, fail: (m: string) => Error): NpyInfo & { headerEnd: number } {
  const b = Buffer.from(head.buffer, head.byteOffset, head.length);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) throw fail('is not an npy file: the magic string \\x93NUMPY is missing');
  const major = b[6];
  let hlen: number, start: number;
  if (major === 1) {
    hlen = b.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (b.length < 12) throw fail('is truncated inside the header length');
    hlen = b.readUInt32LE(8);
    start = 12;
  } else throw fail(`has unsupported format version ${major}.${b[7]}`);
  if (hlen > MAX_HEADER || start + hlen > avail) throw fail(`header length ${hlen} exceeds the ${avail - start} bytes after the preamble`);
  if (start + hlen > b.length) throw fail(`is truncated: header needs ${hlen} bytes, ${b.length - start} available`);
  const text = b.subarray(start, start + hlen).toString(major === 3 ? 'utf8' : 'latin1');
  const dict = parsePyLiteral(text.trim(), (m) => fail(`${m} (header ${JSON.stringify(text.slice(0, 120))})`));
  if (!(dict instanceof Map)) throw fail('header is not a dict');
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') throw fail(`header keys are [${keys}], expected descr, fortran_order and shape`);
  const { dtype, swap, complexPart } = parseDescr(dict.get('descr')!, fail);
  const fortran = dict.get('fortran_order');
  if (typeof fortran !== 'boolean') throw fail('header fortran_order is not True or False');
  const shapeV = dict.get('shape');
  if (!Array.isArray(shapeV) || !shapeV.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0))
    throw fail(`header shape ${JSON.stringify(shapeV)} is not a tuple of non-negative integers`);
  const shape = shapeV as number[];
  if (shape.length > 32) throw fail(`has ${shape.length} dimensions; at most 32 are supported`);
  const nbytes = checkedSize(shape, fail) * (complexPart ? 2 * itemsize(complexPart) : itemsize(dtype));
  const dataOffset = start + hlen;
  if (dataOffset + nbytes > avail)
    throw fail(`is truncated: the data of shape [${shape.join(', ')}] ${dtype} needs ${nbytes} bytes after the header, but only ${avail - dataOffset} remain`);
  return { dtype, shape, fortran, swap, dataOffset, nbytes, headerEnd: dataOffset, ...(complexPart ? { complexPart } : {}) };
}

/**
 * Reads an npy file's header and data from an open file.
 * @example
 * import { withFile } from './common.js';
 * kn.save('/tmp/kiln-doc-x.npy', kn.arange(3));
 * withFile('/tmp/kiln-doc-x.npy', 'load', 'npy', readNpyFile) // [0, 1, 2]
 */
export function readNpyFile(src: FileSource): NDArray {
  const fail = (m: string) => src.error(m);
  const pre = src.read(0, Math.min(src.size, 12), 'npy preamble');
  let need = pre.length;
  if (pre.length >= 10 && pre.subarray(0, 6).equals(MAGIC)) {
    const start = pre[6] === 1 ? 10 : 12;
    const hlen = pre[6] === 1 ? pre.readUInt16LE(8) : pre.length >= 12 ? pre.readUInt32LE(8) : 0;
    need = Math.min(src.size, start + Math.min(hlen, MAX_HEADER));
  }
  const info = parseNpyHeader(src.read(0, need, 'npy header'), src.size, fail);
  if (info.complexPart) return complexFrom(info, (shape, d) => arrayFromFile(src, info.dataOffset, shape, d, { swap: info.swap }));
  return arrayFromFile(src, info.dataOffset, info.shape, info.dtype, { swap: info.swap, fortran: info.fortran });
}

/**
 * Complex data read as float pairs [..., 2] (byteswapped per part), then viewed as complex64; a
 * Fortran-ordered array is the C-ordered one of the reversed shape, transposed.
 */
function complexFrom(info: NpyInfo, read: (shape: number[], dtype: DType) => NDArray): NDArray {
  const shape = info.fortran ? [...info.shape].reverse() : info.shape;
  const z = viewAsComplex(read([...shape, 2], info.complexPart!));
  return info.fortran ? transpose(z) : z;
}

/**
 * Reads an npy image held in memory (an .npz member).
 * @example
 * const chunks = [];
 * writeNpy(kn.array([1.5, 2]), (b) => chunks.push(...b), 'save');
 * readNpyBytes(new Uint8Array(chunks), (m) => new Error(m)) // [1.5, 2]
 */
export function readNpyBytes(bytes: Uint8Array, fail: (m: string) => Error): NDArray {
  const info = parseNpyHeader(bytes, bytes.length, fail);
  const data = bytes.subarray(info.dataOffset, info.dataOffset + info.nbytes);
  if (info.complexPart) return complexFrom(info, (shape, d) => arrayFromBytes(data, shape, d, { swap: info.swap }));
  return arrayFromBytes(data, info.shape, info.dtype, { swap: info.swap, fortran: info.fortran });
}

/**
 * Total size of the npy image of `a` (header + data).
 * @example npySize(kn.zeros([2, 3]), 'savez') // 152 (a 128-byte header and 24 bytes of float32 data)
 */
export function npySize(a: NDArray, op: string): number {
  return npyHeader(a.shape, a.dtype, op).length + a.nbytes;
}

/**
 * Streams the npy image of `a` (numpy's exact bytes) to `sink`.
 * @example
 * const chunks = [];
 * writeNpy(kn.zeros([2, 3]), (b) => chunks.push(b), 'save');
 * chunks.map((b) => b.length) // [128, 24]
 */
export function writeNpy(a: NDArray, sink: (b: Uint8Array) => void, op: string): void {
  sink(npyHeader(a.shape, a.dtype, op));
  streamBytes(a, sink);
}

/**
 * Saves an array to a .npy file that numpy reads with `np.load` (same bytes as `np.save`).
 * Like numpy, '.npy' is appended when the path has no such extension. bfloat16 has no numpy
 * dtype: convert it first (`a.astype('float32')`) or use `kn.saveSafetensors`.
 * @example
 * kn.save('/tmp/kiln-doc-x.npy', kn.arange(6).reshape([2, 3]));
 * kn.load('/tmp/kiln-doc-x.npy') // [[0, 1, 2], [3, 4, 5]]
 */
export function save(path: string, a: NDArray): void {
  const op = 'save';
  const arr = expectArray(a, op, 'the array');
  npyDescr(arr.dtype, op);
  const file = typeof path === 'string' && !path.endsWith('.npy') ? `${path}.npy` : path;
  writeAtomic(file, op, (f) => writeNpy(arr, (b) => f.write(b), op));
}

/**
 * Loads a .npy file (any numpy version 1.0–3.0 header, C or Fortran order, little- or
 * big-endian) into an array.
 * @example
 * kn.save('/tmp/kiln-doc-x.npy', kn.ones([2, 3], 'float16'));
 * const a = kn.loadNpy('/tmp/kiln-doc-x.npy');
 * [a.shape, a.dtype] // [[2, 3], 'float16']
 */
export function loadNpy(path: string): NDArray {
  return withFile(path, 'load', 'npy', readNpyFile);
}
