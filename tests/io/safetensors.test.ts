// .safetensors: format details, every dtype round trip, zero-copy mapped loading (views of one
// mapped buffer, copy-on-write, >4 GiB files), sharded sets, corrupt and hostile files.
import { describe, it, expect } from 'vitest';
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import fc from 'fast-check';
import * as kn from '../../index.js';
import { DTYPES, type DType } from '../../core/dtype.js';
import { native } from '../../backends/native.js';
import { SEED, loadRecord, arrayOfBytes, bytesOf, randomArray, tempDir, throwsError } from './util.js';

const tmp = tempDir('st');
// The addon always has mapFile; only an explicit KILN_NO_MMAP=1 run (copy path) leaves the
// zero-copy checks out, and then on purpose.
const hasMap = process.env.KILN_NO_MMAP !== '1';
const ST: Record<DType, string> = {
  bool: 'BOOL',
  uint8: 'U8',
  int8: 'I8',
  uint16: 'U16',
  int16: 'I16',
  uint32: 'U32',
  int32: 'I32',
  uint64: 'U64',
  int64: 'I64',
  float16: 'F16',
  bfloat16: 'BF16',
  float32: 'F32',
  float64: 'F64',
  complex64: 'C64',
};

/** A safetensors file from a header object and a data section. */
function craft(header: unknown, data: Buffer, pad = true): Buffer {
  let json = JSON.stringify(header);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), data]);
}

