// .safetensors (Hugging Face): an 8-byte little-endian header length, a JSON header
// { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: { str: str } }, then the
// raw little-endian tensor bytes. Loading maps the file and views each tensor in place (zero-copy,
// pages read lazily by the OS); sharded sets load through model.safetensors.index.json.
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { NDArray } from '../../core/array.js';
import { itemsize, type DType } from '../../core/dtype.js';
import { dispose } from '../../core/memory.js';
import {
  arrayFromFile,
  checkedSize,
  hasKey,
  ioError,
  mapFile,
  namedArrays,
  setKey,
  streamBytes,
  viewArray,
  withFile,
  writeAtomic,
  type FileSource,
} from './common.js';

const TO_DTYPE: Record<string, DType> = {
  BOOL: 'bool',
  U8: 'uint8',
  I8: 'int8',
  U16: 'uint16',
  I16: 'int16',
  U32: 'uint32',
  I32: 'int32',
  U64: 'uint64',
  I64: 'int64',
  F16: 'float16',
  BF16: 'bfloat16',
  F32: 'float32',
  F64: 'float64',
  C64: 'complex64', // safetensors' complex64 (interleaved float32 pairs)
};
const FROM_DTYPE = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;
/** The reference implementation's limit on the JSON header. */
const MAX_HEADER = 100_000_000;

export interface SafetensorsFile {
  tensors: Record<string, NDArray>;
  /** the `__metadata__` strings (for a sharded set: every shard's, merged) */
  metadata: Record<string, string>;
}

interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  nbytes: number;
}

