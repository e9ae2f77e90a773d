// Text and raw-byte I/O from numpy: loadtxt / savetxt (delimited numbers, printf-style formats),
// frombuffer (an array from bytes in memory, copied) and a.tobytes() (the row-major bytes).
import { readFileSync } from 'node:fs';
import { NDArray } from '../../core/array.js';
import { itemsize, isInteger, type DType } from '../../core/dtype.js';
import { fmtValue } from '../../core/shape.js';
import { arrayFrom, checkOptions, dtypeArg, type DTypeArg } from '../convert.js';
import { arrayFromBytes, streamBytes, writeAtomic } from './common.js';

export interface LoadtxtOptions {
  /** column separator (default: any whitespace) */
  delimiter?: string | null;
  /** text after this marker on a line is ignored (default '#'; null: none) */
  comments?: string | null;
  /** lines to skip at the start (default 0) */
  skiprows?: number;
  /** columns to read (default all) */
  usecols?: number | readonly number[];
  /** read at most this many rows of data */
  maxRows?: number;
  /** result dtype (default float64, as numpy) */
  dtype?: DTypeArg;
  /** at least this many dimensions (0, 1 or 2; default 0: size-1 axes are squeezed) */
  ndmin?: 0 | 1 | 2;
  /** return the columns as separate arrays (the transpose) */
  unpack?: boolean;
}

function parseValue(tok: string, dt: DType, where: string): number | bigint | boolean {
  const t = tok.trim();
  if (dt === 'bool') {
    if (t === 'True' || t === 'true' || t === '1') return true;
    if (t === 'False' || t === 'false' || t === '0') return false;
  } else if (isInteger(dt)) {
    if (/^[+-]?\d+$/.test(t)) return dt === 'int64' || dt === 'uint64' ? BigInt(t) : Number(t);
  } else {
    const low = t.toLowerCase();
    if (low === 'nan' || low === '+nan' || low === '-nan') return NaN;
    if (low === 'inf' || low === '+inf' || low === 'infinity' || low === '+infinity') return Infinity;
    if (low === '-inf' || low === '-infinity') return -Infinity;
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  }
  throw new Error(`[loadtxt] ${where}: could not convert '${tok}' to ${dt}`);
}

/**
 * Loads numbers from a text file, one row per line (numpy's loadtxt): whitespace- or
 * `delimiter`-separated, `#` comments, optional skiprows / usecols / maxRows; float64 by default.
 * Size-1 axes are squeezed unless `ndmin` says otherwise.
 * @example
 * kn.savetxt('/tmp/kiln-doc.txt', kn.array([[1, 2], [3, 4]]), { header: 'x y' });
 * kn.loadtxt('/tmp/kiln-doc.txt').tolist() // [[1, 2], [3, 4]]
 * kn.loadtxt('/tmp/kiln-doc.txt', { usecols: 1 }).tolist() // [2, 4]
 */
export function loadtxt(path: string, opts: LoadtxtOptions & { unpack: true }): NDArray[];
export function loadtxt(path: string, opts?: LoadtxtOptions): NDArray;
export function loadtxt(path: string, opts: LoadtxtOptions = {}): NDArray | NDArray[] {
  const op = 'loadtxt';
  checkOptions(opts, op, "{ delimiter: ',' }");
  if (typeof path !== 'string') throw new TypeError(`[${op}] path must be a string, got ${fmtValue(path)}`);
  const dt = dtypeArg(opts.dtype, op) ?? 'float64';
  const skip = opts.skiprows ?? 0;
  if (!Number.isInteger(skip) || skip < 0) throw new RangeError(`[${op}] skiprows must be a non-negative integer, got ${fmtValue(skip)}`);
  const ndmin = opts.ndmin ?? 0;
  if (ndmin !== 0 && ndmin !== 1 && ndmin !== 2) throw new RangeError(`[${op}] ndmin must be 0, 1 or 2, got ${fmtValue(ndmin)}`);
  const comments = opts.comments === undefined ? '#' : opts.comments;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`[${op}] cannot read ${path}: ${(e as Error).message}`);
  }
  const usecols = opts.usecols === undefined ? null : typeof opts.usecols === 'number' ? [opts.usecols] : [...opts.usecols];
  const lines = text.split(/\r?\n/);
  const rows: (number | bigint | boolean)[][] = [];
  let width = -1;
  for (let ln = skip; ln < lines.length; ln++) {
    if (opts.maxRows !== undefined && rows.length >= opts.maxRows) break;
    let line = lines[ln];
    if (comments) {
      const c = line.indexOf(comments);
      if (c >= 0) line = line.slice(0, c);
    }
    if (line.trim() === '') continue;
    let toks = opts.delimiter === undefined || opts.delimiter === null ? line.trim().split(/\s+/) : line.split(opts.delimiter);
    const where = `${path} line ${ln + 1}`;
    if (usecols) {
      toks = usecols.map((c) => {
        const i = c < 0 ? c + toks.length : c;
        if (!Number.isInteger(c) || i < 0 || i >= toks.length)
          throw new Error(`[${op}] ${where}: usecols ${c} is out of range for a row of ${toks.length} columns`);
        return toks[i];
      });
    }
    if (width >= 0 && toks.length !== width) throw new Error(`[${op}] ${where}: the number of columns changed from ${width} to ${toks.length}`);
    width = toks.length;
    rows.push(toks.map((t) => parseValue(t, dt, where)));
  }
  let shape = rows.length === 0 ? [0] : [rows.length, width];
  const flat = rows.flat();
  // numpy: squeeze when there are more dims than ndmin, then atleast_1d, or atleast_2d(..).T
  if (shape.length > ndmin) shape = shape.filter((d) => d !== 1);
  if (shape.length < ndmin) shape = ndmin === 1 ? [1] : shape.length === 0 ? [1, 1] : [shape[0], 1];
  const a = arrayFrom(flat as never, dt, op).reshape(shape);
  if (!opts.unpack) return a;
  return a.ndim <= 1 ? [a] : Array.from(a.T);
}

