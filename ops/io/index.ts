// File formats: .npy, .npz, .safetensors (single and sharded) and .gguf, with kn.load
// choosing the reader from the extension (or, for other names, from the file's magic bytes).
import type { NDArray } from '../../core/array.js';
import { withFile } from './common.js';
import { readGguf, type GgufFile } from './gguf.js';
import { readNpyFile } from './npy.js';
import { readNpz } from './npz.js';
import { loadSafetensors } from './safetensors.js';

export { save, loadNpy } from './npy.js';
export { savez, savezCompressed, loadNpz } from './npz.js';
export type { SavezOptions } from './npz.js';
export { saveSafetensors, loadSafetensors } from './safetensors.js';
export type { SafetensorsFile } from './safetensors.js';
export { saveGguf, loadGguf } from './gguf.js';
export type { GgufFile, GgufValue, GgmlTypeName, SaveGgufOptions, LoadGgufOptions } from './gguf.js';

type Format = 'npy' | 'npz' | 'safetensors' | 'safetensors-index' | 'gguf';

function formatOf(path: string): Format {
  const p = path.toLowerCase();
  if (p.endsWith('.npy')) return 'npy';
  if (p.endsWith('.npz')) return 'npz';
  if (p.endsWith('.safetensors')) return 'safetensors';
  if (p.endsWith('.safetensors.index.json')) return 'safetensors-index';
  if (p.endsWith('.gguf')) return 'gguf';
  const head = withFile(path, 'load', 'file', (f) => f.read(0, Math.min(8, f.size), 'magic'));
  if (head.length >= 6 && head[0] === 0x93 && head.subarray(1, 6).toString('latin1') === 'NUMPY') return 'npy';
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'npz';
  if (head.length >= 4 && head.subarray(0, 4).toString('latin1') === 'GGUF') return 'gguf';
  if (head.length >= 8 && head[8 - 1] === 0 && head.readBigUInt64LE(0) < 100_000_000n) return 'safetensors';
  throw new Error(`[load] cannot tell the format of ${path}: use a .npy, .npz, .safetensors, .safetensors.index.json or .gguf file`);
}

/**
 * Loads an array file, choosing the format from the extension: `.npy` → an array; `.npz` and
 * `.safetensors` (or a sharded `model.safetensors.index.json`) → `{ name: array }`; `.gguf` →
 * `{ tensors, metadata, metadataTypes, types, version, alignment }`. Other names are recognised
 * by their first bytes. Safetensors and GGUF tensors are zero-copy views of the mapped file.
 * @example
 * kn.save('/tmp/kiln-doc-a.npy', kn.arange(3));
 * kn.load('/tmp/kiln-doc-a.npy') // [0, 1, 2]
 * kn.saveSafetensors('/tmp/kiln-doc-w.safetensors', { w: kn.ones([2]) });
 * kn.load('/tmp/kiln-doc-w.safetensors').w // [1, 1]
 */
export function load(path: `${string}.npy`): NDArray;
export function load(path: `${string}.npz` | `${string}.safetensors` | `${string}.safetensors.index.json`): Record<string, NDArray>;
export function load(path: `${string}.gguf`): GgufFile;
export function load(path: string): NDArray | Record<string, NDArray> | GgufFile;
export function load(path: string): NDArray | Record<string, NDArray> | GgufFile {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`[load] path must be a non-empty string, got ${String(path)}`);
  switch (formatOf(path)) {
    case 'npy':
      return withFile(path, 'load', 'npy', readNpyFile);
    case 'npz':
      return withFile(path, 'load', 'npz', readNpz);
    case 'gguf':
      return withFile(path, 'load', 'gguf', readGguf);
    case 'safetensors':
    case 'safetensors-index':
      return loadSafetensors(path).tensors;
  }
}