function parseHeader(src: FileSource): { entries: TensorEntry[]; metadata: Record<string, string>; dataStart: number } {
  if (src.size < 8) throw src.error(`is truncated: ${src.size} bytes is shorter than the 8-byte header length`);
  const n = src.read(0, 8, 'header length').readBigUInt64LE(0);
  if (n > BigInt(src.size - 8)) throw src.error(`header length ${n} exceeds file size ${src.size}`);
  if (n > BigInt(MAX_HEADER)) throw src.error(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  const hlen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(src.read(8, hlen, 'header').toString('utf8'));
  } catch (e) {
    throw src.error(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw src.error('header is not a JSON object');
  const dataStart = 8 + hlen;
  const dataLen = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) throw src.error('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') throw src.error(`__metadata__ value for '${k}' is ${typeof v}, not a string`);
        setKey(metadata, k, v);
      }
      continue;
    }
    const bad = (m: string) => src.error(`tensor '${name}' ${m}`);
    if (info === null || typeof info !== 'object') throw bad('has no {dtype, shape, data_offsets} entry');
    const { dtype: dt, shape, data_offsets: offs } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dt !== 'string' || !hasKey(TO_DTYPE, dt))
      throw bad(`has unsupported dtype ${JSON.stringify(dt)} (supported: ${Object.keys(TO_DTYPE).join(' ')})`);
    const dtype = TO_DTYPE[dt];
    if (!Array.isArray(shape) || shape.length > 32 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw bad(`has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw bad(`has invalid data_offsets ${JSON.stringify(offs)}`);
    const [b, e] = offs as number[];
    const nbytes = checkedSize(shape as number[], bad) * itemsize(dtype);
    if (b > e || e > dataLen) throw bad(`data_offsets [${b}, ${e}] lie outside the ${dataLen}-byte data section`);
    if (e - b !== nbytes) throw bad(`data_offsets [${b}, ${e}] hold ${e - b} bytes, but shape [${(shape as number[]).join(', ')}] ${dt} needs ${nbytes}`);
    entries.push({ name, dtype, shape: shape as number[], begin: dataStart + b, nbytes });
  }
  // two tensors sharing bytes would alias each other's data (the reference loader refuses too)
  const byBegin = entries.filter((t) => t.nbytes > 0).sort((x, y) => x.begin - y.begin);
  for (let i = 1; i < byBegin.length; i++) {
    const p = byBegin[i - 1],
      t = byBegin[i];
    if (t.begin < p.begin + p.nbytes) {
      const range = (x: TensorEntry) => `[${x.begin - dataStart}, ${x.begin - dataStart + x.nbytes}]`;
      throw src.error(`tensors '${p.name}' ${range(p)} and '${t.name}' ${range(t)} have overlapping data_offsets`);
    }
  }
  return { entries, metadata, dataStart };
}

/**
 * Loads one open safetensors file: tensors view the mapped file where element-aligned.
 * @example
 * import { withFile } from './common.js';
 * kn.saveSafetensors('/tmp/kiln-doc-w.safetensors', { w: kn.array([1, 2]) });
 * withFile('/tmp/kiln-doc-w.safetensors', 'load', 'safetensors', readSafetensors).tensors // { w: [1, 2] }
 */
export function readSafetensors(src: FileSource): SafetensorsFile {
  const { entries, metadata } = parseHeader(src);
  const tensors: Record<string, NDArray> = {};
  const mapped = entries.some((t) => t.nbytes > 0) ? mapFile(src) : null;
  try {
    for (const t of entries) {
      const isz = itemsize(t.dtype);
      // bool bytes other than 0/1 must be normalised, which a read-only view cannot do
      const a =
        mapped && t.begin % isz === 0 && t.dtype !== 'bool'
          ? viewArray(mapped, t.begin / isz, t.shape, t.dtype)
          : arrayFromFile(src, t.begin, t.shape, t.dtype);
      setKey(tensors, t.name, a);
    }
  } catch (e) {
    dispose(tensors);
    throw e;
  } finally {
    mapped?.release(); // the tensors' views keep the mapping alive
  }
  return { tensors, metadata };
}

/** A shard path from an index must stay inside the index's folder. */
function shardPath(indexPath: string, shard: unknown): string {
  if (typeof shard !== 'string' || shard.length === 0 || isAbsolute(shard) || normalize(shard).split(/[\\/]/).includes('..') || shard.includes('\0'))
    throw ioError('load', 'safetensors', `index ${indexPath} names an invalid shard file ${JSON.stringify(shard)} (must be a relative path inside its folder)`);
  return join(dirname(indexPath), normalize(shard).split(/[\\/]/).join(sep));
}

function readIndex(indexPath: string): SafetensorsFile {
  const index = withFile(indexPath, 'load', 'safetensors', (src) => {
    if (src.size > MAX_HEADER) throw src.error(`index of ${src.size} bytes exceeds the ${MAX_HEADER}-byte limit`);
    try {
      return JSON.parse(src.read(0, src.size, 'index').toString('utf8')) as unknown;
    } catch (e) {
      throw src.error(`index ${indexPath} is not valid JSON: ${(e as Error).message}`);
    }
  });
  const wm = (index as { weight_map?: unknown } | null)?.weight_map;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) throw ioError('load', 'safetensors', `index ${indexPath} has no weight_map object`);
  const weightMap = wm as Record<string, unknown>;
  const shards = [...new Set(Object.values(weightMap).map((s) => shardPath(indexPath, s)))];
  const tensors: Record<string, NDArray> = {};
  const metadata: Record<string, string> = {};
  try {
    for (const shard of shards) {
      const part = withFile(shard, 'load', 'safetensors', readSafetensors);
      for (const [k, v] of Object.entries(part.tensors)) {
        if (hasKey(tensors, k)) {
          dispose(part.tensors);
          throw ioError('load', 'safetensors', `tensor '${k}' appears in more than one shard (again in ${shard})`);
        }
        setKey(tensors, k, v);
      }
      for (const [k, v] of Object.entries(part.metadata)) setKey(metadata, k, v);
    }
    for (const [name, shard] of Object.entries(weightMap)) {
      if (!hasKey(tensors, name))
        throw ioError('load', 'safetensors', `tensor '${name}' is listed in ${indexPath} for ${String(shard)} but that shard does not hold it`);
    }
  } catch (e) {
    dispose(tensors);
    throw e;
  }
  const im = (index as { metadata?: unknown }).metadata;
  if (im !== null && typeof im === 'object' && !Array.isArray(im))
    for (const [k, v] of Object.entries(im as Record<string, unknown>))
      if (!hasKey(metadata, k)) setKey(metadata, k, typeof v === 'string' ? v : JSON.stringify(v));
  return { tensors, metadata };
}

/**
 * Loads a .safetensors file (or a sharded set through its `*.safetensors.index.json`) as
 * `{ tensors, metadata }`. On the CPU the file is memory-mapped: tensors are zero-copy views,
 * read from disk only when used.
 * @example
 * kn.saveSafetensors('/tmp/kiln-doc-w.safetensors', { w: kn.ones([2], 'bfloat16') }, { format: 'pt' });
 * const { tensors, metadata } = kn.loadSafetensors('/tmp/kiln-doc-w.safetensors');
 * [tensors.w.dtype, metadata] // ['bfloat16', { format: 'pt' }]
 */
export function loadSafetensors(path: string): SafetensorsFile {
  if (typeof path === 'string' && path.endsWith('.json')) return readIndex(path);
  return withFile(path, 'load', 'safetensors', readSafetensors);
}

/**
 * Saves `{ name: array }` to a .safetensors file with optional string metadata (`__metadata__`).
 * Tensors are laid out largest dtype first so each starts element-aligned (zero-copy on load).
 * @example
 * kn.saveSafetensors('/tmp/kiln-doc-w.safetensors', { w: kn.ones([2, 2], 'bfloat16') }, { format: 'pt' });
 * kn.loadSafetensors('/tmp/kiln-doc-w.safetensors').tensors.w // [[1, 1], [1, 1]]
 */
export function saveSafetensors(path: string, tensors: Record<string, NDArray>, metadata?: Record<string, string>): void {
  const op = 'saveSafetensors';
  const entries = namedArrays(tensors, op);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new TypeError(`[${op}] metadata must be an object of strings`);
    const md: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`[${op}] metadata value for '${k}' must be a string, got ${typeof v}`);
      setKey(md, k, v);
    }
    if (Object.keys(md).length) setKey(header, '__metadata__', md);
  }
  for (const [name] of entries) if (name === '__metadata__') throw new Error(`[${op}] '__metadata__' is reserved and cannot name a tensor`);
  const layout = entries.slice().sort(([na, a], [nb, b]) => b.itemsize - a.itemsize || (na < nb ? -1 : na > nb ? 1 : 0));
  const offsets = new Map<string, [number, number]>();
  let pos = 0;
  for (const [name, a] of layout) {
    offsets.set(name, [pos, pos + a.nbytes]);
    pos += a.nbytes;
  }
  for (const [name, a] of entries) setKey(header, name, { dtype: FROM_DTYPE[a.dtype], shape: a.shape, data_offsets: offsets.get(name) });
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hbytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hbytes.length));
  writeAtomic(path, op, (f) => {
    f.write(len);
    f.write(hbytes);
    for (const [, a] of layout) streamBytes(a, (b) => f.write(b));
  });
}
