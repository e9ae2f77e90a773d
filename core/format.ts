// numpy-compatible text rendering of array data (a port of numpy's arrayprint and Dragon4).
// Self-contained on purpose: it only needs flat values, a shape and a dtype name.
import { f16round } from '@petamoriken/float16';

/** Print options, named after numpy's `set_printoptions` keywords in camelCase. */
export interface FormatOptions {
  /** Total number of elements above which the output is summarised with `...` (numpy: 1000). */
  threshold?: number;
  /** Items kept at the start and end of each summarised axis (numpy: 3). */
  edgeItems?: number;
  /** Most digits after the decimal point for floats (numpy: 8). */
  precision?: number;
  /** Characters per line before wrapping (numpy: 75). */
  lineWidth?: number;
  /** Never switch to scientific notation for small values (numpy's `suppress`). */
  suppressSmall?: boolean;
}

const DEFAULTS: Required<FormatOptions> = {
  threshold: 1000,
  edgeItems: 3,
  precision: 8,
  lineWidth: 75,
  suppressSmall: false,
};
let current: Required<FormatOptions> = { ...DEFAULTS };

function checkOptions(o: FormatOptions, op: string): void {
  for (const k of ['threshold', 'edgeItems', 'precision', 'lineWidth'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v) || v < 0)) {
      throw new TypeError(`[${op}] ${k} must be a non-negative number, got ${String(v)}`);
    }
  }
  if (o.precision !== undefined && !Number.isInteger(o.precision)) {
    throw new TypeError(`[${op}] precision must be an integer, got ${o.precision}`);
  }
}

function merged(o: FormatOptions | undefined): Required<FormatOptions> {
  const r = { ...current };
  if (o) {
    for (const k of Object.keys(DEFAULTS) as (keyof FormatOptions)[]) {
      if (o[k] !== undefined) (r as Record<string, unknown>)[k] = o[k];
    }
  }
  return r;
}

/**
 * Set the global print options used by `formatArray` (unset keys keep their value).
 * @example
 * kn.setPrintOptions({ precision: 3 });
 * String(kn.array([Math.PI], 'float64')) // 'array([3.142], dtype=float64)'
 * kn.setPrintOptions({ precision: 8 }); // back to the default
 */
export function setPrintOptions(o: FormatOptions): void {
  checkOptions(o, 'setPrintOptions');
  current = merged(o);
}

/**
 * The global print options now in force.
 * @example
 * kn.getPrintOptions().threshold // 1000
 */
export function getPrintOptions(): Required<FormatOptions> {
  return { ...current };
}

// ---------------------------------------------------------------------------------------------
// Float decomposition and Dragon4 (numpy/_core/src/multiarray/dragon4.c, Ryan Juckett's code)

interface FloatSpec {
  mbits: number; // stored mantissa bits
  ebits: number; // exponent bits
  round: (x: number) => number; // round a JS number to this type
  decimalPrecision: number; // numpy's finfo(dtype).precision, int(-log10(eps))
}

function bf16round(x: number): number {
  if (Number.isNaN(x)) return x;
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x);
  const bits = dv.getUint32(0);
  // round to nearest even on the top 16 bits of the float32 pattern
  const rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
  dv.setUint32(0, rounded >>> 0);
  return dv.getFloat32(0);
}

const FLOATS: Record<string, FloatSpec> = {
  float16: { mbits: 10, ebits: 5, round: f16round, decimalPrecision: 3 },
  // ml_dtypes reports finfo(bfloat16).precision == 2 (eps = 2^-7)
  bfloat16: { mbits: 7, ebits: 8, round: bf16round, decimalPrecision: 2 },
  float32: { mbits: 23, ebits: 8, round: Math.fround, decimalPrecision: 6 },
  float64: { mbits: 52, ebits: 11, round: (x) => x, decimalPrecision: 15 },
};

interface Decomposed {
  negative: boolean;
  mantissa: bigint;
  exponent: number; // value = mantissa * 2^exponent
  mantissaBit: number;
  unequalMargins: boolean;
}

const scratch = new DataView(new ArrayBuffer(8));

function bitLength(n: bigint): number {
  return n.toString(2).length;
}

