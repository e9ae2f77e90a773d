// GGUF: a file written by ggml itself (every metadata type, F32/F16/BF16 and Q8_0/Q4_0/Q4_1/Q4_K/
// Q6_K tensors) reads to ggml's own dequantized values; kiln's Q8_0/Q4_0 quantizers give ggml's
// bytes; round trips (exact and within the quantization bound); corrupt and hostile files.
import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import * as kn from '../../index.js';
import type { DType } from '../../core/dtype.js';
import { native } from '../../backends/native.js';
import { ggufTensorLayout } from '../../ops/io/gguf.js';
import { quantize, dequantize, f16ToF32, f32ToF16 } from '../../ops/io/ggml_quants.js';
import { FIXTURES, SEED, arrayOfBytes, bytesOf, randomArray, tempDir, throwsError } from './util.js';
import { mulberry32 } from '../helpers/rng.js';

const tmp = tempDir('gguf');
const GGML_FILE = FIXTURES + 'ggml_written.gguf';
const ref = JSON.parse(readFileSync(FIXTURES + 'gguf_cases.json', 'utf8')) as {
  source: number[];
  tensors: Record<string, { type: string; shape: number[]; values: number[] }>;
};
// The addon always has mapFile; only an explicit KILN_NO_MMAP=1 run (copy path) leaves the
// zero-copy checks out, and then on purpose.
const hasMap = process.env.KILN_NO_MMAP !== '1';

function asFloats(a: kn.Array): number[] {
  return Array.from(a.astype('float32').toTypedArray() as Float32Array);
}

