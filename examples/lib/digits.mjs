// The 8x8 handwritten digits set (examples/data/digits.csv.gz): parsing and a deterministic
// stratified train/test split. Pure JS; the model code turns the results into arrays.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { makeRng, shuffleInPlace } from './rng.mjs';

export const DIGITS_PATH = new URL('../data/digits.csv.gz', import.meta.url);
export const DIGITS_FEATURES = 64;
export const DIGITS_CLASSES = 10;
const MAX_PIXEL = 16;

/**
 * Parses digits CSV text: each non-empty line is 64 pixel values 0..16 and a label 0..9.
 * Pixels are scaled to [0, 1].
 * @param {string} text
 * @returns {{features: Float32Array, labels: Int32Array, count: number, featureCount: number}}
 * @example parseDigitsCsv(new Array(64).fill('0').join(',') + ',7\n').labels // Int32Array [7]
 */
export function parseDigitsCsv(text) {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const features = new Float32Array(lines.length * DIGITS_FEATURES);
  const labels = new Int32Array(lines.length);
  lines.forEach((line, row) => {
    const cells = line.split(',');
    if (cells.length !== DIGITS_FEATURES + 1) {
      throw new Error(`[parseDigitsCsv] line ${row + 1} has ${cells.length} fields, expected ${DIGITS_FEATURES + 1}`);
    }
    const values = cells.map((cell, col) => {
      const v = Number(cell);
      const max = col < DIGITS_FEATURES ? MAX_PIXEL : DIGITS_CLASSES - 1;
      if (cell.trim() === '' || !Number.isInteger(v) || v < 0 || v > max) {
        throw new Error(`[parseDigitsCsv] line ${row + 1} field ${col + 1} is '${cell}', expected an integer 0..${max}`);
      }
      return v;
    });
    for (let j = 0; j < DIGITS_FEATURES; j++) features[row * DIGITS_FEATURES + j] = values[j] / MAX_PIXEL;
    labels[row] = values[DIGITS_FEATURES];
  });
  return { features, labels, count: lines.length, featureCount: DIGITS_FEATURES };
}

/**
 * Reads and parses the committed gzip file (or another path in the same format).
 * @param {string | URL} [path]
 * @example loadDigits().count // 1797
 */
export function loadDigits(path = DIGITS_PATH) {
  return parseDigitsCsv(gunzipSync(readFileSync(path)).toString('utf8'));
}

/**
 * Splits row indices into train and test so that every class keeps the same share in both
 * (`round(classCount * testFraction)` rows of each class go to test). Deterministic for a seed.
 * @param {ArrayLike<number>} labels
 * @param {{testFraction?: number, seed?: number}} [options]
 * @returns {{train: number[], test: number[]}} sorted index lists
 * @example splitStratified([0, 0, 1, 1], {testFraction: 0.5}) // one index of each class in test
 */
export function splitStratified(labels, { testFraction = 0.2, seed = 0 } = {}) {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`[splitStratified] testFraction must be in (0, 1), got ${testFraction}`);
  }
  const byClass = new Map();
  Array.from(labels).forEach((label, i) => {
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label).push(i);
  });
  const rng = makeRng(seed);
  const train = [];
  const test = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = shuffleInPlace(byClass.get(label), rng);
    const testCount = Math.round(rows.length * testFraction);
    test.push(...rows.slice(0, testCount));
    train.push(...rows.slice(testCount));
  }
  const ascending = (a, b) => a - b;
  return { train: train.sort(ascending), test: test.sort(ascending) };
}

/**
 * Gathers the given rows into new feature and label arrays.
 * @param {{features: Float32Array, labels: Int32Array, featureCount: number}} data
 * @param {number[]} rows
 * @example selectRows(loadDigits(), [0, 1]).labels // Int32Array [0, 1]
 */
export function selectRows(data, rows) {
  const d = data.featureCount;
  const features = new Float32Array(rows.length * d);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    features.set(data.features.subarray(r * d, (r + 1) * d), i * d);
    labels[i] = data.labels[r];
  });
  return { features, labels, count: rows.length, featureCount: d };
}
