// Prefix reuse: a radix tree whose edges are full KV blocks (blockSize tokens each). A path from
// the root spells a token prefix; its nodes own the blocks holding that prefix's keys and values.
// Sequences reference the nodes they read (refs); a node no sequence reads stays cached until the
// pool needs its block, and then the least recently used leaf goes first.

/** One cached block: the tokens it holds (after its parent's), its block id and its readers. */
export interface PrefixNode {
  readonly key: string;
  readonly block: number;
  readonly parent: PrefixNode | null;
  readonly children: Map<string, PrefixNode>;
  refs: number;
  lastUsed: number;
}

const keyOf = (tokens: readonly number[]): string => tokens.join(',');

/** The tree of shared blocks, with hit statistics for /metrics. */
export class PrefixCache {
  readonly blockSize: number;
  readonly #root: Map<string, PrefixNode> = new Map();
  #nodes = 0;
  #clock = 0;
  /** prompt tokens looked up / found cached */
  queriedTokens = 0;
  hitTokens = 0;

  constructor(blockSize: number) {
    this.blockSize = blockSize;
  }

  /** Blocks the tree holds (read or not). */
  get size(): number {
    return this.#nodes;
  }

  /**
   * The longest cached prefix of `tokens`, at most `maxBlocks` blocks, each node acquired (refs + 1).
   * @example
   * const c = new PrefixCache(2);
   * const a = c.insert(null, [1, 2], 7).node;
   * c.release(a);
   * c.match([1, 2, 3], 1).map((n) => n.block) // [7]
   */
  match(tokens: readonly number[], maxBlocks: number): PrefixNode[] {
    const out: PrefixNode[] = [];
    let level = this.#root;
    const t = ++this.#clock;
    for (let i = 0; i < maxBlocks; i++) {
      const node = level.get(keyOf(tokens.slice(i * this.blockSize, (i + 1) * this.blockSize)));
      if (!node) break;
      node.refs++;
      node.lastUsed = t;
      out.push(node);
      level = node.children;
    }
    return out;
  }

  /** Counts a lookup of `queried` prompt tokens of which `hit` were cached. */
  record(queried: number, hit: number): void {
    this.queriedTokens += queried;
    this.hitTokens += hit;
  }

  /**
   * Adds the full block `tokens` (blockSize ids) under `parent` held in `block`, acquired by the
   * caller. When the same tokens are cached already, that node is acquired instead and `dup` is
   * true: the caller then frees its own block and reads the cached one.
   */
  insert(parent: PrefixNode | null, tokens: readonly number[], block: number): { node: PrefixNode; dup: boolean } {
    if (tokens.length !== this.blockSize) throw new Error(`[serve] a prefix-cache block holds ${this.blockSize} tokens, got ${tokens.length}`);
    const level = parent ? parent.children : this.#root;
    const key = keyOf(tokens);
    const t = ++this.#clock;
    const have = level.get(key);
    if (have) {
      have.refs++;
      have.lastUsed = t;
      return { node: have, dup: have.block !== block };
    }
    const node: PrefixNode = { key, block, parent, children: new Map(), refs: 1, lastUsed: t };
    level.set(key, node);
    this.#nodes++;
    return { node, dup: false };
  }

  /** One reader less (the node stays cached). */
  release(node: PrefixNode): void {
    if (node.refs <= 0) throw new Error(`[serve] prefix-cache block ${node.block} released more often than acquired`);
    node.refs--;
    node.lastUsed = ++this.#clock;
  }

  #leaves(): PrefixNode[] {
    const out: PrefixNode[] = [];
    const walk = (m: Map<string, PrefixNode>) => {
      for (const n of m.values()) {
        if (n.children.size === 0) {
          if (n.refs === 0) out.push(n);
        } else walk(n.children);
      }
    };
    walk(this.#root);
    return out;
  }

  /** Blocks that eviction could free now (nodes nobody reads, whose subtrees nobody reads). */
  evictableCount(): number {
    let count = 0;
    const walk = (m: Map<string, PrefixNode>): boolean => {
      let allFree = true;
      for (const n of m.values()) {
        const sub = walk(n.children);
        if (sub && n.refs === 0) count++;
        else allFree = false;
      }
      return allFree;
    };
    walk(this.#root);
    return count;
  }

  /** Drops the least recently used unread leaf; returns its block id (now the caller's), or null. */
  evict(): number | null {
    let best: PrefixNode | null = null;
    for (const n of this.#leaves()) if (!best || n.lastUsed < best.lastUsed) best = n;
    if (!best) return null;
    (best.parent ? best.parent.children : this.#root).delete(best.key);
    this.#nodes--;
    return best.block;
  }

  /** Blocks read by at least one sequence. */
  readBlocks(): number {
    let count = 0;
    const walk = (m: Map<string, PrefixNode>) => {
      for (const n of m.values()) {
        if (n.refs > 0) count++;
        walk(n.children);
      }
    };
    walk(this.#root);
    return count;
  }
}