/** Split a finite value (exactly representable in `spec`) the way dragon4.c does per format. */
function decompose(x: number, spec: FloatSpec): Decomposed {
  scratch.setFloat64(0, x);
  const hi = scratch.getUint32(0);
  const lo = scratch.getUint32(4);
  const negative = hi >>> 31 === 1;
  const e64 = (hi >>> 20) & 0x7ff;
  const m64 = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const bias = 2 ** (spec.ebits - 1) - 1;
  let fe: number;
  let fm: bigint;
  if (spec.mbits === 52 || e64 === 0) {
    fe = e64;
    fm = m64;
  } else {
    const e = e64 - 1023;
    if (e >= 1 - bias) {
      fe = e + bias;
      fm = m64 >> BigInt(52 - spec.mbits);
    } else {
      fe = 0;
      fm = ((1n << 52n) | m64) >> BigInt(52 - spec.mbits + (1 - bias - e));
    }
  }
  if (fe !== 0) {
    return {
      negative,
      mantissa: (1n << BigInt(spec.mbits)) | fm,
      exponent: fe - bias - spec.mbits,
      mantissaBit: spec.mbits,
      unequalMargins: fe !== 1 && fm === 0n,
    };
  }
  return {
    negative,
    mantissa: fm,
    exponent: 1 - bias - spec.mbits,
    mantissaBit: fm === 0n ? 0 : bitLength(fm) - 1,
    unequalMargins: false,
  };
}

const LOG10_2 = 0.30102999566398119521373889472449;
const BUFFER_SIZE = 16383;

/**
 * Dragon4 in numpy's "unique" digit mode: the shortest digits that round-trip in the value's own
 * type, cut off after `cutoffMax` digits (fractional or total) and extended to `cutoffMin`.
 */
function dragon4(d: Decomposed, totalLength: boolean, cutoffMax: number, cutoffMin: number): { digits: string; exp10: number } {
  const { mantissa, exponent, mantissaBit, unequalMargins } = d;
  if (mantissa === 0n) return { digits: '0', exp10: 0 };
  const isEven = (mantissa & 1n) === 0n;
  let value: bigint;
  let scale: bigint;
  let marginLow: bigint;
  if (exponent > 0) {
    const extra = unequalMargins ? 2 : 1;
    value = mantissa << BigInt(exponent + extra);
    scale = unequalMargins ? 4n : 2n;
    marginLow = 1n << BigInt(exponent);
  } else {
    const extra = unequalMargins ? 2 : 1;
    value = mantissa << BigInt(extra);
    scale = 1n << BigInt(-exponent + extra);
    marginLow = 1n;
  }

  let digitExponent = Math.ceil((mantissaBit + exponent) * LOG10_2 - 0.69);
  if (cutoffMax >= 0 && !totalLength && digitExponent <= -cutoffMax) digitExponent = -cutoffMax + 1;
  if (digitExponent > 0) {
    scale *= 10n ** BigInt(digitExponent);
  } else if (digitExponent < 0) {
    const p = 10n ** BigInt(-digitExponent);
    value *= p;
    marginLow *= p;
  }
  if (value >= scale) {
    digitExponent += 1;
  } else {
    value *= 10n;
    marginLow *= 10n;
  }

  let cutoffMaxExp = digitExponent - BUFFER_SIZE;
  if (cutoffMax >= 0) {
    const want = totalLength ? digitExponent - cutoffMax : -cutoffMax;
    if (want > cutoffMaxExp) cutoffMaxExp = want;
  }
  let cutoffMinExp = digitExponent;
  if (cutoffMin >= 0) {
    const want = totalLength ? digitExponent - cutoffMin : -cutoffMin;
    if (want < cutoffMinExp) cutoffMinExp = want;
  }
  let exp10 = digitExponent - 1;

  let out = '';
  let digit = 0;
  let low = false;
  let high = false;
  for (;;) {
    digitExponent -= 1;
    digit = Number(value / scale);
    value %= scale;
    const marginHigh = unequalMargins ? marginLow * 2n : marginLow;
    const valueHigh = value + marginHigh;
    low = isEven ? value <= marginLow : value < marginLow;
    high = isEven ? valueHigh >= scale : valueHigh > scale;
    if (((low || high) && digitExponent <= cutoffMinExp) || digitExponent === cutoffMaxExp) break;
    out += String(digit);
    value *= 10n;
    marginLow *= 10n;
  }

  let roundDown = low;
  if (low === high) {
    const twice = value * 2n;
    roundDown = twice < scale;
    if (twice === scale) roundDown = (digit & 1) === 0;
  }
  if (roundDown) {
    out += String(digit);
  } else if (digit === 9) {
    let i = out.length;
    for (;;) {
      if (i === 0) {
        out = '1';
        exp10 += 1;
        break;
      }
      i -= 1;
      if (out[i] !== '9') {
        out = out.slice(0, i) + String(Number(out[i]) + 1);
        break;
      }
    }
  } else {
    out += String(digit + 1);
  }
  return { digits: out, exp10 };
}