describe('reading a file written by ggml', () => {
  const g = kn.loadGguf(GGML_FILE);

  it('reads every metadata value type with its GGUF type', () => {
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(32);
    expect(g.metadata).toEqual({
      'general.architecture': 'test',
      'general.name': 'kiln fixture é',
      't.u8': 200,
      't.i8': -100,
      't.u16': 60000,
      't.i16': -30000,
      't.u32': 4000000000,
      't.i32': -2000000000,
      't.f32': Math.fround(0.1),
      't.bool': true,
      't.u64': 18446744073709551615n,
      't.i64': -9007199254740993n,
      't.f64': 1e300,
      't.arr_i32': [1, -2, 3, -4],
      't.arr_f32': [0.5, -1.25, 3],
      't.arr_str': ['a', '', 'tok▁'],
      't.arr_empty': [],
    });
    expect(g.metadataTypes).toMatchObject({
      't.u8': 'uint8',
      't.i8': 'int8',
      't.u16': 'uint16',
      't.i16': 'int16',
      't.u32': 'uint32',
      't.i32': 'int32',
      't.f32': 'float32',
      't.bool': 'bool',
      't.u64': 'uint64',
      't.i64': 'int64',
      't.f64': 'float64',
      't.arr_i32': 'array<int32>',
      't.arr_str': 'array<string>',
      't.arr_empty': 'array<uint8>',
    });
  });

  it('reverses ggml dims into numpy shapes', () => {
    expect(g.tensors.cube.shape).toEqual([2, 3, 4]);
    expect(g.tensors.cube.tolist()).toEqual(kn.arange(24, 'float32').reshape([2, 3, 4]).tolist());
    expect(g.tensors.vec.dtype).toBe('float16');
    expect(g.tensors.vec.tolist()).toEqual([1, 2, 3, 4, 5]);
  });

  for (const [name, t] of Object.entries(ref.tensors)) {
    it(`${name} (${t.type}) equals ggml's own dequantization`, () => {
      const a = g.tensors[name];
      expect(a.shape).toEqual(t.shape);
      expect(g.types[name]).toBe(t.type.toUpperCase().replace('_K', '_K'));
      expect(a.dtype).toBe(({ f16: 'float16', bf16: 'bfloat16' } as Record<string, DType>)[t.type] ?? 'float32');
      const got = asFloats(a);
      let exact = 0;
      for (let i = 0; i < got.length; i++) {
        expect(Math.abs(got[i] - t.values[i]), `${name}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(t.values[i])));
        if (got[i] === Math.fround(t.values[i])) exact++;
      }
      expect(exact).toBe(got.length);
    });
  }

  it.skipIf(!hasMap)('views unquantized tensors in the mapped file (no allocation)', () => {
    const active = kn.memory.active();
    const h = kn.loadGguf(GGML_FILE);
    const grew = kn.memory.active() - active;
    // only the five dequantized tensors (2 x 256 float32 each) take new memory
    expect(grew).toBeLessThanOrEqual(5 * 4096);
    expect(h.tensors['w.f32'].node.data!.buf).toBe(h.tensors['w.bf16'].node.data!.buf);
    kn.dispose(h.tensors);
  });
});

describe("quantizing like ggml's reference", () => {
  const src = Float32Array.from(ref.source);
  const layout = ggufTensorLayout(GGML_FILE);
  const stored = (name: string) => {
    const t = layout.find((x) => x.name === name)!;
    return readFileSync(GGML_FILE).subarray(t.offset, t.offset + t.nbytes);
  };

  for (const [type, name] of [
    ['Q8_0', 'w.q8_0'],
    ['Q4_0', 'w.q4_0'],
  ] as const) {
    it(`${type} blocks are byte-identical to ggml's`, () => {
      expect(Buffer.from(quantize(type, src)).equals(stored(name))).toBe(true);
      const p = tmp(`${type}.gguf`);
      kn.saveGguf(p, { tensors: { w: kn.array(src).reshape([2, 256]) } }, { types: { w: type } });
      const mine = ggufTensorLayout(p)[0];
      expect(
        readFileSync(p)
          .subarray(mine.offset, mine.offset + mine.nbytes)
          .equals(stored(name)),
      ).toBe(true);
    });
  }

  it('float16 conversion rounds to nearest even', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // a tie: rounds to even (1.0)
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
  });

  it('dequantize rejects partial blocks and unknown types', () => {
    expect(() => dequantize('Q8_0', new Uint8Array(33))).toThrow(/whole number/);
    expect(() => dequantize('IQ2_XS', new Uint8Array(74))).toThrow(/no dequantizer/);
    expect(() => quantize('Q4_1', new Float32Array(32))).toThrow(/cannot quantize/);
  });
});

describe('writing', () => {
  it('writes metadata bytes exactly as ggml does (same keys, same types)', () => {
    const g = kn.loadGguf(GGML_FILE);
    const p = tmp('meta.gguf');
    kn.saveGguf(p, { tensors: {}, metadata: g.metadata, metadataTypes: g.metadataTypes });
    const mine = readFileSync(p);
    const theirs = readFileSync(GGML_FILE);
    expect(mine.subarray(0, 8).equals(theirs.subarray(0, 8))).toBe(true); // magic, version 3
    expect(mine.readBigUInt64LE(16)).toBe(theirs.readBigUInt64LE(16)); // kv count
    expect(mine.subarray(24).equals(theirs.subarray(24, mine.length))).toBe(true);
  });

  it('a loaded file saves back to the same metadata, types and blocks', () => {
    const g = kn.loadGguf(GGML_FILE);
    const p = tmp('resave.gguf');
    const writable = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0'];
    kn.saveGguf(p, g, { types: (n) => (writable.includes(g.types[n]) ? g.types[n] : undefined) });
    const h = kn.loadGguf(p);
    expect(h.metadata).toEqual(g.metadata);
    expect(h.metadataTypes).toEqual(g.metadataTypes);
    for (const [k, a] of Object.entries(g.tensors)) {
      expect(h.tensors[k].dtype).toBe(a.dtype);
      expect(bytesOf(h.tensors[k]).equals(bytesOf(a))).toBe(true);
    }
    const at = (file: string, name: string) => {
      const t = ggufTensorLayout(file).find((x) => x.name === name)!;
      return readFileSync(file).subarray(t.offset, t.offset + t.nbytes);
    };
    for (const n of ['w.q8_0', 'w.q4_0', 'w.f16', 'w.bf16']) expect(at(p, n).equals(at(GGML_FILE, n))).toBe(true);
  });

  it('infers metadata types like gguf-py and keeps explicit ones, nested arrays included', () => {
    const p = tmp('infer.gguf');
    kn.saveGguf(p, {
      tensors: { w: kn.ones([2, 3]) },
      metadata: {
        i: 5,
        f: 0.5,
        s: 'x',
        b: false,
        big: 2 ** 40,
        bi: 7n,
        ubig: 2n ** 64n - 1n,
        arr: [1, 2.5],
        strs: ['a', 'b'],
        nested: [[1, 2], [3]],
        u: 7,
        ctx: 4096,
      },
      metadataTypes: { u: 'uint8', ctx: 'uint32', nested: 'array<array<uint16>>' },
    });
    const h = kn.loadGguf(p);
    expect(h.metadataTypes).toEqual({
      i: 'int32',
      f: 'float32',
      s: 'string',
      b: 'bool',
      big: 'int64',
      bi: 'int64',
      ubig: 'uint64',
      arr: 'array<float32>',
      strs: 'array<string>',
      nested: 'array<array<uint16>>',
      u: 'uint8',
      ctx: 'uint32',
    });
    expect(h.metadata).toEqual({
      i: 5,
      f: 0.5,
      s: 'x',
      b: false,
      big: 2 ** 40,
      bi: 7,
      ubig: 2n ** 64n - 1n,
      arr: [1, 2.5],
      strs: ['a', 'b'],
      nested: [[1, 2], [3]],
      u: 7,
      ctx: 4096,
    });
    // nested arrays whose inner types differ, or that are empty, read back as 'array<array>' and save again
    const q = tmp('nested.gguf');
    kn.saveGguf(q, { tensors: {}, metadata: { mixed: [[1], ['a', 'b'], [true]], empty: [] }, metadataTypes: { mixed: 'array<array>', empty: 'array<array>' } });
    const m = kn.loadGguf(q);
    expect(m.metadata).toEqual({ mixed: [[1], ['a', 'b'], [true]], empty: [] });
    expect(m.metadataTypes.empty).toBe('array<array>');
    kn.saveGguf(tmp('nested2.gguf'), m);
    expect(kn.loadGguf(tmp('nested2.gguf')).metadata).toEqual(m.metadata);
  });

  it('honours general.alignment, and copies tensors it cannot view aligned', () => {
    for (const alignment of [1, 64, 4096]) {
      const p = tmp(`align${alignment}.gguf`);
      kn.saveGguf(p, {
        tensors: { a: kn.array([1, 2, 3], 'int8'), b: kn.arange(5, 'float32'), c: kn.ones([3], 'float64') },
        metadata: { 'general.alignment': alignment },
      });
      const h = kn.loadGguf(p);
      expect(h.alignment).toBe(alignment);
      expect(h.metadataTypes['general.alignment']).toBe('uint32');
      for (const t of ggufTensorLayout(p)) expect(t.offset % alignment).toBe(0);
      expect(h.tensors.b.tolist()).toEqual([0, 1, 2, 3, 4]);
      expect(h.tensors.c.tolist()).toEqual([1, 1, 1]);
    }
  });

  it('round-trips every unquantized dtype exactly (fast-check)', () => {
    const dtypes: DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'int8', 'int16', 'int32', 'int64'];
    let i = 0;
    fc.assert(
      fc.property(fc.array(randomArray(dtypes, 5), { maxLength: 4 }), (list) => {
        const tensors = Object.fromEntries(list.map((r, j) => [`blk.${j}.w`, arrayOfBytes(r.raw, r.shape, r.dtype)]));
        const p = tmp(`rt${i++}.gguf`);
        kn.saveGguf(p, { tensors, metadata: { 'general.name': 'rt' } });
        const h = kn.loadGguf(p);
        for (const [k, a] of Object.entries(tensors)) {
          expect(h.tensors[k].dtype).toBe(a.dtype);
          expect(h.tensors[k].shape).toEqual(a.shape);
          expect(bytesOf(h.tensors[k]).equals(bytesOf(a))).toBe(true);
        }
        kn.dispose(tensors, h.tensors);
      }),
      { seed: SEED, numRuns: 80 },
    );
  });

  it('Q8_0 and Q4_0 round trips stay within one quantization step per block (fast-check)', () => {
    let i = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('Q8_0' as const, 'Q4_0' as const),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
        fc.integer({ min: 1, max: 4 }),
        fc.float({ min: Math.fround(1e-3), max: 1e4, noNaN: true }),
        fc.integer(),
        (type, lead, blocks, scale, seed) => {
          const shape = [...lead, blocks * 32];
          const n = shape.reduce((a, b) => a * b, 1);
          const r = mulberry32(seed);
          const x = Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
          const p = tmp(`q${i++}.gguf`);
          kn.saveGguf(p, { tensors: { w: kn.array(x).reshape(shape) } }, { types: { w: type } });
          const h = kn.loadGguf(p);
          expect(h.types.w).toBe(type);
          expect(h.tensors.w.shape).toEqual(shape);
          const y = h.tensors.w.toTypedArray() as Float32Array;
          for (let b = 0; b < n; b += 32) {
            let amax = 0;
            for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
            const step = type === 'Q8_0' ? amax / 127 : amax / 8;
            for (let j = 0; j < 32; j++) expect(Math.abs(y[b + j] - x[b + j])).toBeLessThanOrEqual(step * 1.002 + 1e-30);
          }
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('rejects what GGUF or ggml cannot hold, with clear errors', () => {
    const p = tmp('bad.gguf');
    const t =
      (tensors: Record<string, kn.Array>, opts = {}, metadata = {}, metadataTypes = {}) =>
      () =>
        kn.saveGguf(p, { tensors, metadata, metadataTypes }, opts);
    expect(t({ w: kn.ones([2, 10]) }, { types: { w: 'Q8_0' } })).toThrow(/last axis \(10\) is not a multiple of the block size 32/);
    expect(t({ w: kn.ones([32]) }, { types: { w: 'Q4_K' } })).toThrow(/last axis \(32\) is not a multiple of the block size 256/);
    expect(t({ w: kn.ones([256]) }, { types: { w: 'Q5_K' } })).toThrow(/cannot write ggml type Q5_K/);
    expect(t({ w: kn.ones([2], 'uint8') })).toThrow(/dtype uint8.*astype/);
    expect(t({ w: kn.ones([1, 1, 1, 1, 1]) })).toThrow(/at most 4/);
    expect(t({ ['x'.repeat(64)]: kn.ones([1]) })).toThrow(/at most 63/);
    expect(t({}, {}, { k: ['a', 1] })).toThrow(/mixes/);
    expect(t({}, {}, { k: 300 }, { k: 'uint8' })).toThrow(/out of range/);
    expect(t({}, {}, { k: 1 }, { k: 'complex' })).toThrow(/unknown type/);
    expect(t({}, {}, { k: null })).toThrow(/null value/);
    expect(t({}, {}, { 'general.alignment': 24 })).toThrow(/power of two/);
  });
});

// ---- hostile files ---------------------------------------------------------------------------

class B {
  parts: Buffer[] = [];
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint | number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  str(s: string) {
    const b = Buffer.from(s);
    this.u64(b.length);
    this.parts.push(b);
    return this;
  }
  raw(b: Buffer) {
    this.parts.push(b);
    return this;
  }
  get buf() {
    return Buffer.concat(this.parts);
  }
}
const MAGIC = 0x46554747;
const head = (nt: number | bigint, nkv: number | bigint, version = 3) => new B().u32(MAGIC).u32(version).u64(nt).u64(nkv);

describe('corrupt and hostile files', () => {
  const p = tmp('hostile.gguf');
  const small = (() => {
    const q = tmp('small.gguf');
    kn.saveGguf(
      q,
      { tensors: { a: kn.arange(8, 'float32'), q: kn.full([32], 0.5) }, metadata: { name: 'x', arr: [[1], [2, 3]], f: 1.5 } },
      { types: { q: 'Q8_0' } },
    );
    return readFileSync(q);
  })();

  const cases: [string, Buffer, RegExp][] = [
    ['bad magic', Buffer.from('GGML\x03\0\0\0'), /magic "GGUF" is missing/],
    ['version 1', head(0, 0, 1).buf, /version 1 is not supported/],
    ['big-endian', head(0, 0, 0x03000000).buf, /big-endian/],
    ['version 99', head(0, 0, 99).buf, /unsupported version 99/],
    ['huge tensor count', head(2n ** 60n, 0).buf, /tensor count 1152921504606846976 is too large/],
    ['huge kv count', head(0, 2n ** 63n).buf, /metadata count 9223372036854775808 is too large/],
    ['huge key length', head(0, 1).u64(2n ** 63n).buf, /key 0 length 9223372036854775808 is too large/],
    [
      'huge string value',
      head(0, 1)
        .str('k')
        .u32(8)
        .u64(2n ** 40n).buf,
      /length 1099511627776 is too large/,
    ],
    [
      'huge array',
      head(0, 1)
        .str('k')
        .u32(9)
        .u32(5)
        .u64(2n ** 50n).buf,
      /element count 1125899906842624 is too large/,
    ],
    [
      'deep arrays',
      (() => {
        const b = head(0, 1).str('k').u32(9);
        for (let i = 0; i < 20; i++) b.u32(9).u64(1);
        return b.u32(0).u64(0).buf;
      })(),
      /nests arrays more than 8 deep/,
    ],
    ['bad value type', head(0, 1).str('k').u32(13).buf, /invalid value type 13/],
    ['bad array element type', head(0, 1).str('k').u32(9).u32(77).u64(1).buf, /invalid element type 77/],
    [
      'bool byte 2',
      head(0, 1)
        .str('k')
        .u32(7)
        .raw(Buffer.from([2])).buf,
      /bool with byte value 2/,
    ],
    [
      'duplicate key',
      head(0, 2)
        .str('k')
        .u32(0)
        .raw(Buffer.from([1]))
        .str('k')
        .u32(0)
        .raw(Buffer.from([1])).buf,
      /duplicate metadata key 'k'/,
    ],
    ['alignment not a power of two', head(0, 1).str('general.alignment').u32(4).u32(24).buf, /not a uint32 power of two/],
    ['alignment of the wrong type', head(0, 1).str('general.alignment').u32(5).u32(32).buf, /not a uint32 power of two/],
    ['5 dimensions', head(1, 0).str('t').u32(5).buf, /has 5 dimensions/],
    [
      'huge dimension',
      head(1, 0)
        .str('t')
        .u32(2)
        .u64(2n ** 62n)
        .u64(1).buf,
      /dimension 0 of 4611686018427387904 is too large/,
    ],
    [
      'overflowing dimensions',
      head(1, 0)
        .str('t')
        .u32(3)
        .u64(2n ** 30n)
        .u64(2n ** 30n)
        .u64(2n ** 30n).buf,
      /too many elements/,
    ],
    ['unknown type', head(1, 0).str('t').u32(1).u64(1).u32(99).u64(0).buf, /unknown ggml type 99/],
    ['unsupported type', head(1, 0).str('t').u32(1).u64(256).u32(17).u64(0).buf, /IQ2_XS, which kiln cannot load yet/],
    ['row not a multiple of the block', head(1, 0).str('t').u32(1).u64(33).u32(8).u64(0).buf, /not a multiple of the Q8_0 block size 32/],
    ['misaligned offset', head(1, 0).str('t').u32(1).u64(1).u32(0).u64(4).buf, /offset 4 is not a multiple of the alignment 32/],
    ['data past the end', head(1, 0).str('t').u32(1).u64(1000).u32(0).u64(0).buf, /runs past the end/],
    ['duplicate tensor', head(2, 0).str('t').u32(1).u64(1).u32(0).u64(0).str('t').buf, /duplicate tensor name 't'/],
  ];
  for (const [what, bytes, msg] of cases) {
    it(`rejects ${what}`, () => {
      writeFileSync(p, bytes);
      expect(() => kn.loadGguf(p)).toThrow(msg);
      expect(() => kn.load(p)).toThrow(/^\[load\] gguf /);
    });
  }

  it('truncation at every byte throws a clear error and leaks nothing', () => {
    const before = kn.memory.buffers();
    writeFileSync(p, small);
    // the padding after the last tensor is not needed to read it
    const end = Math.max(...ggufTensorLayout(p).map((t) => t.offset + t.nbytes));
    for (let n = 0; n < end; n++) {
      writeFileSync(p, small.subarray(0, n));
      expect(
        throwsError(() => kn.loadGguf(p)),
        `truncated to ${n} bytes`,
      ).toBe(true);
    }
    const ggml = readFileSync(GGML_FILE);
    const ggmlEnd = Math.max(...ggufTensorLayout(GGML_FILE).map((t) => t.offset + t.nbytes));
    for (let n = 0; n < ggmlEnd; n += 37) {
      writeFileSync(p, ggml.subarray(0, n));
      expect(
        throwsError(() => kn.loadGguf(p)),
        `truncated to ${n} bytes`,
      ).toBe(true);
    }
    expect(kn.memory.buffers()).toBe(before);
  });

  it('random byte flips load (when harmless) or throw a clear Error, never crash', () => {
    const ggml = readFileSync(GGML_FILE);
    const before = kn.memory.buffers();
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.nat(1 << 16), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), (useSmall, flips) => {
        const b = Buffer.from(useSmall ? small : ggml);
        // flips concentrate on the header, where they matter
        for (const [i, x] of flips) b[i % Math.min(b.length, 1024)] ^= x;
        writeFileSync(p, b);
        try {
          const g = kn.loadGguf(p);
          for (const t of Object.values(g.tensors)) t.tolist();
          kn.dispose(g.tensors);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/^\[load\] gguf /);
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
    expect(kn.memory.buffers()).toBe(before);
  });
});
