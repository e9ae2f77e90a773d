// A SentencePiece-style (tokenizer.ggml.model "llama") vocabulary of any size >= 260: <unk>, <s>,
// </s>, the 256 byte pieces llama.cpp looks up (<0x0A> for newline), then plain pieces. Only
// there so llama.cpp accepts the tiny parity models; their tests feed token ids directly.
import type { GgufValue } from '../../ops/io/gguf.js';

/**
 * tokenizer.ggml.* metadata (and its GGUF types) of a made-up vocabulary of `n` tokens.
 * @example tinyVocabMetadata(512).metadata['tokenizer.ggml.tokens'].length // 512
 */
export function tinyVocabMetadata(n: number): { metadata: Record<string, GgufValue>; metadataTypes: Record<string, string> } {
  if (n < 260) throw new Error(`tinyVocabMetadata: need at least 260 tokens, got ${n}`);
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  while (tokens.length < n) {
    tokens.push(`\u2581w${tokens.length}`);
    types.push(1);
  }
  return {
    metadata: {
      'tokenizer.ggml.model': 'llama',
      'tokenizer.ggml.tokens': tokens,
      'tokenizer.ggml.scores': tokens.map((_, i) => -i),
      'tokenizer.ggml.token_type': types,
      'tokenizer.ggml.bos_token_id': 1,
      'tokenizer.ggml.eos_token_id': 2,
      'tokenizer.ggml.unknown_token_id': 0,
      'tokenizer.ggml.add_bos_token': false,
    },
    metadataTypes: {
      'tokenizer.ggml.tokens': 'array<string>',
      'tokenizer.ggml.scores': 'array<float32>',
      'tokenizer.ggml.token_type': 'array<int32>',
      'tokenizer.ggml.bos_token_id': 'uint32',
      'tokenizer.ggml.eos_token_id': 'uint32',
      'tokenizer.ggml.unknown_token_id': 'uint32',
      'tokenizer.ggml.add_bos_token': 'bool',
    },
  };
}
