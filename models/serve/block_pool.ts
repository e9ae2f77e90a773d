// The free list of a paged KV pool: fixed-size blocks of `blockSize` token slots, handed out and
// returned by id. Which sequence or prefix-cache node holds a block is tracked by their owners.

/** Free block ids of a pool of `numBlocks` blocks (ids 0..numBlocks-1). */
export class BlockPool {
  readonly numBlocks: number;
  readonly blockSize: number;
  #free: number[];
  #isFree: Uint8Array;

  constructor(numBlocks: number, blockSize: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`[serve] the KV pool needs at least one block, got ${numBlocks}`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`[serve] blockSize must be an integer >= 1, got ${blockSize}`);
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    // low ids first, so a fresh pool hands out 0, 1, 2, ...
    this.#free = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
    this.#isFree = new Uint8Array(numBlocks).fill(1);
  }

  /** Blocks on the free list. */
  get freeCount(): number {
    return this.#free.length;
  }

  /** A free block id, or null when none is left. */
  alloc(): number | null {
    const b = this.#free.pop();
    if (b === undefined) return null;
    this.#isFree[b] = 0;
    return b;
  }

  /** Returns a block to the free list (a double free is a bug and throws). */
  release(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.numBlocks) throw new RangeError(`[serve] block id ${b} is outside the pool of ${this.numBlocks}`);
    if (this.#isFree[b]) throw new Error(`[serve] block ${b} released twice`);
    this.#isFree[b] = 1;
    this.#free.push(b);
  }
}