// numpy's trim modes: 'k' keep, '.' trim zeros keep point, '0' leave one zero, '-' drop point
type Trim = 'k' | '.' | '0' | '-';

interface PositionalOpts {
  precision: number;
  minDigits: number;
  trim: Trim;
  padLeft: number;
  padRight: number;
}

/** numpy's dragon4_positional(x, unique=True, fractional=True, ...). */
function formatPositional(x: number, spec: FloatSpec, o: PositionalOpts): string {
  const d = decompose(x, spec);
  const sign = d.negative ? '-' : '';
  const { digits, exp10 } = dragon4(d, false, o.precision, o.minDigits);
  let body: string;
  let wholeDigits: number;
  let fracDigits: number;
  if (exp10 >= 0) {
    wholeDigits = exp10 + 1;
    if (digits.length <= wholeDigits) {
      body = digits + '0'.repeat(wholeDigits - digits.length);
      fracDigits = 0;
    } else {
      body = `${digits.slice(0, wholeDigits)}.${digits.slice(wholeDigits)}`;
      fracDigits = digits.length - wholeDigits;
    }
  } else {
    const zeros = -(exp10 + 1);
    body = `0.${'0'.repeat(zeros)}${digits}`;
    fracDigits = zeros + digits.length;
    wholeDigits = 1;
  }
  if (o.trim !== '-' && fracDigits === 0) body += '.';
  const desired = Math.max(o.minDigits, 0);
  if (o.trim === '0') {
    if (fracDigits === 0) {
      body += '0';
      fracDigits += 1;
    }
  } else if (o.trim === 'k' && desired > fracDigits) {
    body += '0'.repeat(desired - fracDigits);
    fracDigits = desired;
  }
  if (o.trim !== 'k' && fracDigits > 0) {
    while (body.endsWith('0')) {
      body = body.slice(0, -1);
      fracDigits -= 1;
    }
    if (body.endsWith('.')) {
      if (o.trim === '0') {
        body += '0';
        fracDigits += 1;
      } else if (o.trim === '-') {
        body = body.slice(0, -1);
      }
    }
  }
  if (o.padRight >= fracDigits) {
    if (o.trim === '-' && fracDigits === 0) body += ' ';
    body += ' '.repeat(o.padRight - fracDigits);
  }
  const s = sign + body;
  const left = o.padLeft - (wholeDigits + sign.length);
  return left > 0 ? ' '.repeat(left) + s : s;
}

interface ScientificOpts {
  precision: number;
  minDigits: number;
  trim: Trim;
  padLeft: number;
  expDigits: number;
}

/** numpy's dragon4_scientific(x, unique=True, ...). */
function formatScientific(x: number, spec: FloatSpec, o: ScientificOpts): string {
  const d = decompose(x, spec);
  const sign = d.negative ? '-' : '';
  const leftChars = 1 + sign.length;
  let s = o.padLeft > leftChars ? ' '.repeat(o.padLeft - leftChars) : '';
  s += sign;
  const { digits, exp10 } = dragon4(d, true, o.precision < 0 ? -1 : o.precision + 1, o.minDigits < 0 ? -1 : o.minDigits + 1);
  let mant = digits[0];
  let fracDigits = digits.length - 1;
  if (fracDigits > 0) mant += `.${digits.slice(1)}`;
  if (o.trim !== '-' && fracDigits === 0) mant += '.';
  const add = Math.max(o.minDigits, 0);
  if (o.trim === '0') {
    if (fracDigits === 0) {
      mant += '0';
      fracDigits += 1;
    }
  } else if (o.trim === 'k' && add > fracDigits) {
    mant += '0'.repeat(add - fracDigits);
    fracDigits = add;
  }
  if (o.trim !== 'k' && fracDigits > 0) {
    while (mant.endsWith('0')) mant = mant.slice(0, -1);
    if (o.trim === '0' && mant.endsWith('.')) mant += '0';
  }
  const expDigits = o.expDigits > 5 ? 5 : o.expDigits < 0 ? 2 : o.expDigits;
  const e = Math.abs(exp10);
  const expText = `e${exp10 >= 0 ? '+' : '-'}${String(e).padStart(expDigits, '0')}`;
  return s + mant + expText;
}

