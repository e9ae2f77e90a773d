// A real server on loopback for the serve tests: the shipped kjv model (or another folder), an
// ephemeral port, and the official openai client pointed at it.
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import * as kn from '../../index.js';

export const KJV = new URL('../../examples/models/kjv-llama-5m', import.meta.url).pathname;

type Loaded = Awaited<ReturnType<typeof kn.models.load>>;
const loaded = new Map<string, Promise<Loaded>>();

/** Loads a model folder once per test file. */
export function loadOnce(path: string): Promise<Loaded> {
  if (!loaded.has(path)) loaded.set(path, kn.models.load(path));
  return loaded.get(path)!;
}

export interface Running {
  server: kn.models.KilnServer;
  url: string;
  client: OpenAI;
  model: Loaded['model'];
  tokenizer: Loaded['tokenizer'];
  close(): Promise<void>;
}

/** Starts createServer on 127.0.0.1 with an ephemeral port. */
export async function startServer(opts: Partial<kn.models.ServerOptions> & { path?: string } = {}): Promise<Running> {
  const { path = KJV, ...rest } = opts;
  const { model, tokenizer } = await loadOnce(path);
  const server = kn.models.createServer({ model, tokenizer, modelId: 'test-model', ...rest });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: typeof rest.apiKey === 'string' ? rest.apiKey : 'unused', maxRetries: 0, timeout: 60_000 });
  return { server, url, client, model, tokenizer, close: () => server.drain(5_000) };
}

/** A raw POST with a JSON (or given) body; returns the status, headers and parsed body. */
export async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, headers: r.headers, json: json as Record<string, any>, text };
}

/** A Prometheus sample value from /metrics text (labels as written, e.g. 'endpoint="/v1/completions",status="200"'). */
export function metric(text: string, name: string, labels = ''): number {
  const key = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(key));
  return line ? Number(line.slice(key.length)) : 0;
}

/** Greedy reference through the plain (unpaged) generation path. */
export async function reference(model: Loaded['model'], tokenizer: Loaded['tokenizer'], ids: number[], maxTokens: number): Promise<string> {
  return kn.models.generate(model, tokenizer, ids, { maxTokens });
}
