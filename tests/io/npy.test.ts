// .npy: kiln reads numpy's files (every shared dtype, 0-d, empty, Fortran order, big-endian,
// header versions 1-3) and writes numpy's bytes exactly; round trips and corrupt files.
import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import fc from 'fast-check';
import * as kn from '../../index.js';
import type { DType } from '../../core/dtype.js';
import { npyHeader } from '../../ops/io/npy.js';
import { FIXTURES, SEED, loadArray, arrayOfBytes, bytesOf, randomArray, tempDir, throwsError } from './util.js';

interface Case {
  dtype: DType;
  shape: number[];
  values: (number | string | boolean)[];
  writable: boolean;
}
const cases = JSON.parse(readFileSync(FIXTURES + 'io_cases.json', 'utf8')) as { npy: Record<string, Case> };
const tmp = tempDir('npy');

const NPY_DTYPES: DType[] = ['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64'];

/** The expected flat values as comparable JS values (64-bit ints as bigint, NaN/inf decoded). */
function expected(c: Case): unknown[] {
  return c.values.map((v) => {
    if (c.dtype === 'int64' || c.dtype === 'uint64') return BigInt(v as string);
    if (v === 'nan') return NaN;
    if (v === 'inf') return Infinity;
    if (v === '-inf') return -Infinity;
    return v;
  });
}

function actual(a: kn.Array): unknown[] {
  const t = a.toTypedArray();
  return Array.from(t as ArrayLike<number | bigint>, (v) => (a.dtype === 'bool' ? v !== 0 : v));
}

/** An array with the case's values built from JS data (not from the file). */
function build(c: Case): kn.Array {
  const vals = expected(c);
  if (c.dtype === 'int64' || c.dtype === 'uint64') {
    const T = c.dtype === 'int64' ? BigInt64Array : BigUint64Array;
    return kn.array(T.from(vals as bigint[])).reshape(c.shape);
  }
  return kn.array(vals as number[], c.dtype).reshape(c.shape);
}

describe('reading numpy files', () => {
  for (const [file, c] of Object.entries(cases.npy)) {
    it(`${file}: ${c.dtype} [${c.shape.join(', ')}]`, () => {
      const a = loadArray(FIXTURES + file);
      expect(a.dtype).toBe(c.dtype);
      expect(a.shape).toEqual(c.shape);
      expect(actual(a)).toEqual(expected(c));
      // Object.is semantics: -0 stays -0
      if (file === 'float64.npy') expect(Object.is((a.toTypedArray() as Float64Array)[5], -0)).toBe(true);
    });
  }

  it('views Fortran-ordered data without reordering it (element [i, j] is right)', () => {
    const a = loadArray(FIXTURES + 'fortran_3d_i16.npy');
    expect(a.tolist()).toEqual(kn.arange(24, 'int16').reshape([2, 3, 4]).tolist());
    expect(
      loadArray(FIXTURES + 'fortran_f32.npy')
        .transpose()
        .tolist(),
    ).toEqual(kn.arange(12, 'float32').reshape([3, 4]).transpose().tolist());
  });
});

describe("writing numpy's bytes", () => {
  for (const [file, c] of Object.entries(cases.npy)) {
    if (!c.writable) continue;
    it(`kn.save reproduces ${file} byte for byte`, () => {
      const out = tmp(file);
      kn.save(out, build(c));
      expect(readFileSync(out).equals(readFileSync(FIXTURES + file))).toBe(true);
    });
  }

  it('writes read-only layouts (Fortran order, big-endian, v2/v3) as numpy writes C-order little-endian 1.0', () => {
    for (const file of ['fortran_f32.npy', 'fortran_3d_i16.npy', 'be_i32.npy', 'be_f64.npy', 'be_f16.npy', 'be_fortran_u16.npy', 'v2_f32.npy', 'v3_i8.npy']) {
      const c = cases.npy[file];
      const out = tmp(`rw_${file}`);
      kn.save(out, loadArray(FIXTURES + file));
      const bytes = readFileSync(out);
      const h = npyHeader(c.shape, c.dtype);
      expect(bytes.subarray(0, h.length).equals(h)).toBe(true);
      expect(bytes[6]).toBe(1);
      expect(actual(loadArray(out))).toEqual(expected(c));
    }
  });

  it('pads every header to a multiple of 64 bytes ending in a newline (numpy also pads a full line when already aligned)', () => {
    for (let nd = 0; nd <= 32; nd++) {
      for (const d of [0, 1, 7, 12345, 2 ** 40]) {
        const shape = Array.from({ length: nd }, (_, i) => (i === 0 ? d : 3));
        const h = npyHeader(shape, 'float32');
        expect(h.length % 64).toBe(0);
        expect(h[h.length - 1]).toBe(0x0a);
        expect(h.readUInt16LE(8)).toBe(h.length - 10);
      }
    }
  });

  it('appends .npy like numpy and replaces files atomically', () => {
    const base = tmp('noext');
    kn.save(base, kn.arange(3));
    expect(existsSync(base + '.npy')).toBe(true);
    kn.save(base + '.npy', kn.arange(4));
    expect(loadArray(base + '.npy').tolist()).toEqual([0, 1, 2, 3]);
  });

  it('refuses bfloat16 with a clear error (numpy has no bfloat16)', () => {
    const a = kn.ones([2], 'bfloat16');
    expect(() => kn.save(tmp('bf.npy'), a)).toThrow(/bfloat16.*astype\('float32'\)/);
    expect(existsSync(tmp('bf.npy'))).toBe(false);
    expect(() => kn.savez(tmp('bf.npz'), { a })).toThrow(/bfloat16/);
  });

  it('saves views (transposed, sliced, broadcast) in logical C order', () => {
    const base = kn.arange(12, 'float32').reshape([3, 4]);
    const views: [kn.Array, unknown][] = [
      [base.transpose(), base.transpose().tolist()],
      [
        kn.slice(base, [
          { start: 1, stop: 3 },
          { start: 0, stop: 4, step: 2 },
        ]),
        [
          [4, 6],
          [8, 10],
        ],
      ],
      [
        kn.broadcastTo(kn.arange(3), [2, 3]),
        [
          [0, 1, 2],
          [0, 1, 2],
        ],
      ],
      [base.add(1), base.add(1).tolist()], // lazy: saving evaluates
    ];
    for (const [i, [v, want]] of views.entries()) {
      kn.save(tmp(`view${i}.npy`), v);
      expect(loadArray(tmp(`view${i}.npy`)).tolist()).toEqual(want);
    }
  });
});

