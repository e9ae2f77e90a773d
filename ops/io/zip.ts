// A small zip reader and writer for .npz (Node has no zip module): stored and deflated members,
// CRC-32, and zip64 for members, offsets or counts past the 32-bit limits.
import * as zlib from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { type AtomicFile, type FileSource, MAX_SAFE } from './common.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const U32_MAX = 0xffffffff;
/** Deflate cannot expand data by more than ~1032:1; larger declared sizes are lies. */
const MAX_DEFLATE_RATIO = 1032;

// ---- CRC-32 (IEEE, as in zip and zlib) -------------------------------------------------------

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

const nativeCrc = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/**
 * CRC-32 of `data`, continuing from `crc` (0 to start).
 * @example crc32(new TextEncoder().encode('123456789')) // 0xcbf43926
 */
export function crc32(data: Uint8Array, crc = 0): number {
  if (nativeCrc) return nativeCrc(data, crc) >>> 0;
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- reading ---------------------------------------------------------------------------------

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/**
 * The central directory of the zip file `src`, every size and offset checked against the file.
 * @example
 * import { FileSource } from './common.js';
 * kn.savez('/tmp/kiln-doc-p.npz', { w: kn.ones([2]), b: kn.zeros([2]) });
 * const src = new FileSource('/tmp/kiln-doc-p.npz', 'load', 'npz');
 * readZipDirectory(src).map((e) => e.name) // ['w.npy', 'b.npy']
 * src.close();
 */
export function readZipDirectory(src: FileSource): ZipEntry[] {
  const fail = (m: string) => src.error(m);
  if (src.size < 22) throw fail(`is not a zip file: ${src.size} bytes is shorter than the 22-byte end record`);
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tail = src.read(src.size - tailLen, tailLen, 'end of central directory');
  let at = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tailLen) {
      at = i;
      break;
    }
  }
  if (at < 0) throw fail('is not a zip file: no end-of-central-directory record found');
  const eocdPos = src.size - tailLen + at;
  let count = tail.readUInt16LE(at + 10);
  let cdSize = tail.readUInt32LE(at + 12);
  let cdOffset = tail.readUInt32LE(at + 16);
  let cdEnd = eocdPos;
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    if (eocdPos < 20) throw fail('has a zip64 marker but no zip64 locator');
    const loc = src.read(eocdPos - 20, 20, 'zip64 locator');
    if (loc.readUInt32LE(0) !== SIG_LOCATOR64) throw fail('has a zip64 marker but no zip64 locator');
    const recPos = u64(loc, 8, 'zip64 end record offset', fail);
    if (recPos + 56 > eocdPos - 20) throw fail(`zip64 end record offset ${recPos} is outside the file`);
    const rec = src.read(recPos, 56, 'zip64 end record');
    if (rec.readUInt32LE(0) !== SIG_EOCD64) throw fail('zip64 end record has a bad signature');
    count = u64(rec, 32, 'zip64 entry count', fail);
    cdSize = u64(rec, 40, 'zip64 central directory size', fail);
    cdOffset = u64(rec, 48, 'zip64 central directory offset', fail);
    cdEnd = recPos;
  }
  if (cdOffset + cdSize > cdEnd) throw fail(`central directory (${cdSize} bytes at offset ${cdOffset}) runs past its end record at ${cdEnd}`);
  if (count * 46 > cdSize) throw fail(`declares ${count} members but its central directory has only ${cdSize} bytes`);
  const cd = src.read(cdOffset, cdSize, 'central directory');
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw fail(`central directory entry ${i} is corrupt`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nlen = cd.readUInt16LE(p + 28),
      elen = cd.readUInt16LE(p + 30),
      clen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + nlen + elen + clen > cd.length) throw fail(`central directory entry ${i} runs past the directory`);
    const nameBytes = cd.subarray(p + 46, p + 46 + nlen);
    const name = flags & 0x800 ? nameBytes.toString('utf8') : nameBytes.toString('latin1');
    // zip64 extra field: the 64-bit values of exactly those fields that hold 0xFFFFFFFF
    let e = p + 46 + nlen;
    const eEnd = e + elen;
    while (e + 4 <= eEnd) {
      const id = cd.readUInt16LE(e),
        len = cd.readUInt16LE(e + 2);
      if (e + 4 + len > eEnd) throw fail(`member '${name}' has a corrupt extra field`);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (what: string) => {
          if (q + 8 > e + 4 + len) throw fail(`member '${name}' has a short zip64 extra field (no ${what})`);
          const v = u64(cd, q, what, fail);
          q += 8;
          return v;
        };
        if (size === U32_MAX) size = take('size');
        if (compressedSize === U32_MAX) compressedSize = take('compressed size');
        if (localOffset === U32_MAX) localOffset = take('local header offset');
      }
      e += 4 + len;
    }
    if (localOffset + 30 > cdOffset || localOffset + compressedSize > cdOffset)
      throw fail(`member '${name}' (${compressedSize} bytes at offset ${localOffset}) lies outside the file's data area`);
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
    p += 46 + nlen + elen + clen;
  }
  return entries;
}

