// .npz: a zip of .npy members, as np.savez / np.savez_compressed write and np.load reads.
import type { NDArray } from '../../core/array.js';
import { dispose } from '../../core/memory.js';
import { arrayFromFile, expectArray, hasKey, namedArrays, setKey, withFile, writeAtomic, type FileSource } from './common.js';
import { npyDescr, npySize, parseNpyHeader, readNpyBytes, writeNpy } from './npy.js';
import { checkEntry, crc32, entryDataOffset, readEntry, readZipDirectory, ZipWriter, type ZipEntry } from './zip.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
const HEAD_PEEK = 1 << 16;

export interface SavezOptions {
  /** deflate every member (np.savez_compressed); default false (stored, like np.savez) */
  compressed?: boolean;
}

/** A stored member is read straight from the file in chunks (any size), its CRC checked on the way. */
function readStoredMember(src: FileSource, e: ZipEntry, fail: (m: string) => Error): NDArray | null {
  const start = entryDataOffset(src, e);
  const head = src.read(start, Math.min(e.size, HEAD_PEEK), `member '${e.name}'`);
  if (head.length < 6 || !head.subarray(0, 6).equals(MAGIC)) return null;
  const info = parseNpyHeader(head, e.size, fail);
  let crc = crc32(head.subarray(0, info.dataOffset));
  const a = arrayFromFile(src, start + info.dataOffset, info.shape, info.dtype, {
    swap: info.swap,
    fortran: info.fortran,
    onChunk: (b) => (crc = crc32(b, crc)),
  });
  const tail = e.size - info.dataOffset - info.nbytes;
  if (tail > 0) crc = crc32(src.read(start + info.dataOffset + info.nbytes, tail, `member '${e.name}'`), crc);
  if (crc !== e.crc) {
    a.dispose();
    throw fail(`is corrupt: its CRC-32 does not match the recorded one`);
  }
  return a;
}

/**
 * Reads every .npy member of an open zip file; names lose their '.npy' suffix like np.load.
 * @example
 * import { withFile } from './common.js';
 * kn.savez('/tmp/kiln-doc-p.npz', { w: kn.array([1, 2]) });
 * withFile('/tmp/kiln-doc-p.npz', 'load', 'npz', readNpz).w // [1, 2]
 */
export function readNpz(src: FileSource): Record<string, NDArray> {
  const entries = readZipDirectory(src);
  const out: Record<string, NDArray> = {};
  try {
    for (const e of entries) {
      if (e.name.endsWith('/')) continue;
      const fail = (m: string) => src.error(`member '${e.name}' ${m}`);
      checkEntry(src, e);
      let a: NDArray | null;
      if (e.method === 0) a = readStoredMember(src, e, fail);
      else {
        const bytes = readEntry(src, e);
        a = bytes.length >= 6 && bytes.subarray(0, 6).equals(MAGIC) ? readNpyBytes(bytes, fail) : null;
      }
      if (!a) continue; // not an array (numpy would hand back raw bytes)
      const key = e.name.endsWith('.npy') ? e.name.slice(0, -4) : e.name;
      if (hasKey(out, key)) {
        a.dispose();
        throw src.error(`has two members named '${key}'`);
      }
      setKey(out, key, a);
    }
  } catch (err) {
    dispose(out);
    throw err;
  }
  return out;
}

/**
 * Loads an .npz archive (stored or compressed, zip64 too) into `{ name: array }`.
 * @example
 * kn.savez('/tmp/kiln-doc-p.npz', { w: kn.ones([2]), b: kn.zeros([1]) });
 * const { w, b } = kn.loadNpz('/tmp/kiln-doc-p.npz');
 * [w, b] // [[1, 1], [0]]
 */
export function loadNpz(path: string): Record<string, NDArray> {
  return withFile(path, 'load', 'npz', readNpz);
}

function npzEntries(arrays: unknown, op: string): [string, NDArray][] {
  if (Array.isArray(arrays)) return arrays.map((a, i) => [`arr_${i}`, expectArray(a, op, `arrays[${i}]`)]);
  return namedArrays(arrays, op);
}

/**
 * Saves several arrays into one .npz file that `np.load` reads (members are numpy's exact .npy
 * bytes). Pass `{ name: array }` (or a list, named arr_0, arr_1, ... like np.savez). Like numpy,
 * '.npz' is appended when the path has no such extension.
 * @example
 * kn.savez('/tmp/kiln-doc-p.npz', { w: kn.ones([2, 2]), b: kn.zeros([2]) });
 * Object.keys(kn.loadNpz('/tmp/kiln-doc-p.npz')) // ['w', 'b']
 */
export function savez(path: string, arrays: Record<string, NDArray> | NDArray[], opts: SavezOptions = {}): void {
  const op = opts.compressed ? 'savezCompressed' : 'savez';
  const entries = npzEntries(arrays, op);
  for (const [, a] of entries) npyDescr(a.dtype, op);
  const file = typeof path === 'string' && !path.endsWith('.npz') ? `${path}.npz` : path;
  writeAtomic(file, op, (f) => {
    const zip = new ZipWriter(f, op);
    for (const [name, a] of entries) {
      const member = `${name}.npy`;
      if (opts.compressed) {
        const parts: Uint8Array[] = [];
        writeNpy(a, (b) => parts.push(b), op);
        zip.addDeflated(member, Buffer.concat(parts));
      } else {
        zip.addStored(member, npySize(a, op), (write) => writeNpy(a, write, op));
      }
    }
    zip.finish();
  });
}

/**
 * `kn.savez` with every member deflate-compressed (np.savez_compressed).
 * @example
 * kn.savezCompressed('/tmp/kiln-doc-p.npz', { w: kn.zeros([100, 100]) });
 * kn.loadNpz('/tmp/kiln-doc-p.npz').w.shape // [100, 100]
 */
export function savezCompressed(path: string, arrays: Record<string, NDArray> | NDArray[]): void {
  savez(path, arrays, { compressed: true });
}
