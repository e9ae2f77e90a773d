// .npz: numpy's archives (stored, deflated, positional names) read right; kiln's archives hold
// numpy's exact .npy bytes; zip64 and CRC handling; round trips; corrupt archives.
import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import fc from 'fast-check';
import * as kn from '../../index.js';
import type { DType } from '../../core/dtype.js';
import { FileSource, AtomicFile } from '../../ops/io/common.js';
import { crc32, readEntry, readZipDirectory, ZipWriter } from '../../ops/io/zip.js';
import { npyHeader } from '../../ops/io/npy.js';
import { FIXTURES, SEED, loadRecord, arrayOfBytes, bytesOf, randomArray, tempDir, throwsError } from './util.js';

interface Member {
  dtype: string;
  shape: number[];
  values: unknown[];
  npy_hex: string;
}
const cases = JSON.parse(readFileSync(FIXTURES + 'io_cases.json', 'utf8')) as { npz: Record<string, Record<string, Member>> };
const tmp = tempDir('npz');

const members = (path: string): Map<string, Buffer> => {
  const src = new FileSource(path, 'load', 'npz');
  try {
    return new Map(readZipDirectory(src).map((e) => [e.name, readEntry(src, e)]));
  } finally {
    src.close();
  }
};

describe('reading numpy archives', () => {
  for (const [file, expected] of Object.entries(cases.npz)) {
    it(file, () => {
      const got = loadRecord(FIXTURES + file);
      expect(Object.keys(got)).toEqual(Object.keys(expected));
      for (const [k, m] of Object.entries(expected)) {
        expect(got[k].dtype).toBe(m.dtype);
        expect(got[k].shape).toEqual(m.shape);
        // compare through numpy's own .npy bytes of the member
        const ref = Buffer.from(m.npy_hex, 'hex');
        const data = ref.subarray(ref.length - got[k].nbytes);
        expect(bytesOf(got[k]).equals(data)).toBe(true);
      }
    });
  }
  it('CRC-32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('6789'), crc32(Buffer.from('12345')))).toBe(0xcbf43926);
  });
});

