// Prefix reuse: the radix tree of full KV blocks (match, insert, refcounts, LRU eviction of unread
// leaves), and through the server: requests sharing a system prompt reuse its blocks (usage
// cached_tokens, /metrics hit rate) and answer exactly as without the cache.
import { describe, expect, it } from 'vitest';
import { BlockPool } from '../../models/serve/block_pool.js';
import { PrefixCache } from '../../models/serve/prefix_cache.js';
import { metric, post, startServer } from './helpers.js';

describe('PrefixCache', () => {
  it('matches whole blocks along a path, at most maxBlocks, and counts readers', () => {
    const c = new PrefixCache(2);
    const a = c.insert(null, [1, 2], 10).node;
    const b = c.insert(a, [3, 4], 11).node;
    c.insert(a, [3, 5], 12);
    expect(c.size).toBe(3);
    expect(c.match([1, 2, 3, 4, 9], 5).map((n) => n.block)).toEqual([10, 11]);
    expect(c.match([1, 2, 3, 4], 1).map((n) => n.block)).toEqual([10]);
    expect(c.match([2, 1], 4)).toEqual([]);
    expect(a.refs).toBe(3); // the inserting reader and two matches
    expect(b.refs).toBe(2);
  });

  it('a duplicate insert hands back the cached node (dup) so the caller frees its own block', () => {
    const c = new PrefixCache(2);
    const first = c.insert(null, [7, 7], 3);
    const again = c.insert(null, [7, 7], 4);
    expect(again).toEqual({ node: first.node, dup: true });
    expect(first.node.refs).toBe(2);
  });

  it('evicts only unread leaves, least recently used first; a parent goes after its children', () => {
    const c = new PrefixCache(1);
    const a = c.insert(null, [1], 0).node;
    const b = c.insert(a, [2], 1).node;
    const d = c.insert(null, [9], 2).node;
    expect(c.evict()).toBe(null); // everything is read
    c.release(d);
    c.release(b);
    c.release(a);
    expect(c.evictableCount()).toBe(3);
    // d was released before b: least recently used
    expect(c.evict()).toBe(2);
    expect(c.evict()).toBe(1); // b, a leaf now
    expect(c.evict()).toBe(0);
    expect(c.evict()).toBe(null);
    expect(c.size).toBe(0);
  });

  it('refuses a wrong block length and an extra release', () => {
    const c = new PrefixCache(2);
    expect(() => c.insert(null, [1], 0)).toThrow('[serve] a prefix-cache block holds 2 tokens, got 1');
    const n = c.insert(null, [1, 2], 0).node;
    c.release(n);
    expect(() => c.release(n)).toThrow(/released more often than acquired/);
  });
});

describe('BlockPool', () => {
  it('hands out each block once and refuses a double free', () => {
    const p = new BlockPool(3, 16);
    expect([p.alloc(), p.alloc(), p.alloc(), p.alloc()]).toEqual([0, 1, 2, null]);
    p.release(1);
    expect(p.freeCount).toBe(1);
    expect(() => p.release(1)).toThrow('[serve] block 1 released twice');
    expect(() => new BlockPool(0, 16)).toThrow(/at least one block/);
  });
});

describe('prefix reuse through the server', () => {
  it('a shared system prompt is computed once; later requests read its blocks and answer as without the cache', async () => {
    const system = 'And the LORD spake unto Moses, saying, Speak unto the children of Israel, and say unto them. '.repeat(3);
    const ask = (url: string, q: string) =>
      post(url, '/v1/chat/completions', {
        model: 'test-model',
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: q },
        ],
        max_tokens: 6,
        temperature: 0,
      });
    const qs = ['Who made the heaven?', 'What is the law?', 'Where is Zion?'];
    const on = await startServer();
    const off = await startServer({ prefixCache: false });
    try {
      const withCache = [];
      for (const q of qs) withCache.push((await ask(on.url, q)).json);
      const cached = withCache.map((r) => r.usage.prompt_tokens_details.cached_tokens);
      expect(cached[0]).toBe(0);
      expect(cached[1]).toBeGreaterThanOrEqual(64);
      expect(cached[1] % 16).toBe(0);
      expect(cached[2]).toBe(cached[1]);
      for (let i = 0; i < qs.length; i++) expect(withCache[i].choices[0].message.content).toBe((await ask(off.url, qs[i])).json.choices[0].message.content);
      const m = await (await fetch(on.url + '/metrics')).text();
      expect(metric(m, 'kiln_prefix_cache_hit_tokens_total')).toBe(cached[1] + cached[2]);
      expect(metric(m, 'kiln_prefix_cache_hit_rate')).toBeGreaterThan(0.3);
      expect(metric(m, 'kiln_kv_blocks_used')).toBe(0);
      expect(metric(m, 'kiln_kv_blocks_cached')).toBeGreaterThan(0);
    } finally {
      await on.close();
      await off.close();
    }
  });
});