function u64(b: Buffer, at: number, what: string, fail: (m: string) => Error): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(MAX_SAFE)) throw fail(`${what} ${v} is too large`);
  return Number(v);
}

/**
 * Offset in the file where the member's (possibly compressed) bytes start.
 * @example
 * import { FileSource } from './common.js';
 * kn.savez('/tmp/kiln-doc-p.npz', { w: kn.ones([2]) });
 * const src = new FileSource('/tmp/kiln-doc-p.npz', 'load', 'npz');
 * const [e] = readZipDirectory(src);
 * src.read(entryDataOffset(src, e) + 1, 5, 'magic').toString() // 'NUMPY'
 * src.close();
 */
export function entryDataOffset(src: FileSource, e: ZipEntry): number {
  const h = src.read(e.localOffset, 30, `local header of '${e.name}'`);
  if (h.readUInt32LE(0) !== SIG_LOCAL) throw src.error(`member '${e.name}' has a bad local header signature`);
  const start = e.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  if (start + e.compressedSize > src.size)
    throw src.error(`is truncated: member '${e.name}' needs ${e.compressedSize} bytes at offset ${start}, but the file has ${src.size} bytes`);
  return start;
}

/**
 * Checks a member can be read: not encrypted, a known method, honest sizes.
 * @example
 * import { FileSource } from './common.js';
 * kn.savez('/tmp/kiln-doc-p.npz', { w: kn.ones([2]) });
 * const src = new FileSource('/tmp/kiln-doc-p.npz', 'load', 'npz');
 * const [e] = readZipDirectory(src);
 * checkEntry(src, e); // returns: readable (it throws for encrypted or impossible members)
 * e.method // 0
 * src.close();
 */
export function checkEntry(src: FileSource, e: ZipEntry): void {
  if (e.flags & 1) throw src.error(`member '${e.name}' is encrypted`);
  if (e.method !== 0 && e.method !== 8) throw src.error(`member '${e.name}' uses compression method ${e.method} (only stored and deflate are supported)`);
  if (e.method === 0 && e.size !== e.compressedSize)
    throw src.error(`stored member '${e.name}' declares size ${e.size} but compressed size ${e.compressedSize}`);
  if (e.method === 8 && e.size > e.compressedSize * MAX_DEFLATE_RATIO + 64)
    throw src.error(`deflated member '${e.name}' declares ${e.size} bytes from ${e.compressedSize} compressed bytes (impossible for deflate)`);
}

/**
 * The member's uncompressed bytes, CRC-checked.
 * @example
 * import { FileSource } from './common.js';
 * kn.savezCompressed('/tmp/kiln-doc-p.npz', { w: kn.ones([2]) });
 * const src = new FileSource('/tmp/kiln-doc-p.npz', 'load', 'npz');
 * readEntry(src, readZipDirectory(src)[0]).length // 136
 * src.close();
 */