describe('format', () => {
  it('writes the 8-byte length, an 8-aligned JSON header with __metadata__, and aligned data', () => {
    const p = tmp('fmt.safetensors');
    kn.saveSafetensors(p, { b: kn.array([1, 2, 3], 'uint8'), a: kn.array([1.5, -2], 'float64'), c: kn.array([7], 'int16') }, { format: 'pt', note: 'ü' });
    const f = readFileSync(p);
    const n = Number(f.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const h = JSON.parse(f.subarray(8, 8 + n).toString('utf8'));
    expect(h.__metadata__).toEqual({ format: 'pt', note: 'ü' });
    expect(Object.keys(h)).toEqual(['__metadata__', 'b', 'a', 'c']); // the caller's order
    expect(h.a).toEqual({ dtype: 'F64', shape: [2], data_offsets: [0, 16] }); // largest items first
    expect(h.c).toEqual({ dtype: 'I16', shape: [1], data_offsets: [16, 18] });
    expect(h.b).toEqual({ dtype: 'U8', shape: [3], data_offsets: [18, 21] });
    expect(f.length).toBe(8 + n + 21);
    expect(f.readDoubleLE(8 + n)).toBe(1.5);
    const back = kn.loadSafetensors(p);
    expect(back.metadata).toEqual({ format: 'pt', note: 'ü' });
    expect(Object.keys(back.tensors)).toEqual(['b', 'a', 'c']);
    expect(back.tensors.a.tolist()).toEqual([1.5, -2]);
    expect(loadRecord(p).b.tolist()).toEqual([1, 2, 3]);
  });

  it('round-trips every dtype, shape and bit pattern, with metadata (fast-check)', () => {
    let i = 0;
    fc.assert(
      fc.property(
        fc.array(randomArray(DTYPES), { maxLength: 5 }),
        fc.dictionary(
          fc.string({ maxLength: 8 }).filter((k) => k !== '__metadata__'),
          fc.string({ maxLength: 12 }),
          { maxKeys: 3 },
        ),
        (list, metadata) => {
          const tensors: Record<string, kn.Array> = {};
          list.forEach((r, j) => (tensors[`t.${j}`] = arrayOfBytes(r.raw, r.shape, r.dtype)));
          const p = tmp(`rt${i++}.safetensors`);
          kn.saveSafetensors(p, tensors, metadata);
          const back = kn.loadSafetensors(p);
          expect(back.metadata).toEqual(metadata);
          expect(Object.keys(back.tensors)).toEqual(Object.keys(tensors));
          for (const [k, a] of Object.entries(tensors)) {
            expect(back.tensors[k].dtype).toBe(a.dtype);
            expect(back.tensors[k].shape).toEqual(a.shape);
            expect(bytesOf(back.tensors[k]).equals(bytesOf(a))).toBe(true);
          }
          kn.dispose(tensors, back.tensors);
          rmSync(p);
        },
      ),
      { seed: SEED, numRuns: 80 },
    );
  });

  it('names every dtype as the safetensors spec does', () => {
    const p = tmp('names.safetensors');
    kn.saveSafetensors(p, Object.fromEntries(DTYPES.map((d) => [d, kn.zeros([1], d)])));
    const f = readFileSync(p);
    const h = JSON.parse(f.subarray(8, 8 + Number(f.readBigUInt64LE(0))).toString());
    for (const d of DTYPES) expect(h[d].dtype).toBe(ST[d]);
  });

  it('validates what it is asked to save', () => {
    expect(() => kn.saveSafetensors(tmp('x.safetensors'), { w: kn.ones([1]) }, { n: 1 as unknown as string })).toThrow(/must be a string/);
    expect(() => kn.saveSafetensors(tmp('x.safetensors'), { __metadata__: kn.ones([1]) })).toThrow(/reserved/);
    expect(() => kn.saveSafetensors(tmp('x.safetensors'), { w: [1, 2] as unknown as kn.Array })).toThrow(/must be a kiln array/);
  });
});

describe.skipIf(!hasMap)('zero-copy mapped loading', () => {
  it('views every tensor in one mapped buffer and allocates nothing', () => {
    const p = tmp('map.safetensors');
    kn.saveSafetensors(p, { a: kn.arange(1000, 'float32'), b: kn.ones([64, 64], 'bfloat16'), c: kn.arange(5, 'int64') });
    const active = kn.memory.active();
    const { tensors } = kn.loadSafetensors(p);
    expect(kn.memory.active()).toBe(active);
    const bufs = new Set(Object.values(tensors).map((t) => t.node.data!.buf));
    expect(bufs.size).toBe(1);
    kn.tidy(() => {
      expect(tensors.a.sum().item()).toBe(499500);
      expect(tensors.b.astype('float32').sum().item()).toBe(4096);
      expect(tensors.c.tolist()).toEqual([0, 1, 2, 3, 4]);
    });
    const before = kn.memory.buffers();
    kn.dispose(tensors);
    expect(kn.memory.buffers()).toBe(before - 1); // the mapping goes with its last view
  });

  it('native mapFile reports unreadable paths and maps empty files', () => {
    const mapFile = (native as unknown as { mapFile(p: string): number }).mapFile;
    expect(() => mapFile(tmp('does-not-exist'))).toThrow(/^\[mapFile\] cannot open/);
    expect(() => mapFile(tmp(''))).toThrow(/not a regular file/);
    writeFileSync(tmp('empty.bin'), '');
    const id = mapFile(tmp('empty.bin'));
    expect(native.read(id, 0, 0).byteLength).toBe(0);
    native.free(id);
  });

  it('copies a tensor whose byte offset is not a multiple of its item size', () => {
    const data = Buffer.alloc(9);
    data[0] = 42;
    data.writeFloatLE(1.25, 1);
    data.writeFloatLE(-3, 5);
    const p = tmp('misaligned.safetensors');
    writeFileSync(p, craft({ u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, f: { dtype: 'F32', shape: [2], data_offsets: [1, 9] } }, data));
    const { tensors } = kn.loadSafetensors(p);
    expect(tensors.u.tolist()).toEqual([42]);
    expect(tensors.f.tolist()).toEqual([1.25, -3]);
    expect(tensors.f.node.data!.buf).not.toBe(tensors.u.node.data!.buf);
  });

  it('is copy-on-write: a write into the mapped buffer never reaches the file', () => {
    const p = tmp('cow.safetensors');
    kn.saveSafetensors(p, { w: kn.arange(4, 'float32') });
    const before = readFileSync(p);
    const { tensors } = kn.loadSafetensors(p);
    const v = tensors.w.node.data!;
    native.write(v.buf.id, v.offset * 4, new Float32Array([99]));
    expect(tensors.w.tolist()).toEqual([99, 1, 2, 3]);
    expect(readFileSync(p).equals(before)).toBe(true);
  });

  it('saving over a file that is still mapped keeps the loaded arrays intact', () => {
    const p = tmp('overwrite.safetensors');
    kn.saveSafetensors(p, { w: kn.arange(1 << 16, 'float32') });
    const { tensors } = kn.loadSafetensors(p);
    kn.saveSafetensors(p, { w: kn.multiply(tensors.w, 2) });
    expect(tensors.w.sum().item()).toBe(((1 << 16) * ((1 << 16) - 1)) / 2);
    expect(kn.loadSafetensors(p).tensors.w.sum().item()).toBe((1 << 16) * ((1 << 16) - 1));
  });

  it('loads a tensor placed past 4 GiB in a 5 GiB sparse file', () => {
    const p = tmp('big.safetensors');
    const padBytes = 4.5 * 2 ** 30;
    const header = {
      pad: { dtype: 'U8', shape: [padBytes], data_offsets: [0, padBytes] },
      small: { dtype: 'F32', shape: [4], data_offsets: [padBytes, padBytes + 16] },
    };
    const head = craft(header, Buffer.alloc(0));
    const fd = openSync(p, 'w');
    try {
      writeSync(fd, head, 0, head.length, 0);
      ftruncateSync(fd, 5 * 2 ** 30);
      const small = Buffer.from(new Float32Array([1.5, -2, 3.25, 1e30]).buffer);
      writeSync(fd, small, 0, 16, head.length + padBytes);
    } finally {
      closeSync(fd);
    }
    try {
      const { tensors } = kn.loadSafetensors(p);
      expect(tensors.small.tolist()).toEqual([1.5, -2, 3.25, Math.fround(1e30)]);
      expect(tensors.pad.shape).toEqual([padBytes]);
      expect(kn.slice(tensors.pad, [{ start: padBytes - 3 }]).tolist()).toEqual([0, 0, 0]);
      kn.dispose(tensors);
    } finally {
      rmSync(p);
    }
  });
});

describe('sharded sets', () => {
  const shards = () => {
    kn.saveSafetensors(tmp('model-00001-of-00002.safetensors'), { 'a.weight': kn.arange(4, 'float32'), 'b.bias': kn.ones([2], 'bfloat16') }, { format: 'pt' });
    kn.saveSafetensors(tmp('model-00002-of-00002.safetensors'), { 'c.weight': kn.arange(6, 'int32').reshape([2, 3]) }, { format: 'pt' });
  };
  const index = (weightMap: Record<string, string>, name = 'model.safetensors.index.json') => {
    writeFileSync(tmp(name), JSON.stringify({ metadata: { total_size: 26 }, weight_map: weightMap }));
    return tmp(name);
  };
  const wm = {
    'a.weight': 'model-00001-of-00002.safetensors',
    'b.bias': 'model-00001-of-00002.safetensors',
    'c.weight': 'model-00002-of-00002.safetensors',
  };

  it('loads every shard listed in model.safetensors.index.json', () => {
    shards();
    const p = index(wm);
    const all = loadRecord(p);
    expect(Object.keys(all).sort()).toEqual(['a.weight', 'b.bias', 'c.weight']);
    expect(all['c.weight'].tolist()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    const { metadata } = kn.loadSafetensors(p);
    expect(metadata).toEqual({ format: 'pt', total_size: '26' });
  });

  it('names a tensor the index promises but its shard lacks, and frees what it loaded', () => {
    shards();
    const before = kn.memory.buffers();
    expect(() => loadRecord(index({ ...wm, 'd.weight': 'model-00002-of-00002.safetensors' }, 'bad.safetensors.index.json'))).toThrow(/'d.weight' is listed/);
    expect(kn.memory.buffers()).toBe(before);
  });

  it('refuses shard paths outside the index folder', () => {
    for (const s of ['../evil.safetensors', '/etc/passwd', 'a/../../x.safetensors', '']) {
      expect(() => loadRecord(index({ w: s }, 'evil.safetensors.index.json'))).toThrow(/invalid shard file/);
    }
    writeFileSync(tmp('noweights.safetensors.index.json'), '{"metadata": {}}');
    expect(() => loadRecord(tmp('noweights.safetensors.index.json'))).toThrow(/no weight_map/);
  });
});

describe('corrupt and hostile files', () => {
  const p = tmp('bad.safetensors');
  const good = (() => {
    const q = tmp('good.safetensors');
    kn.saveSafetensors(q, { w: kn.arange(6, 'float32').reshape([2, 3]), b: kn.array([1, 2], 'int8') }, { k: 'v' });
    return readFileSync(q);
  })();

  it('names the header length that exceeds the file', () => {
    const b = Buffer.from(good);
    b.writeBigUInt64LE(10n ** 15n, 0);
    writeFileSync(p, b);
    expect(() => loadRecord(p)).toThrow(`[load] safetensors header length 1000000000000000 exceeds file size ${good.length}`);
  });

  const hostile: [string, unknown, RegExp][] = [
    ['unknown dtype', { w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, /unsupported dtype "F8_E4M3"/],
    ['offsets past the data', { w: { dtype: 'F32', shape: [1], data_offsets: [0, 1e12] } }, /lie outside/],
    ['size mismatch', { w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, /needs 8/],
    ['huge shape', { w: { dtype: 'F32', shape: [1e9, 1e9, 1e9], data_offsets: [0, 4] } }, /too many elements/],
    ['negative dim', { w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, /invalid shape/],
    ['float offsets', { w: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4] } }, /invalid data_offsets/],
    ['reversed offsets', { w: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, /lie outside/],
    ['non-string metadata', { __metadata__: { n: 1 } }, /not a string/],
    ['a non-object header', [1, 2], /not a JSON object/],
    ['an entry that is not an object', { w: 3 }, /has no \{dtype/],
    [
      'overlapping tensors',
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [2], data_offsets: [3, 5] } },
      /tensors 'a' \[0, 4\] and 'b' \[3, 5\] have overlapping data_offsets/,
    ],
    ['one tensor twice', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, /overlapping/],
  ];
  for (const [what, header, msg] of hostile) {
    it(`rejects ${what}`, () => {
      writeFileSync(p, craft(header, Buffer.alloc(8)));
      expect(() => loadRecord(p)).toThrow(msg);
      expect(() => loadRecord(p)).toThrow(/^\[load\] safetensors /);
    });
  }

  it('rejects invalid JSON and a header past the 100 MB limit', () => {
    const b = Buffer.concat([Buffer.alloc(8), Buffer.from('{"w": {')]);
    b.writeBigUInt64LE(7n, 0);
    writeFileSync(p, b);
    expect(() => loadRecord(p)).toThrow(/not valid JSON/);
  });

  it('truncation at every byte throws a clear error and leaks nothing', () => {
    const before = kn.memory.buffers();
    for (let n = 0; n < good.length; n++) {
      writeFileSync(p, good.subarray(0, n));
      expect(
        throwsError(() => loadRecord(p)),
        `truncated to ${n} bytes`,
      ).toBe(true);
    }
    expect(kn.memory.buffers()).toBe(before);
  });

  it('random byte flips load (when harmless) or throw a clear Error, never crash', () => {
    const before = kn.memory.buffers();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), (flips) => {
        const b = Buffer.from(good);
        for (const [i, x] of flips) b[i] ^= x;
        writeFileSync(p, b);
        try {
          const r = kn.loadSafetensors(p);
          for (const t of Object.values(r.tensors)) t.tolist();
          kn.dispose(r.tensors);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/^\[load\] safetensors /);
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
    expect(kn.memory.buffers()).toBe(before);
  });
});