// ---------------------------------------------------------------------------------------------
// Element formatters (numpy's FloatingFormat, IntegerFormat, BoolFormat)

type ElementFormatter = (v: number | bigint | boolean) => string;

function floatingFormatter(data: number[], spec: FloatSpec, precision: number, suppressSmall: boolean): ElementFormatter {
  const finite = data.filter((v) => Number.isFinite(v));
  const absNonZero = finite.filter((v) => v !== 0).map(Math.abs);
  let expFormat = false;
  if (absNonZero.length > 0) {
    let max = -Infinity;
    let min = Infinity;
    for (const v of absNonZero) {
      if (v > max) max = v;
      if (v < min) min = v;
    }
    // numpy compares in the array's own dtype (python floats are weak scalars under NEP 50)
    const cutoffMax = 10 ** Math.min(8, spec.decimalPrecision);
    if (max >= cutoffMax || (!suppressSmall && (min < spec.round(0.0001) || spec.round(max / min) > 1000))) {
      expFormat = true;
    }
  }

  let padLeft = 0;
  let padRight = 0;
  let prec = precision;
  let minDigits = -1;
  let trim: Trim = '.';
  let expSize = -1;
  if (finite.length === 0) {
    // only nan/inf: nothing to measure
  } else if (expFormat) {
    const strs = finite.map((x) =>
      formatScientific(x, spec, {
        precision,
        minDigits: -1,
        trim: '.',
        padLeft: -1,
        expDigits: -1,
      }),
    );
    let maxFrac = 0;
    for (const s of strs) {
      const [mant, exp] = s.split('e');
      const [intPart, fracPart] = mant.split('.');
      expSize = Math.max(expSize, exp.length - 1);
      maxFrac = Math.max(maxFrac, fracPart.length);
      padLeft = Math.max(padLeft, intPart.length);
    }
    trim = 'k';
    prec = maxFrac;
    minDigits = maxFrac;
    padRight = expSize + 2 + prec;
  } else {
    const strs = finite.map((x) =>
      formatPositional(x, spec, {
        precision,
        minDigits: -1,
        trim: '.',
        padLeft: -1,
        padRight: -1,
      }),
    );
    for (const s of strs) {
      const [intPart, fracPart] = s.split('.');
      padLeft = Math.max(padLeft, intPart.length);
      padRight = Math.max(padRight, fracPart.length);
    }
    minDigits = 0;
  }
  if (finite.length !== data.length) {
    const negInf = data.some((v) => v === -Infinity) ? 1 : 0;
    const offset = padRight + 1;
    padLeft = Math.max(padLeft, 3 - offset, 3 + negInf - offset);
  }

  return (raw) => {
    const x = spec.round(Number(raw));
    if (!Number.isFinite(x)) {
      const ret = Number.isNaN(x) ? 'nan' : x < 0 ? '-inf' : 'inf';
      return ' '.repeat(Math.max(0, padLeft + padRight + 1 - ret.length)) + ret;
    }
    if (expFormat) {
      return formatScientific(x, spec, { precision: prec, minDigits, trim, padLeft, expDigits: expSize });
    }
    return formatPositional(x, spec, { precision: prec, minDigits, trim, padLeft, padRight });
  };
}

/**
 * numpy's ComplexFloatingFormat: the real parts as one float column, the imaginary parts as
 * another with a forced sign, then 'j' before the imaginary part's right padding.
 */
