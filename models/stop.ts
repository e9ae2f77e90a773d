// Stop strings over streamed text: text that could still become a stop string is held back, so
// the stop text itself is never emitted and nothing before it is emitted twice or lost.

/** Streams text pieces through; `push` returns what is safe to emit and whether a stop matched. */
export class StopMatcher {
  readonly stops: readonly string[];
  #held = '';
  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /**
   * Adds a piece of text. Returns the text that can be emitted now; `stopped` when a stop string
   * appeared (the returned text then ends right before it).
   * @example
   * const m = new StopMatcher(['\n\n']);
   * m.push('a\n').text  // 'a' (the '\n' may start a stop)
   * m.push('\nb')       // { text: '', stopped: true }
   */
  push(piece: string): { text: string; stopped: boolean } {
    const s = this.#held + piece;
    if (this.stops.length === 0) return { text: s, stopped: false };
    let cut = -1;
    for (const stop of this.stops) {
      const i = s.indexOf(stop);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.#held = '';
      return { text: s.slice(0, cut), stopped: true };
    }
    // hold back the longest suffix of s that is a proper prefix of some stop string
    let hold = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, s.length); k > hold; k--) {
        if (s.endsWith(stop.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    this.#held = s.slice(s.length - hold);
    return { text: s.slice(0, s.length - hold), stopped: false };
  }

  /** The end of the stream: adds the last piece and releases whatever was held back. */
  flush(piece = ''): { text: string; stopped: boolean } {
    const r = this.push(piece);
    if (r.stopped) return r;
    const rest = this.#held;
    this.#held = '';
    return { text: r.text + rest, stopped: false };
  }
}
