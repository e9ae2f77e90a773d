// StopMatcher: stop strings over streamed pieces, checked on hand-made piece sequences.
import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../../models/stop.js';

/** Feeds pieces, returns the emitted text and whether it stopped. */
function feed(stops: string[], pieces: string[]): { text: string; stopped: boolean } {
  const m = new StopMatcher(stops);
  let text = '';
  for (const p of pieces) {
    const r = m.push(p);
    text += r.text;
    if (r.stopped) return { text, stopped: true };
  }
  const f = m.flush();
  return { text: text + f.text, stopped: f.stopped };
}

describe('StopMatcher', () => {
  it('passes text through when there are no stops', () => {
    expect(feed([], ['a', 'b'])).toEqual({ text: 'ab', stopped: false });
  });
  it('stops before a stop string split over several pieces', () => {
    expect(feed(['END'], ['hello E', 'N', 'D more'])).toEqual({ text: 'hello ', stopped: true });
  });
  it('holds back a possible start and releases it when it is not a stop', () => {
    const m = new StopMatcher(['\n\n']);
    expect(m.push('a\n')).toEqual({ text: 'a', stopped: false });
    expect(m.push('b')).toEqual({ text: '\nb', stopped: false });
    expect(m.push('\n')).toEqual({ text: '', stopped: false });
    expect(m.flush()).toEqual({ text: '\n', stopped: false });
  });
  it('the earliest of several stops wins', () => {
    expect(feed(['cd', 'bc'], ['abcd'])).toEqual({ text: 'a', stopped: true });
  });
  it('a stop inside one piece', () => {
    expect(feed(['x'], ['abxcd'])).toEqual({ text: 'ab', stopped: true });
  });
  it('overlapping prefixes: "aab" after "aa" pieces', () => {
    expect(feed(['aab'], ['a', 'a', 'a', 'b', 'c'])).toEqual({ text: 'a', stopped: true });
  });
  it('a stop completed by the final flush piece', () => {
    const m = new StopMatcher(['!?']);
    expect(m.push('hi!')).toEqual({ text: 'hi', stopped: false });
    expect(m.flush('?')).toEqual({ text: '', stopped: true });
  });
  it('empty stop strings are ignored', () => {
    expect(feed([''], ['ab'])).toEqual({ text: 'ab', stopped: false });
  });
});
