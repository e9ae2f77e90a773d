// /metrics in the Prometheus text format (version 0.0.4): request counters by endpoint and
// status, token counters, and the scheduler's gauges (queue, batch, KV blocks, prefix hits).
import type { EngineStats } from './engine.js';

/** Request counters kept by the HTTP layer. */
export class RequestCounters {
  /** `${endpoint} ${status}` -> count */
  readonly byStatus = new Map<string, number>();
  cancelled = 0;
  rejectedQueueFull = 0;
  completedSequences = 0;

  count(endpoint: string, status: number): void {
    const k = `${endpoint} ${status}`;
    this.byStatus.set(k, (this.byStatus.get(k) ?? 0) + 1);
  }

  /** Requests answered with `status` (all endpoints when none is given). */
  total(status?: number, endpoint?: string): number {
    let s = 0;
    for (const [k, v] of this.byStatus) {
      const [e, st] = k.split(' ');
      if ((status === undefined || Number(st) === status) && (endpoint === undefined || e === endpoint)) s += v;
    }
    return s;
  }
}

const line = (name: string, value: number, labels = ''): string => `${name}${labels ? `{${labels}}` : ''} ${Number.isFinite(value) ? value : 0}\n`;

/** The exposition text. */
export function renderMetrics(r: RequestCounters, e: EngineStats, memoryActive: number): string {
  let s = '';
  const head = (name: string, type: string, help: string) => (s += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
  head('kiln_requests_total', 'counter', 'HTTP requests answered, by endpoint and status code.');
  for (const [k, v] of [...r.byStatus].sort()) {
    const [endpoint, status] = k.split(' ');
    s += line('kiln_requests_total', v, `endpoint="${endpoint}",status="${status}"`);
  }
  head('kiln_requests_cancelled_total', 'counter', 'Requests whose client went away before the end.');
  s += line('kiln_requests_cancelled_total', r.cancelled);
  head('kiln_requests_rejected_queue_full_total', 'counter', 'Requests refused with 429 (queue over --max-queue).');
  s += line('kiln_requests_rejected_queue_full_total', r.rejectedQueueFull);
  head('kiln_sequences_completed_total', 'counter', 'Generated sequences (choices) that ran to a finish reason.');
  s += line('kiln_sequences_completed_total', r.completedSequences);
  head('kiln_prompt_tokens_total', 'counter', 'Prompt tokens prefilled (prefix-cache hits excluded).');
  s += line('kiln_prompt_tokens_total', e.promptTokens);
  head('kiln_generation_tokens_total', 'counter', 'Tokens generated.');
  s += line('kiln_generation_tokens_total', e.generationTokens);
  head('kiln_queue_depth', 'gauge', 'Sequences waiting for a batch slot.');
  s += line('kiln_queue_depth', e.waiting);
  head('kiln_running_sequences', 'gauge', 'Sequences in the running batch.');
  s += line('kiln_running_sequences', e.running);
  head('kiln_batch_size', 'gauge', 'Sequences in the last step.');
  s += line('kiln_batch_size', e.lastBatchSize);
  head('kiln_batch_size_mean', 'gauge', 'Mean sequences per step since start.');
  s += line('kiln_batch_size_mean', e.steps ? e.batchSizeSum / e.steps : 0);
  head('kiln_steps_total', 'counter', 'Model steps run.');
  s += line('kiln_steps_total', e.steps);
  head('kiln_preemptions_total', 'counter', 'Running sequences preempted for KV blocks.');
  s += line('kiln_preemptions_total', e.preemptions);
  head('kiln_kv_blocks_total', 'gauge', 'Blocks in the paged KV pool.');
  s += line('kiln_kv_blocks_total', e.blocksTotal);
  head('kiln_kv_blocks_used', 'gauge', 'Blocks read by running sequences.');
  s += line('kiln_kv_blocks_used', e.blocksUsed);
  head('kiln_kv_blocks_cached', 'gauge', 'Prefix-cache blocks nobody reads now (evictable).');
  s += line('kiln_kv_blocks_cached', e.blocksCached);
  head('kiln_kv_blocks_free', 'gauge', 'Blocks on the free list.');
  s += line('kiln_kv_blocks_free', e.blocksFree);
  head('kiln_prefix_cache_queried_tokens_total', 'counter', 'Prompt tokens looked up in the prefix cache.');
  s += line('kiln_prefix_cache_queried_tokens_total', e.prefixQueriedTokens);
  head('kiln_prefix_cache_hit_tokens_total', 'counter', 'Prompt tokens found in the prefix cache.');
  s += line('kiln_prefix_cache_hit_tokens_total', e.prefixHitTokens);
  head('kiln_prefix_cache_hit_rate', 'gauge', 'Hit tokens / queried tokens.');
  s += line('kiln_prefix_cache_hit_rate', e.prefixQueriedTokens ? e.prefixHitTokens / e.prefixQueriedTokens : 0);
  head('kiln_memory_active_bytes', 'gauge', 'Native bytes held by live arrays (kn.memory.active()).');
  s += line('kiln_memory_active_bytes', memoryActive);
  return s;
}
