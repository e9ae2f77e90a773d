// kiln serve as a user runs it: --help, one-line flag errors, and a real server process on
// loopback that needs its API key and, on SIGTERM, finishes the running stream and exits 0.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { parseKvBudget } from '../../cli/serve.js';
import { KJV } from './helpers.js';

const KILN = fileURLToPath(new URL('../../cli/kiln.mjs', import.meta.url));
const kiln = (args: string[]) => {
  const r = spawnSync(process.execPath, [KILN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('kiln serve flags', () => {
  it('--help lists the flags', () => {
    const r = kiln(['serve', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--host', '--port', '--max-concurrency', '--max-queue', '--max-tokens', '--api-key', '--allowed-origins', '--kv-budget', '--adapter-path'])
      expect(r.out).toContain(f);
    expect(r.out).toContain('default 127.0.0.1');
  });

  it.each([
    [['serve'], /^kiln serve: --model is required/],
    [['serve', '--model', KJV, '--kv-budget', 'lots'], /^kiln serve: --kv-budget must be bytes .* got 'lots'/],
  ])('%j is a usage error', (args, msg) => {
    const r = kiln(args as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg as RegExp);
  });

  it('--kv-budget takes bytes, units and a share of memory', () => {
    expect(parseKvBudget('1048576')).toBe(2 ** 20);
    expect(parseKvBudget('512MB')).toBe(512e6);
    expect(parseKvBudget('2GiB')).toBe(2 * 2 ** 30);
    expect(parseKvBudget('10%', 1000)).toBe(100);
    expect(() => parseKvBudget('95%')).toThrow('--kv-budget percentage must be in (0, 90], got 95%');
  });
});

describe('kiln serve process', () => {
  it('listens on loopback, requires the key, and drains on SIGTERM: the running stream completes, exit 0', async () => {
    const p = spawn(process.execPath, [KILN, 'serve', '--model', KJV, '--port', '0', '--api-key', 'k3y', '--model-name', 'kjv'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      p.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(err);
        if (m) resolve(m[1]);
      });
      p.on('exit', () => reject(new Error(`kiln serve exited: ${err}`)));
    });
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    const unauth = await fetch(url + '/v1/models');
    expect(unauth.status).toBe(401);
    const client = new OpenAI({ baseURL: url + '/v1', apiKey: 'k3y', maxRetries: 0 });
    const stream = await client.completions.create({
      model: 'kjv',
      prompt: 'And God said',
      max_tokens: 40,
      temperature: 0,
      stream: true,
      logit_bias: { 2043: -100, 2047: -100 },
    });
    let text = '',
      n = 0,
      finish = null;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
      if (++n === 2) p.kill('SIGTERM');
    }
    expect(finish).toBe('length');
    expect(text.length).toBeGreaterThan(20);
    expect(await exited).toBe(0);
    expect(err).toMatch(/SIGTERM: draining/);
    expect(err).toMatch(/kiln serve: stopped/);
  }, 120_000);
});