describe('round trips', () => {
  it('save → load keeps dtype, shape and every bit (fast-check)', () => {
    let i = 0;
    fc.assert(
      fc.property(randomArray(NPY_DTYPES), ({ dtype, shape, raw }) => {
        const a = arrayOfBytes(raw, shape, dtype);
        const path = tmp(`rt${i++}.npy`);
        kn.save(path, a);
        const b = loadArray(path);
        expect(b.dtype).toBe(dtype);
        expect(b.shape).toEqual(shape);
        expect(bytesOf(b).equals(bytesOf(a))).toBe(true);
        kn.dispose(a, b);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});

describe('corrupt and hostile files', () => {
  const good = readFileSync(FIXTURES + 'float32.npy');

  it('truncation at every byte throws a clear error', () => {
    const p = tmp('trunc.npy');
    const before = kn.memory.buffers();
    for (let n = 0; n < good.length; n++) {
      writeFileSync(p, good.subarray(0, n));
      expect(
        throwsError(() => loadArray(p)),
        `truncated to ${n} bytes`,
      ).toBe(true);
    }
    expect(kn.memory.buffers()).toBe(before);
  });

  it('random byte flips either load or throw a clear Error, never crash', () => {
    const p = tmp('flip.npy');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const b = Buffer.from(good);
        for (const [i, x] of flips) b[i] ^= x;
        writeFileSync(p, b);
        try {
          loadArray(p).dispose();
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/^\[load\] npy /);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  const header = (dict: string, major = 1) => {
    const body = Buffer.from(dict + ' '.repeat(64) + '\n', 'latin1');
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0, 0, 0, 0, 0]);
    if (major === 1) return Buffer.concat([pre.subarray(0, 8), Buffer.from([body.length & 0xff, body.length >> 8]), body]);
    pre.writeUInt32LE(body.length, 8);
    return Buffer.concat([pre, body]);
  };
  const hostile: [string, Buffer, RegExp][] = [
    ['huge shape', header("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }"), /needs 40000000000 bytes/],
    [
      'overflowing shape',
      header("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 99999999999), }"),
      /not a tuple of non-negative integers/,
    ],
    ['negative dim', header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), /shape/],
    ['object dtype', header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"), /object/],
    ['complex dtype', header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"), /complex/],
    ['structured dtype', header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"), /structured/],
    ['missing key', header("{'descr': '<f4', 'shape': (1,), }"), /keys/],
    ['not a dict', header('[1, 2]'), /not a dict/],
    ['garbage', header("{'descr': '<f4', 'fortran_order': Fals"), /header/],
    ['deep nesting', header('('.repeat(100) + ')'.repeat(100)), /nests too deeply|not a dict/],
    ['huge v2 header length', Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xff, 0xff, 0xff, 0x7f, 0x7b]), /header length 2147483647 exceeds/],
    ['version 9', Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0, 0x7b]), /version 9/],
    ['not npy', Buffer.from('hello world, not numpy'), /magic/],
  ];
  for (const [what, bytes, msg] of hostile) {
    it(`rejects ${what}`, () => {
      const p = tmp(`hostile.npy`);
      writeFileSync(p, bytes);
      expect(() => loadArray(p)).toThrow(msg);
      expect(() => loadArray(p)).toThrow(/^\[load\] npy /);
    });
  }
});