export interface SavetxtOptions {
  /** printf-style format for each value, or one per column (default '%.18e') */
  fmt?: string | readonly string[];
  /** column separator (default ' ') */
  delimiter?: string;
  /** line ending (default '\n') */
  newline?: string;
  /** text written first, each line prefixed by `comments` */
  header?: string;
  /** text written last, each line prefixed by `comments` */
  footer?: string;
  /** prefix of header and footer lines (default '# ') */
  comments?: string;
}

/** C printf of one number for %[flags][width][.precision](d|i|e|E|f|F|g|G|s|x) */
export function cFormat(fmt: string, v: number | bigint | boolean): string {
  return fmt.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([diouxXeEfFgGs%])/g, (_m, flags: string, width: string, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    let s: string;
    const x = typeof v === 'boolean' ? Number(v) : v;
    const p = prec === undefined ? undefined : Number(prec);
    const num = Number(x);
    const special = (n: number) => (Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf');
    const exp = (n: number, digits: number, upper: boolean) => {
      const [m, e] = n.toExponential(digits).split('e');
      const ee = Number(e);
      const out = `${m}e${ee < 0 ? '-' : '+'}${String(Math.abs(ee)).padStart(2, '0')}`;
      return upper ? out.toUpperCase() : out;
    };
    switch (conv) {
      case 'd':
      case 'i':
      case 'u':
        s = typeof x === 'bigint' ? x.toString() : Number.isFinite(num) ? Math.trunc(num).toFixed(0) : special(num);
        break;
      case 'x':
      case 'X':
        s = (typeof x === 'bigint' ? x : BigInt(Math.trunc(num))).toString(16);
        if (conv === 'X') s = s.toUpperCase();
        break;
      case 'o':
        s = (typeof x === 'bigint' ? x : BigInt(Math.trunc(num))).toString(8);
        break;
      case 'e':
      case 'E':
        s = Number.isFinite(num) ? exp(num, p ?? 6, conv === 'E') : special(num);
        break;
      case 'f':
      case 'F':
        s = Number.isFinite(num) ? num.toFixed(p ?? 6) : special(num);
        break;
      case 'g':
      case 'G': {
        if (!Number.isFinite(num)) {
          s = special(num);
          break;
        }
        const P = p === undefined ? 6 : p === 0 ? 1 : p;
        const X = num === 0 ? 0 : Number(num.toExponential(P - 1).split('e')[1]);
        s = P > X && X >= -4 ? num.toFixed(P - 1 - X) : exp(num, P - 1, conv === 'G');
        if (!flags.includes('#')) s = s.replace(/\.?0+(?=e|E|$)/, (z) => (z.includes('.') || s.includes('.') ? '' : z));
        break;
      }
      default:
        s = String(x);
    }
    if (flags.includes('+') && !s.startsWith('-') && conv !== 's') s = '+' + s;
    else if (flags.includes(' ') && !s.startsWith('-') && conv !== 's') s = ' ' + s;
    const w = width ? Number(width) : 0;
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w);
      else if (flags.includes('0') && conv !== 's' && /^[+\- ]?[0-9]/.test(s)) {
        const signCh = /^[+\- ]/.test(s) ? s[0] : '';
        s = signCh + s.slice(signCh.length).padStart(w - signCh.length, '0');
      } else s = s.padStart(w);
    }
    return s;
  });
}

/**
 * Writes a 1-d or 2-d array as text, one row per line (numpy's savetxt; default format '%.18e',
 * space-separated; a 1-d array is one value per line).
 * @example
 * kn.savetxt('/tmp/kiln-doc-out.txt', kn.array([[1, 2], [3, 4]]), { fmt: '%d', delimiter: ',' });
 * kn.loadtxt('/tmp/kiln-doc-out.txt', { delimiter: ',', dtype: 'int32' }).tolist() // [[1, 2], [3, 4]]
 */