function complexFormatter(pairs: ArrayLike<number>, shownIdx: number[], spec: FloatSpec, precision: number, suppressSmall: boolean): ElementFormatter {
  const re = floatingFormatter(
    shownIdx.map((i) => spec.round(pairs[2 * i])),
    spec,
    precision,
    suppressSmall,
  );
  const imData = shownIdx.map((i) => spec.round(pairs[2 * i + 1]));
  const im = floatingFormatter(imData, spec, precision, suppressSmall);
  const signed = (v: number) => {
    const core = im(v).trimStart();
    return core.startsWith('-') ? core : `+${core}`;
  };
  const width = Math.max(...imData.map((v) => signed(v).length));
  return (raw) => {
    const i = Number(raw);
    const s = signed(spec.round(pairs[2 * i + 1])).padStart(width);
    const sp = s.trimEnd().length;
    return re(pairs[2 * i]) + s.slice(0, sp) + 'j' + s.slice(sp);
  };
}

function intText(v: number | bigint | boolean): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  return Number.isInteger(v) ? BigInt(v).toString() : String(Math.trunc(v));
}

function integerFormatter(data: (number | bigint | boolean)[]): ElementFormatter {
  let width = 0;
  for (const v of data) width = Math.max(width, intText(v).length);
  return (v) => intText(v).padStart(width, ' ');
}

function boolFormatter(zeroDim: boolean): ElementFormatter {
  const trueText = zeroDim ? 'True' : ' True';
  return (v) => (v === true || (typeof v !== 'boolean' && Number(v) !== 0) ? trueText : 'False');
}

// ---------------------------------------------------------------------------------------------
// Layout (numpy's _formatArray, _extendLine and array_repr)

const INT_DTYPES = new Set(['uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64']);
// kiln's defaults play the part of numpy's float64/int64/bool: their dtype is implied.
const IMPLIED_DTYPES = new Set(['float32', 'int32', 'bool']);

const SEPARATOR = ', ';
const PREFIX = 'array(';

function extendLine(s: string, line: string, word: string, width: number, nextLinePrefix: string): [string, string] {
  let wrap = line.length + word.length > width;
  if (line.length <= nextLinePrefix.length) wrap = false; // wrapping would not help
  if (wrap) {
    s += `${line.trimEnd()}\n`;
    line = nextLinePrefix;
  }
  return [s, line + word];
}

