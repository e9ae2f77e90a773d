// Character-level text data for the transformer example: the committed KJV excerpt, a vocabulary
// of the characters that occur, encoding/decoding, the unigram-entropy baseline and random batches.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { randomInt } from './rng.mjs';

export const KJV_PATH = new URL('../data/kjv_pentateuch.txt.gz', import.meta.url);

/**
 * Reads a text file, gunzipping it when the name ends in `.gz`.
 * @param {string | URL} [path]
 * @example loadText().slice(0, 16) // 'In the beginning'
 */
export function loadText(path = KJV_PATH) {
  const bytes = readFileSync(path);
  return (String(path).endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

/**
 * The sorted distinct characters of `text` (by code point) and the reverse lookup.
 * @param {string} text
 * @returns {{chars: string[], index: Map<string, number>, size: number}}
 * @example buildVocab('abca').chars // ['a', 'b', 'c']
 */
export function buildVocab(text) {
  const chars = [...new Set(Array.from(text))].sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
  return { chars, index: new Map(chars.map((c, i) => [c, i])), size: chars.length };
}

/**
 * Character ids of `text`; throws on a character outside the vocabulary.
 * @param {{index: Map<string, number>}} vocab
 * @param {string} text
 * @example encode(buildVocab('abc'), 'cab') // Int32Array [2, 0, 1]
 */
export function encode(vocab, text) {
  const chars = Array.from(text);
  const ids = new Int32Array(chars.length);
  chars.forEach((c, i) => {
    const id = vocab.index.get(c);
    if (id === undefined) throw new Error(`[encode] character ${JSON.stringify(c)} is not in the vocabulary`);
    ids[i] = id;
  });
  return ids;
}

/**
 * Text of character ids.
 * @param {{chars: string[]}} vocab
 * @param {ArrayLike<number>} ids
 * @example decode(buildVocab('abc'), [2, 0, 1]) // 'cab'
 */
export function decode(vocab, ids) {
  return Array.from(ids, (id) => {
    const c = vocab.chars[id];
    if (c === undefined) throw new Error(`[decode] id ${id} is outside the vocabulary of ${vocab.chars.length}`);
    return c;
  }).join('');
}

/**
 * Entropy in nats of the character frequencies of `ids`: the cross-entropy of the best model that
 * ignores context, so a language model must get below it to have learnt anything.
 * @param {ArrayLike<number>} ids
 * @param {number} vocabSize
 * @example unigramEntropy([0, 1], 2) // Math.log(2)
 */
export function unigramEntropy(ids, vocabSize) {
  const counts = new Float64Array(vocabSize);
  for (let i = 0; i < ids.length; i++) counts[ids[i]] += 1;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / ids.length) * Math.log(c / ids.length);
  return h;
}

/**
 * Splits ids into a leading training part and a trailing validation part.
 * @param {Int32Array} ids
 * @param {number} [validationFraction]
 * @example splitTrainValidation(new Int32Array(10), 0.2).validation.length // 2
 */
export function splitTrainValidation(ids, validationFraction = 0.1) {
  const cut = ids.length - Math.round(ids.length * validationFraction);
  return { train: ids.subarray(0, cut), validation: ids.subarray(cut) };
}

/**
 * A batch of `batchSize` windows at random offsets: inputs ids[o..o+seqLen) and targets shifted by one.
 * Returned flat, row-major [batchSize, seqLen].
 * @param {Int32Array} ids
 * @param {number} batchSize
 * @param {number} seqLen
 * @param {() => number} rng from makeRng
 * @returns {{inputs: Int32Array, targets: Int32Array}}
 * @example sampleBatch(Int32Array.from([0, 1, 2, 3, 4, 5]), 2, 3, makeRng(0)).inputs.length // 6
 */
export function sampleBatch(ids, batchSize, seqLen, rng) {
  if (ids.length < seqLen + 1) {
    throw new Error(`[sampleBatch] text of ${ids.length} ids is too short for windows of ${seqLen} + 1`);
  }
  const inputs = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    const offset = randomInt(rng, ids.length - seqLen);
    inputs.set(ids.subarray(offset, offset + seqLen), b * seqLen);
    targets.set(ids.subarray(offset + 1, offset + seqLen + 1), b * seqLen);
  }
  return { inputs, targets };
}