export function savetxt(path: string, X: NDArray, opts: SavetxtOptions = {}): void {
  const op = 'savetxt';
  checkOptions(opts, op, "{ fmt: '%d' }");
  if (!(X instanceof NDArray)) throw new TypeError(`[${op}] X must be an array, got ${fmtValue(X)}`);
  if (X.ndim === 0 || X.ndim > 2) throw new Error(`[${op}] expected a 1-d or 2-d array, got ${X.ndim}-d`);
  const rows = X.ndim === 1 ? (X.tolist() as (number | bigint | boolean)[]).map((v) => [v]) : (X.tolist() as (number | bigint | boolean)[][]);
  const ncol = X.ndim === 1 ? 1 : X.shape[1];
  const fmt = opts.fmt ?? '%.18e';
  let fmts: string[];
  if (typeof fmt === 'string') {
    const n = (fmt.match(/%[^%]/g) ?? []).length;
    if (n === 1) fmts = new Array<string>(ncol).fill(fmt);
    else if (n === ncol) fmts = [fmt];
    else throw new Error(`[${op}] fmt has wrong number of % formats: ${fmt} (for ${ncol} columns)`);
  } else {
    if (fmt.length !== ncol) throw new Error(`[${op}] fmt has ${fmt.length} formats for ${ncol} columns`);
    fmts = [...fmt];
  }
  const delim = opts.delimiter ?? ' ',
    nl = opts.newline ?? '\n',
    cm = opts.comments ?? '# ';
  const parts: string[] = [];
  if (opts.header)
    parts.push(
      opts.header
        .split('\n')
        .map((l) => cm + l)
        .join(nl) + nl,
    );
  for (const r of rows) parts.push((fmts.length === 1 && ncol > 1 ? formatRow(fmts[0], r) : r.map((v, i) => cFormat(fmts[i], v)).join(delim)) + nl);
  if (opts.footer)
    parts.push(
      opts.footer
        .split('\n')
        .map((l) => cm + l)
        .join(nl) + nl,
    );
  const bytes = Buffer.from(parts.join(''), 'utf8');
  writeAtomic(path, op, (f) => f.write(bytes));
}

/** one format string holding every column's conversion */
function formatRow(fmt: string, r: (number | bigint | boolean)[]): string {
  let i = 0;
  return fmt.replace(/%[-+ 0#]*\d*(?:\.\d+)?[diouxXeEfFgGs]/g, (m) => cFormat(m, r[i++]));
}

/**
 * An array from raw bytes in memory, copied (numpy's frombuffer; default dtype float64, native
 * little-endian order). `count` elements (default all) from byte `offset`.
 * @example kn.frombuffer(new Uint8Array([1, 0, 2, 0]), { dtype: 'int16' }).tolist() // [1, 2]
 */
export function frombuffer(buffer: ArrayBuffer | ArrayBufferView, opts: { dtype?: DTypeArg; count?: number; offset?: number } = {}): NDArray {
  const op = 'frombuffer';
  checkOptions(opts, op, "{ dtype: 'int32' }");
  let bytes: Uint8Array;
  if (buffer instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer))
    bytes = new Uint8Array(buffer as ArrayBuffer);
  else if (ArrayBuffer.isView(buffer)) bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  else throw new TypeError(`[${op}] expected an ArrayBuffer, Buffer or typed array, got ${fmtValue(buffer)}`);
  const dt = dtypeArg(opts.dtype, op) ?? 'float64';
  const isz = itemsize(dt);
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length)
    throw new RangeError(`[${op}] offset must be in [0, ${bytes.length}] (the buffer length), got ${fmtValue(offset)}`);
  const avail = bytes.length - offset;
  const count = opts.count ?? -1;
  if (!Number.isInteger(count) || count < -1) throw new RangeError(`[${op}] count must be -1 (all) or a non-negative integer, got ${fmtValue(count)}`);
  let n: number;
  if (count === -1) {
    if (avail % isz !== 0) throw new Error(`[${op}] buffer size ${avail} (after offset ${offset}) must be a multiple of the element size ${isz} of ${dt}`);
    n = avail / isz;
  } else {
    if (count * isz > avail)
      throw new Error(`[${op}] buffer is smaller than requested size: ${count} × ${isz} bytes of ${dt} from offset ${offset}, have ${avail}`);
    n = count;
  }
  return arrayFromBytes(bytes.subarray(offset, offset + n * isz), [n], dt);
}

/** The row-major bytes of an array (evaluates it), as numpy's a.tobytes(). */
export function tobytes(a: NDArray): Buffer {
  const chunks: Uint8Array[] = [];
  streamBytes(a, (b) => chunks.push(b));
  return Buffer.concat(chunks);
}