function shapeText(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * Render flat row-major `values` of the given shape and dtype exactly as numpy's `repr` does,
 * except that the dtype suffix is left out for kiln's defaults (float32, int32, bool) instead of
 * numpy's (float64, int64, bool).
 * @example
 * String(kn.array([1, 2.5, 3], 'float32'))  // 'array([1. , 2.5, 3. ])'
 * String(kn.array([1, -2], 'int64'))        // 'array([ 1, -2], dtype=int64)'
 * kn.array(0.1, 'float16').toString()      // 'array(0.1, dtype=float16)'
 */
export function formatArray(values: ArrayLike<number | bigint | boolean>, shape: readonly number[], dtype: string, options?: FormatOptions): string {
  if (options) checkOptions(options, 'formatArray');
  const opts = merged(options);
  // complex64 arrives as interleaved (re, im) float32 pairs; the walk below visits pair indices
  const pairs = dtype === 'complex64' ? (values as ArrayLike<number>) : null;
  if (pairs) values = Array.from({ length: pairs.length / 2 }, (_, i) => i);
  const spec = FLOATS[pairs ? 'float32' : dtype];
  if (!spec && !INT_DTYPES.has(dtype) && dtype !== 'bool') {
    throw new TypeError(`[formatArray] unknown dtype ${JSON.stringify(dtype)}`);
  }
  let size = 1;
  for (const n of shape) {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`[formatArray] invalid shape [${shape.join(', ')}]`);
    }
    size *= n;
  }
  if (values.length !== size) {
    throw new RangeError(`[formatArray] ${values.length} values do not fill shape [${shape.join(', ')}] (size ${size})`);
  }

  const ndim = shape.length;
  const strides = new Array<number>(ndim);
  for (let i = ndim - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  const summarise = size > opts.threshold;
  const edge = opts.edgeItems;
  const showSummary = (len: number): boolean => summarise && 2 * edge < len;

  let body: string;
  if (size === 0) {
    body = '[]';
  } else {
    // the formatter measures only the elements that will be shown (numpy's _leading_trailing)
    const shown: (number | bigint | boolean)[] = [];
    const collect = (axis: number, offset: number): void => {
      if (axis === ndim) {
        shown.push(values[offset]);
        return;
      }
      const len = shape[axis];
      const idx = showSummary(len)
        ? [...Array.from({ length: edge }, (_, i) => i), ...Array.from({ length: edge }, (_, i) => len - edge + i)]
        : Array.from({ length: len }, (_, i) => i);
      for (const i of idx) collect(axis + 1, offset + i * strides[axis]);
    };
    collect(0, 0);

    let fmt: ElementFormatter;
    if (pairs) {
      fmt = complexFormatter(pairs, shown as number[], spec, opts.precision, opts.suppressSmall);
    } else if (spec) {
      const data = shown.map((v) => spec.round(Number(v)));
      fmt = floatingFormatter(data, spec, opts.precision, opts.suppressSmall);
    } else if (dtype === 'bool') {
      fmt = boolFormatter(ndim === 0);
    } else {
      fmt = integerFormatter(shown);
    }

    const recurse = (axis: number, offset: number, hanging: string, width: number): string => {
      const axesLeft = ndim - axis;
      if (axesLeft === 0) return fmt(values[offset]);
      const nextHanging = `${hanging} `;
      const nextWidth = width - 1;
      const len = shape[axis];
      const stride = strides[axis];
      const summary = showSummary(len);
      const leading = summary ? edge : 0;
      const trailing = summary ? edge : len;
      let s = '';
      if (axesLeft === 1) {
        const elemWidth = width - 1; // max(len(separator.rstrip()), len(']'))
        let line = hanging;
        for (let i = 0; i < leading; i++) {
          [s, line] = extendLine(s, line, recurse(axis + 1, offset + i * stride, nextHanging, nextWidth), elemWidth, hanging);
          line += SEPARATOR;
        }
        if (summary) {
          [s, line] = extendLine(s, line, '...', elemWidth, hanging);
          line += SEPARATOR;
        }
        for (let i = trailing; i > 1; i--) {
          [s, line] = extendLine(s, line, recurse(axis + 1, offset + (len - i) * stride, nextHanging, nextWidth), elemWidth, hanging);
          line += SEPARATOR;
        }
        [s, line] = extendLine(s, line, recurse(axis + 1, offset + (len - 1) * stride, nextHanging, nextWidth), elemWidth, hanging);
        s += line;
      } else {
        const lineSep = `,${'\n'.repeat(axesLeft - 1)}`;
        for (let i = 0; i < leading; i++) {
          s += hanging + recurse(axis + 1, offset + i * stride, nextHanging, nextWidth) + lineSep;
        }
        if (summary) s += `${hanging}...${lineSep}`;
        for (let i = trailing; i > 1; i--) {
          s += hanging + recurse(axis + 1, offset + (len - i) * stride, nextHanging, nextWidth) + lineSep;
        }
        s += hanging + recurse(axis + 1, offset + (len - 1) * stride, nextHanging, nextWidth);
      }
      return `[${s.slice(hanging.length)}]`;
    };
    // the closing ')' of the repr is reserved out of the line width
    body = recurse(0, 0, ' '.repeat(1 + PREFIX.length), opts.lineWidth - 1);
  }

  const extras: string[] = [];
  if ((size === 0 && !(ndim === 1 && shape[0] === 0)) || size > opts.threshold) {
    extras.push(`shape=${shapeText(shape)}`);
  }
  if (!IMPLIED_DTYPES.has(dtype) || size === 0) extras.push(`dtype=${dtype}`);
  if (extras.length === 0) return `${PREFIX}${body})`;

  const arrText = `${PREFIX}${body},`;
  const extraText = `${extras.join(', ')})`;
  const lastLineLen = arrText.length - (arrText.lastIndexOf('\n') + 1);
  const spacer = lastLineLen + extraText.length + 1 > opts.lineWidth ? `\n${' '.repeat(PREFIX.length)}` : ' ';
  return arrText + spacer + extraText;
}
