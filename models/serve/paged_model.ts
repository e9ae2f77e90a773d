// The forward pass of a continuous batch over the paged KV store. All tokens of a step (one per
// decoding sequence, a chunk per prefilling one) are packed into one row [1, N], so every weight
// matmul reads its weights once per step for the whole batch. RoPE rotates each token at its own
// position from a gathered cos/sin table; keys and values go to their slots with one scatter per
// layer; decoding sequences attend together over their gathered, padded contexts (a bool mask
// hides the padding) and each prefill chunk attends causally over its own context.
import type { NDArray } from '../../core/array.js';
import type { DType } from '../../core/dtype.js';
import * as ops from '../../ops/index.js';
import { scaledDotProductAttention } from '../../ops/fast/index.js';
import type { LanguageModel } from '../types.js';
import type { PagedKV } from './paged_kv.js';
import { decoderParts, ropeAngles, rotateHalves, type Callable, type Decoder } from '../decoder_parts.js';

/** One sequence's part of a step: `tokens` fed at positions start..start+len-1. */
export interface StepRow {
  tokens: readonly number[];
  start: number;
  /** slot ids of positions 0..start+len-1 (the context this row attends to, new tokens last) */
  slots: readonly number[];
  /** whether the logits of the row's last token are needed */
  sample: boolean;
}

/** A model the paged path can run: the Llama-style decoder families (llama, mistral, qwen2, qwen3). */
export class PagedModel {
  readonly model: LanguageModel;
  readonly numLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly dtype: DType;
  readonly #dec: Decoder;
  readonly #lmHead: Callable | null;

  constructor(model: LanguageModel) {
    const parts = decoderParts(model, 'serve');
    if (parts instanceof Error) throw parts;
    this.model = model;
    this.#dec = parts.dec;
    this.#lmHead = parts.lmHead;
    this.numLayers = parts.dec.layers.length;
    this.nHeads = parts.nHeads;
    this.nKvHeads = parts.nKvHeads;
    this.headDim = parts.headDim;
    this.vocabSize = model.vocabSize;
    this.dtype = parts.dtype;
  }

  /** nKvHeads * headDim: the width of one layer's key (or value) row. */
  get kvWidth(): number {
    return this.nKvHeads * this.headDim;
  }

