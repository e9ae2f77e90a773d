// Chat templates rendered as transformers renders them: the real Llama-3 and Qwen3 templates (tools,
// tool calls and responses, reasoning content, enable_thinking) and our own [INST]-style and
// feature-exercising templates, against Jinja2 set up like transformers' apply_chat_template
// (fixtures from scripts/chat_template_fixtures.py); the tokenized form adds no second BOS; errors.
import { describe, expect, it } from 'vitest';
import { applyChatTemplate, pickChatTemplate } from '../../models/chat_template.js';
import { Tokenizer } from '../../models/tokenizer.js';
import { chatFixture, folderOf, inputs, NAMES, ownTemplate, readJson, tokenizer } from './tokenizer_fixtures.js';

const inp = inputs();
const conversations = { ...inp.conversations, ...inp.qwen_extra };

describe.each(NAMES)('%s chat templates', (name) => {
  const fx = chatFixture(name);

  it('every rendering equals the reference', async () => {
    if (name === 'qwen3') expect((await tokenizer(name)).chatTemplate).toBe(readJson(`${folderOf(name)}/tokenizer_config.json`).chat_template);
    const tok = await tokenizer(name);
    expect(fx.items.length).toBeGreaterThanOrEqual(20);
    for (const it of fx.items) {
      const where = `${it.template} ${it.conversation} gen=${it.add_generation_prompt} tools=${it.tools}`;
      const template = it.template === 'default' ? tok.chatTemplate! : ownTemplate(it.template);
      const opts = {
        addGenerationPrompt: it.add_generation_prompt,
        tools: it.tools ? inp.tools : null,
        templateArgs: it.extra,
        specialTokens: tok.specialTokens,
      };
      const render = () => applyChatTemplate(template, conversations[it.conversation], opts);
      if (typeof it.text === 'string') expect(render(), where).toBe(it.text);
      else expect(render, where).toThrow(it.text.error.replace(/^TemplateError: /, ''));
    }
  });
});

describe('tokenized chat', () => {
  it('the ids are the rendered text tokenized without adding BOS again', async () => {
    const l3 = await tokenizer('llama3');
    const msgs = inp.conversations.system_user;
    const text = l3.applyChatTemplate(msgs, { tokenize: false });
    expect(text.startsWith('<|begin_of_text|>')).toBe(true);
    const ids = l3.applyChatTemplate(msgs);
    expect(ids).toEqual(l3.encode(text, { addSpecialTokens: false }));
    expect(ids.filter((i) => i === 128000)).toEqual([128000]);
    // Mistral's tokenizer adds <s> on encode; our [INST] template writes it itself: one <s> only
    const mi = Tokenizer.fromJSON(readJson(`${folderOf('mistral')}/tokenizer.json`), (await tokenizer('mistral')).config, {
      chatTemplate: ownTemplate('mistral'),
    });
    const mids = mi.applyChatTemplate(inp.conversations.user, { tokenize: true });
    expect(mids[0]).toBe(1);
    expect(mids[1]).not.toBe(1);
    expect(mids.filter((i) => i === 1)).toEqual([1]);
  });

  it('Qwen3: generation prompt, enable_thinking false', async () => {
    const q = await tokenizer('qwen3');
    const msgs = [{ role: 'user', content: 'Hi' }];
    expect(q.applyChatTemplate(msgs, { tokenize: false, addGenerationPrompt: true })).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(q.applyChatTemplate(msgs, { tokenize: false, addGenerationPrompt: true, templateArgs: { enable_thinking: false } })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
    const ids = q.applyChatTemplate(msgs, { addGenerationPrompt: true });
    expect(ids.slice(0, 1)).toEqual([151644]);
    expect(q.decode(ids)).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('continueFinalMessage ends the text after the last message', async () => {
    const q = await tokenizer('qwen3');
    const msgs = [
      { role: 'user', content: 'Count' },
      { role: 'assistant', content: '1, 2,' },
    ];
    // Qwen3's template wraps the last assistant turn in an empty think block
    expect(q.applyChatTemplate(msgs, { tokenize: false, continueFinalMessage: true })).toBe(
      '<|im_start|>user\nCount<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n1, 2,',
    );
    expect(q.applyChatTemplate(msgs, { tokenize: false })).toBe(
      '<|im_start|>user\nCount<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n1, 2,<|im_end|>\n',
    );
    expect(() => q.applyChatTemplate(msgs, { tokenize: false, continueFinalMessage: true, addGenerationPrompt: true })).toThrow(
      /addGenerationPrompt and continueFinalMessage cannot both be set/,
    );
  });
});

describe('helpers and errors', () => {
  it('strftime_now and raise_exception are there', () => {
    const year = String(new Date().getFullYear());
    expect(applyChatTemplate("{{ strftime_now('%Y') }}", [])).toBe(year);
    expect(() => applyChatTemplate("{{ raise_exception('no system role, got ' + messages[0].role) }}", [{ role: 'system', content: '' }])).toThrow(
      '[models] chat template failed: no system role, got system',
    );
  });
  it('special tokens and extra variables reach the template; tools is none when absent', () => {
    const t = '{{ bos_token }}|{{ eos_token }}|{{ tools is none }}|{{ custom }}';
    expect(applyChatTemplate(t, [], { specialTokens: { bos_token: '<s>', eos_token: '</s>' }, templateArgs: { custom: 'x' } })).toBe('<s>|</s>|true|x');
  });
  it('a template that does not parse, bad messages', () => {
    expect(() => applyChatTemplate('{% for m in messages %}', [])).toThrow(/\[models\] chat template does not parse: /);
    expect(() => applyChatTemplate('x', 'hi' as never)).toThrow('[models] applyChatTemplate: messages must be an array of {role, content}, got string');
    expect(() => applyChatTemplate('x', [{ content: 'a' } as never])).toThrow(/messages\[0\] must be an object with a string role/);
  });
  it('pickChatTemplate', () => {
    expect(pickChatTemplate('A', 'cfg')).toBe('A');
    expect(pickChatTemplate(undefined, 'cfg')).toBe(undefined);
    expect(
      pickChatTemplate(
        [
          { name: 'rag', template: 'R' },
          { name: 'default', template: 'D' },
        ],
        'cfg',
      ),
    ).toBe('D');
    expect(() => pickChatTemplate(3, 'cfg.json')).toThrow('[models] cfg.json: chat_template must be a string or a list of {name, template}, got number');
    expect(() => pickChatTemplate([{ name: 'x' }], 'cfg.json')).toThrow(/entries must be \{name, template\}/);
  });
});
