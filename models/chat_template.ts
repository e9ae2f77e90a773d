// Chat templates: the Jinja template of a model folder rendered with the variables transformers'
// apply_chat_template passes (messages, tools, documents, add_generation_prompt, the special token
// strings, extra keyword arguments; raise_exception and strftime_now come with @huggingface/jinja).
// The template runs in that library's interpreter: nothing in a model folder is executed as code.
import { Template } from '@huggingface/jinja';

/** A chat message; `content` is usually a string, tool calls and other fields pass through to the template. */
export interface ChatMessage {
  role: string;
  content?: unknown;
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** append the header of an assistant turn (default false) */
  addGenerationPrompt?: boolean;
  /** function schemas for templates with tool use (`tools` in the template; `none` when absent) */
  tools?: object[] | null;
  /** retrieval documents (`documents` in the template) */
  documents?: object[] | null;
  /** end the text right after the last message's content so the model continues it (default false) */
  continueFinalMessage?: boolean;
  /** more template variables, as transformers' `**kwargs` (e.g. `{ enable_thinking: false }`) */
  templateArgs?: Record<string, unknown>;
}

const cache = new Map<string, Template>();

function compile(source: string): Template {
  let t = cache.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new Error(`[models] chat template does not parse: ${(e as Error).message}`);
    }
    if (cache.size >= 16) cache.delete(cache.keys().next().value as string);
    cache.set(source, t);
  }
  return t;
}

/**
 * tokenizer_config.json's chat_template: a string, or a list of named templates `[{name, template}]`
 * of which transformers uses "default". `undefined` when absent.
 * @example kn.models.pickChatTemplate([{ name: 'default', template: 'A' }, { name: 'tool_use', template: 'B' }], 'cfg') // 'A'
 */
export function pickChatTemplate(v: unknown, source: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = new Map<string, string>();
    for (const e of v) {
      const ok =
        e !== null && typeof e === 'object' && typeof (e as { name?: unknown }).name === 'string' && typeof (e as { template?: unknown }).template === 'string';
      if (!ok) throw new Error(`[models] ${source}: chat_template list entries must be {name, template}, got ${JSON.stringify(e).slice(0, 120)}`);
      named.set((e as { name: string }).name, (e as { template: string }).template);
    }
    const d = named.get('default');
    if (d === undefined) throw new Error(`[models] ${source}: chat_template lists ${[...named.keys()].join(', ')} but no "default"`);
    return d;
  }
  throw new Error(`[models] ${source}: chat_template must be a string or a list of {name, template}, got ${typeof v}`);
}

function checkMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new TypeError(`[models] applyChatTemplate: messages must be an array of {role, content}, got ${typeof messages}`);
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string')
      throw new TypeError(`[models] applyChatTemplate: messages[${i}] must be an object with a string role, got ${JSON.stringify(m)?.slice(0, 80)}`);
  });
}

/** Cuts the text right after the final message's content (transformers' continue_final_message). */
function cutAfterFinal(text: string, messages: ChatMessage[]): string {
  const last = messages[messages.length - 1]?.content;
  if (typeof last !== 'string') throw new Error('[models] applyChatTemplate: continueFinalMessage needs a final message with string content');
  const core = last.trim();
  const at = text.lastIndexOf(core);
  if (core === '' || at < 0)
    throw new Error('[models] applyChatTemplate: continueFinalMessage: the final message content does not appear in the rendered text');
  const lead = last.trimStart();
  return text.slice(0, at + (text.startsWith(lead, at) ? lead.length : core.length));
}

/**
 * Renders a chat template as transformers' `apply_chat_template(..., tokenize=False)` does.
 * @example
 * const t = '{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}{% if add_generation_prompt %} [assistant]{% endif %}';
 * kn.models.applyChatTemplate(t, [{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }) // '[user] Hi [assistant]'
 */
export function applyChatTemplate(
  template: string,
  messages: ChatMessage[],
  opts: ChatTemplateOptions & { specialTokens?: Record<string, string> } = {},
): string {
  checkMessages(messages);
  if (opts.continueFinalMessage && opts.addGenerationPrompt)
    throw new Error('[models] applyChatTemplate: addGenerationPrompt and continueFinalMessage cannot both be set');
  const t = compile(template);
  const vars: Record<string, unknown> = {
    ...(opts.specialTokens ?? {}),
    ...(opts.templateArgs ?? {}),
    messages,
    tools: opts.tools ?? null,
    documents: opts.documents ?? null,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
  };
  let text: string;
  try {
    text = t.render(vars);
  } catch (e) {
    throw new Error(`[models] chat template failed: ${(e as Error).message}`);
  }
  return opts.continueFinalMessage ? cutAfterFinal(text, messages) : text;
}