  /**
   * Runs one step; returns the float32 log-probabilities [S, vocab] of the rows with `sample`
   * (in row order). Rows with one token must come first (they attend as one batch). Call inside
   * kn.tidy and evaluate the result with `kv.state`.
   */
  forward(kv: PagedKV, rows: readonly StepRow[]): NDArray {
    const dec = this.#dec;
    const H = this.nHeads,
      Hk = this.nKvHeads,
      D = this.headDim;
    const ids: number[] = [],
      pos: number[] = [],
      newSlots: number[] = [];
    for (const r of rows) {
      r.tokens.forEach((t, i) => {
        ids.push(t);
        pos.push(r.start + i);
        newSlots.push(r.slots[r.start + i]);
      });
    }
    const N = ids.length;
    const nDec = rows.findIndex((r) => r.tokens.length !== 1) < 0 ? rows.length : rows.findIndex((r) => r.tokens.length !== 1);
    for (let i = nDec; i < rows.length; i++) if (rows[i].tokens.length === 1) throw new Error('[serve] single-token rows must come first in a step');

    const rope = dec.layers[0].self_attn._rope;
    const rot = ropeAngles(rope, ops.reshape(ops.array(Int32Array.from(pos), 'int32'), [N, 1]));
    const slotArr = ops.array(Int32Array.from(newSlots), 'int32');

    // decode rows: one padded [nDec, Smax] slot table and its mask
    let decIdx: NDArray | null = null,
      decMask: NDArray | null = null,
      sMax = 0;
    if (nDec > 0) {
      sMax = Math.max(...rows.slice(0, nDec).map((r) => r.start + 1));
      const table = new Int32Array(nDec * sMax),
        mask = new Uint8Array(nDec * sMax);
      let padded = false;
      for (let i = 0; i < nDec; i++) {
        const len = rows[i].start + 1;
        for (let j = 0; j < sMax; j++) {
          table[i * sMax + j] = rows[i].slots[j < len ? j : 0];
          mask[i * sMax + j] = j < len ? 1 : 0;
        }
        if (len < sMax) padded = true;
      }
      decIdx = ops.array(table, 'int32');
      if (padded) decMask = ops.reshape(ops.astype(ops.array(mask, 'uint8'), 'bool'), [nDec, 1, 1, sMax]);
    }
    const preIdx = rows.slice(nDec).map((r) => ops.array(Int32Array.from(r.slots.slice(0, r.start + r.tokens.length)), 'int32'));

    let h = dec.embed_tokens.call(ops.array([ids], 'int32')); // [1, N, hidden]
    dec.layers.forEach((layer, li) => {
      const at = layer.self_attn;
      const x = layer.input_layernorm.call(h);
      let q = ops.reshape(at.q_proj.call(x), [N, H, D]);
      let k = ops.reshape(at.k_proj.call(x), [N, Hk, D]);
      const v = ops.reshape(at.v_proj.call(x), [N, Hk * D]);
      if (at.q_norm) q = at.q_norm.call(q);
      if (at.k_norm) k = at.k_norm.call(k);
      q = rotateHalves(q, rot, at._rope.dims);
      k = rotateHalves(k, rot, at._rope.dims);
      kv.write(li, slotArr, ops.reshape(k, [N, Hk * D]), v);
      const outs: NDArray[] = [];
      if (nDec > 0) {
        const qd = ops.reshape(ops.slice(q, [{ start: 0, stop: nDec }]), [nDec, H, 1, D]);
        const [kg, vg] = kv.gather(li, decIdx!);
        const heads = (g: NDArray) => ops.transpose(ops.reshape(g, [nDec, sMax, Hk, D]), [0, 2, 1, 3]);
        const o = scaledDotProductAttention(qd, heads(kg), heads(vg), decMask ? { scale: at.scale, mask: decMask } : { scale: at.scale });
        outs.push(ops.reshape(o, [nDec, H * D]));
      }
      let off = nDec;
      rows.slice(nDec).forEach((r, i) => {
        const c = r.tokens.length,
          S = r.start + c;
        const qr = ops.transpose(ops.reshape(ops.slice(q, [{ start: off, stop: off + c }]), [1, c, H, D]), [0, 2, 1, 3]);
        const [kg, vg] = kv.gather(li, preIdx[i]);
        const heads = (g: NDArray) => ops.transpose(ops.reshape(g, [1, S, Hk, D]), [0, 2, 1, 3]);
        const o = scaledDotProductAttention(qr, heads(kg), heads(vg), { scale: at.scale, mask: 'causal' });
        outs.push(ops.reshape(ops.transpose(o, [0, 2, 1, 3]), [c, H * D]));
        off += c;
      });
      const o = outs.length === 1 ? outs[0] : ops.concatenate(outs, 0);
      h = ops.add(h, at.o_proj.call(ops.reshape(o, [1, N, H * D])));
      h = ops.add(h, layer.mlp.call(layer.post_attention_layernorm.call(h)));
    });

    // only the rows that sample need the head
    const last: number[] = [];
    let off = 0;
    for (const r of rows) {
      off += r.tokens.length;
      if (r.sample) last.push(off - 1);
    }
    if (last.length === 0) return ops.zeros([0, this.vocabSize], 'float32');
    const hs = ops.take(ops.reshape(h, [N, h.shape[2]]), ops.array(Int32Array.from(last), 'int32'), 0);
    const normed = dec.norm.call(ops.expandDims(hs, 0));
    const logits = ops.astype(ops.squeeze(this.#lmHead ? this.#lmHead.call(normed) : dec.embed_tokens.asLinear(normed), 0), 'float32');
    return ops.subtract(logits, ops.logsumexp(logits, -1, { keepdims: true }));
  }
}