export function readEntry(src: FileSource, e: ZipEntry): Buffer {
  checkEntry(src, e);
  const start = entryDataOffset(src, e);
  const raw = src.read(start, e.compressedSize, `member '${e.name}'`);
  let out: Buffer;
  if (e.method === 0) out = raw;
  else {
    if (e.size > bufferConstants.MAX_LENGTH) throw src.error(`member '${e.name}' of ${e.size} bytes is too large to inflate in memory`);
    try {
      out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      throw src.error(`member '${e.name}' does not inflate to its declared ${e.size} bytes: ${(err as Error).message}`);
    }
    if (out.length !== e.size) throw src.error(`member '${e.name}' inflates to ${out.length} bytes, but declares ${e.size}`);
  }
  const c = crc32(out);
  if (c !== e.crc) throw src.error(`member '${e.name}' is corrupt: CRC-32 ${hex(c)} does not match the recorded ${hex(e.crc)}`);
  return out;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

// ---- writing ---------------------------------------------------------------------------------

interface Written {
  name: Buffer;
  utf8: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function dosDateTime(d: Date): [number, number] {
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1);
  const date = (Math.max(0, d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  return [time, date];
}

function le64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

/**
 * Writes a zip file member by member into an AtomicFile.
 * @example
 * import { AtomicFile, FileSource } from './common.js';
 * const f = new AtomicFile('/tmp/kiln-doc-z.zip');
 * const z = new ZipWriter(f, 'savez');
 * z.addDeflated('a.txt', new TextEncoder().encode('hello'));
 * z.finish(); f.commit();
 * readZipDirectory(new FileSource('/tmp/kiln-doc-z.zip', 'load', 'zip')).map((e) => [e.name, e.size]) // [['a.txt', 5]]
 */
export class ZipWriter {
  private readonly written: Written[] = [];
  private readonly names = new Set<string>();
  private readonly time: number;
  private readonly date: number;
  constructor(
    private readonly f: AtomicFile,
    private readonly op: string,
  ) {
    [this.time, this.date] = dosDateTime(new Date());
  }

  private localHeader(w: Written, zip64: boolean): Buffer {
    const extra = zip64 ? Buffer.concat([Buffer.from([1, 0, 16, 0]), le64(w.size), le64(w.compressedSize)]) : Buffer.alloc(0);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(SIG_LOCAL, 0);
    h.writeUInt16LE(zip64 ? 45 : 20, 4);
    h.writeUInt16LE(w.utf8 ? 0x800 : 0, 6);
    h.writeUInt16LE(w.method, 8);
    h.writeUInt16LE(this.time, 10);
    h.writeUInt16LE(this.date, 12);
    h.writeUInt32LE(w.crc, 14);
    h.writeUInt32LE(zip64 ? U32_MAX : w.compressedSize, 18);
    h.writeUInt32LE(zip64 ? U32_MAX : w.size, 22);
    h.writeUInt16LE(w.name.length, 26);
    h.writeUInt16LE(extra.length, 28);
    return Buffer.concat([h, w.name, extra]);
  }

  private begin(name: string, method: number, size: number, compressedSize: number): Written {
    if (this.names.has(name)) throw new Error(`[${this.op}] duplicate member name '${name}'`);
    this.names.add(name);
    const nameBuf = Buffer.from(name, 'utf8');
    if (nameBuf.length > 0xffff) throw new Error(`[${this.op}] member name of ${nameBuf.length} bytes is too long for zip`);
    // eslint-disable-next-line no-control-regex
    return { name: nameBuf, utf8: /[^\x00-\x7f]/.test(name), method, crc: 0, compressedSize, size, localOffset: this.f.pos };
  }

  /** A stored member of exactly `size` bytes produced by `produce` (streamed; CRC patched in). */
  addStored(name: string, size: number, produce: (write: (b: Uint8Array) => void) => void): void {
    const w = this.begin(name, 0, size, size);
    const zip64 = size >= U32_MAX;
    this.f.write(this.localHeader(w, zip64));
    let crc = 0,
      n = 0;
    produce((b) => {
      crc = crc32(b, crc);
      n += b.length;
      this.f.write(b);
    });
    if (n !== size) throw new Error(`[${this.op}] member '${name}' produced ${n} bytes, expected ${size}`);
    w.crc = crc;
    const patch = Buffer.alloc(4);
    patch.writeUInt32LE(crc);
    this.f.writeAt(patch, w.localOffset + 14);
    this.written.push(w);
  }

  /** A deflate-compressed member holding `data`. */
  addDeflated(name: string, data: Uint8Array): void {
    const packed = zlib.deflateRawSync(data);
    const w = this.begin(name, 8, data.length, packed.length);
    w.crc = crc32(data);
    this.f.write(this.localHeader(w, data.length >= U32_MAX || packed.length >= U32_MAX));
    this.f.write(packed);
    this.written.push(w);
  }

  /** Writes the central directory and end records. */
  finish(): void {
    const cdOffset = this.f.pos;
    for (const w of this.written) {
      const big = [w.size >= U32_MAX, w.compressedSize >= U32_MAX, w.localOffset >= U32_MAX];
      const vals = [w.size, w.compressedSize, w.localOffset].filter((_, i) => big[i]);
      const extra = vals.length ? Buffer.concat([Buffer.from([1, 0, vals.length * 8, 0]), ...vals.map(le64)]) : Buffer.alloc(0);
      const zip64 = vals.length > 0;
      const h = Buffer.alloc(46);
      h.writeUInt32LE(SIG_CENTRAL, 0);
      h.writeUInt16LE((3 << 8) | (zip64 ? 45 : 20), 4); // made by: unix
      h.writeUInt16LE(zip64 ? 45 : 20, 6);
      h.writeUInt16LE(w.utf8 ? 0x800 : 0, 8);
      h.writeUInt16LE(w.method, 10);
      h.writeUInt16LE(this.time, 12);
      h.writeUInt16LE(this.date, 14);
      h.writeUInt32LE(w.crc, 16);
      h.writeUInt32LE(big[1] ? U32_MAX : w.compressedSize, 20);
      h.writeUInt32LE(big[0] ? U32_MAX : w.size, 24);
      h.writeUInt16LE(w.name.length, 28);
      h.writeUInt16LE(extra.length, 30);
      h.writeUInt32LE(0o100644 * 0x10000, 38); // regular file, rw-r--r--
      h.writeUInt32LE(big[2] ? U32_MAX : w.localOffset, 42);
      this.f.write(Buffer.concat([h, w.name, extra]));
    }
    const cdSize = this.f.pos - cdOffset;
    const count = this.written.length;
    const zip64 = count >= 0xffff || cdSize >= U32_MAX || cdOffset >= U32_MAX;
    if (zip64) {
      const recPos = this.f.pos;
      const rec = Buffer.alloc(56);
      rec.writeUInt32LE(SIG_EOCD64, 0);
      rec.writeBigUInt64LE(44n, 4);
      rec.writeUInt16LE((3 << 8) | 45, 12);
      rec.writeUInt16LE(45, 14);
      rec.writeBigUInt64LE(BigInt(count), 24);
      rec.writeBigUInt64LE(BigInt(count), 32);
      rec.writeBigUInt64LE(BigInt(cdSize), 40);
      rec.writeBigUInt64LE(BigInt(cdOffset), 48);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(SIG_LOCATOR64, 0);
      loc.writeBigUInt64LE(BigInt(recPos), 8);
      loc.writeUInt32LE(1, 16);
      this.f.write(Buffer.concat([rec, loc]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(SIG_EOCD, 0);
    end.writeUInt16LE(Math.min(count, 0xffff), 8);
    end.writeUInt16LE(Math.min(count, 0xffff), 10);
    end.writeUInt32LE(Math.min(cdSize, U32_MAX), 12);
    end.writeUInt32LE(Math.min(cdOffset, U32_MAX), 16);
    this.f.write(end);
  }
}