describe('writing archives numpy reads', () => {
  const arrays = () => ({
    weights: kn.divide(kn.arange(12, 'float32').reshape([3, 4]), 4),
    bias: kn.array(new BigInt64Array([1n, -2n, 3n])),
    mask: kn.array([true, false]),
    scalar: kn.array(2.5, 'float16'),
  });
  for (const compressed of [false, true]) {
    it(`${compressed ? 'savezCompressed' : 'savez'}: every member is numpy's .npy bytes`, () => {
      const p = tmp(`ours_${compressed}.npz`);
      if (compressed) kn.savezCompressed(p, arrays());
      else kn.savez(p, arrays());
      const ms = members(p);
      const ref = cases.npz[compressed ? 'named_compressed.npz' : 'named.npz'];
      expect([...ms.keys()]).toEqual(Object.keys(ref).map((k) => `${k}.npy`));
      for (const [k, m] of Object.entries(ref)) expect(ms.get(`${k}.npy`)!.toString('hex')).toBe(m.npy_hex);
      const methods = (() => {
        const src = new FileSource(p, 'load', 'npz');
        try {
          return readZipDirectory(src).map((e) => e.method);
        } finally {
          src.close();
        }
      })();
      expect(new Set(methods)).toEqual(new Set([compressed ? 8 : 0]));
    });
  }

  it('names positional arrays arr_0, arr_1 and appends .npz like numpy', () => {
    const p = tmp('pos');
    kn.savez(p, [kn.arange(3, 'uint8'), kn.zeros([2, 0], 'float64')]);
    expect(existsSync(p + '.npz')).toBe(true);
    const ms = members(p + '.npz');
    for (const [k, m] of Object.entries(cases.npz['positional.npz'])) expect(ms.get(`${k}.npy`)!.toString('hex')).toBe(m.npy_hex);
  });

  it('round-trips random arrays of every numpy dtype (fast-check)', () => {
    const dtypes: DType[] = ['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64'];
    let n = 0;
    fc.assert(
      fc.property(fc.array(randomArray(dtypes), { minLength: 0, maxLength: 4 }), fc.boolean(), (list, compressed) => {
        const named = Object.fromEntries(list.map((r, i) => [`a${i}/x.y`, arrayOfBytes(r.raw, r.shape, r.dtype)]));
        const p = tmp(`rt${n++}.npz`);
        kn.savez(p, named, { compressed });
        const back = loadRecord(p);
        expect(Object.keys(back)).toEqual(Object.keys(named));
        for (const k of Object.keys(named)) {
          expect(back[k].dtype).toBe(named[k].dtype);
          expect(back[k].shape).toEqual(named[k].shape);
          expect(bytesOf(back[k]).equals(bytesOf(named[k]))).toBe(true);
        }
        kn.dispose(named, back);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });
});

describe('zip64', () => {
  it('writes and reads more than 65535 members (zip64 end records)', () => {
    const p = tmp('many.npz');
    const n = 65_600;
    const f = new AtomicFile(p);
    const zip = new ZipWriter(f, 'test');
    const h = npyHeader([1], 'uint8');
    for (let i = 0; i < n; i++) {
      const b = Buffer.concat([h, Buffer.from([i & 0xff])]);
      zip.addStored(`m${i}.npy`, b.length, (w) => w(b));
    }
    zip.finish();
    f.commit();
    const src = new FileSource(p, 'load', 'npz');
    try {
      const entries = readZipDirectory(src);
      expect(entries.length).toBe(n);
      expect(readEntry(src, entries[n - 1]).at(-1)).toBe((n - 1) & 0xff);
    } finally {
      src.close();
    }
    const bytes = readFileSync(p);
    expect(bytes.readUInt16LE(bytes.length - 12)).toBe(0xffff); // EOCD count says "see zip64"
    const all = loadRecord(p);
    expect(Object.keys(all).length).toBe(n);
    expect(all.m65599.tolist()).toEqual([65599 & 0xff]);
    kn.dispose(all);
  });

  it('reads 64-bit sizes and offsets from zip64 extra fields in the central directory', () => {
    // a stored member whose central entry defers size, compressed size and offset to zip64
    const data = Buffer.concat([npyHeader([3], 'int16'), Buffer.from([1, 0, 2, 0, 3, 0])]);
    const name = Buffer.from('z.npy');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const extra = Buffer.alloc(28);
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(data.length), 4);
    extra.writeBigUInt64LE(BigInt(data.length), 12);
    extra.writeBigUInt64LE(0n, 20);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(45, 6);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(0xffffffff, 20);
    central.writeUInt32LE(0xffffffff, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(0xffffffff, 42);
    const body = Buffer.concat([local, name, data]);
    const cd = Buffer.concat([central, name, extra]);
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeBigUInt64LE(1n, 24);
    rec.writeBigUInt64LE(1n, 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(body.length), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(body.length + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0xffff, 8);
    end.writeUInt16LE(0xffff, 10);
    end.writeUInt32LE(0xffffffff, 12);
    end.writeUInt32LE(0xffffffff, 16);
    const p = tmp('zip64extra.npz');
    writeFileSync(p, Buffer.concat([body, cd, rec, loc, end]));
    expect(loadRecord(p).z.tolist()).toEqual([1, 2, 3]);
  });
});

describe('corrupt and hostile archives', () => {
  const stored = readFileSync(FIXTURES + 'named.npz');
  const deflated = readFileSync(FIXTURES + 'named_compressed.npz');

  it('truncation at every byte throws a clear error and leaks nothing', () => {
    const p = tmp('trunc.npz');
    const before = kn.memory.buffers();
    for (const good of [stored, deflated]) {
      for (let n = 0; n < good.length; n++) {
        writeFileSync(p, good.subarray(0, n));
        expect(
          throwsError(() => loadRecord(p)),
          `truncated to ${n} bytes`,
        ).toBe(true);
      }
    }
    expect(kn.memory.buffers()).toBe(before);
  });

  it('random byte flips load (when harmless) or throw a clear Error, never crash or leak', () => {
    const p = tmp('flip.npz');
    const before = kn.memory.buffers();
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.nat(1 << 20), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), (useDeflated, flips) => {
        const b = Buffer.from(useDeflated ? deflated : stored);
        for (const [i, x] of flips) b[i % b.length] ^= x;
        writeFileSync(p, b);
        try {
          kn.dispose(loadRecord(p));
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/^\[load\] npz /);
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
    expect(kn.memory.buffers()).toBe(before);
  });

  it('a flipped data byte in a stored member fails its CRC check', () => {
    const b = Buffer.from(stored);
    const at = b.indexOf(Buffer.from('weights.npy')) + 'weights.npy'.length + 20 + 128 + 5; // inside the data
    b[at] ^= 1;
    const p = tmp('crc.npz');
    writeFileSync(p, b);
    expect(() => loadRecord(p)).toThrow(/CRC-32/);
  });

  it('rejects impossible declared sizes before allocating (zip bombs, huge members)', () => {
    const b = Buffer.from(deflated);
    // the central directory's uncompressed size of the first member: claim 1 TB
    const cd = b.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    b.writeUInt32LE(0xfffffff0, cd + 24);
    const p = tmp('bomb.npz');
    writeFileSync(p, b);
    expect(() => loadRecord(p)).toThrow(/impossible for deflate|does not inflate/);
    const c = Buffer.from(stored);
    const cd2 = c.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    c.writeUInt32LE(0x7ffffff0, cd2 + 20);
    c.writeUInt32LE(0x7ffffff0, cd2 + 24);
    writeFileSync(p, c);
    expect(() => loadRecord(p)).toThrow(/lies outside|truncated/);
    const d = Buffer.from(stored);
    d.writeUInt16LE(0xfff0, d.length - 12); // 65520 members in a tiny directory
    d.writeUInt16LE(0xfff0, d.length - 14);
    writeFileSync(p, d);
    expect(() => loadRecord(p)).toThrow(/declares 65520 members/);
  });

  it('rejects files that are not zips', () => {
    const p = tmp('junk.npz');
    writeFileSync(p, Buffer.alloc(100, 7));
    expect(() => loadRecord(p)).toThrow(/^\[load\] npz is not a zip file/);
  });
});
