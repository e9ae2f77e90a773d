// Makes a chat-formatted fine-tuning set from the public-domain King James text committed in
// examples/data, in the shape the shipped model was trained on (a verse as the user's turn, the
// next verse as the assistant's), but with the assistant's verse in plainer modern English
// (thou/thee/ye -> you, hath -> has, unto -> to, saith -> says, -eth verbs...), rewritten here by
// fixed word rules: fine-tuning changes the style of the answers. Nothing is downloaded.
//   node examples/lora/make_data.mjs [--out examples/lora/data] [--train 1600] [--valid 100] [--test 100]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'examples/lora/data' },
    train: { type: 'string', default: '1600' },
    valid: { type: 'string', default: '100' },
    test: { type: 'string', default: '100' },
  },
});

/** Archaic word -> modern word (lower case; the first letter's case is kept). */
export const MODERN = {
  thou: 'you',
  thee: 'you',
  ye: 'you',
  thy: 'your',
  thine: 'your',
  thyself: 'yourself',
  hath: 'has',
  hast: 'have',
  art: 'are',
  doth: 'does',
  dost: 'do',
  shalt: 'shall',
  wilt: 'will',
  didst: 'did',
  canst: 'can',
  wast: 'were',
  wert: 'were',
  saith: 'says',
  spake: 'spoke',
  unto: 'to',
  begat: 'fathered',
  sware: 'swore',
  brake: 'broke',
  bare: 'bore',
  lest: 'in case',
  whither: 'where',
  hither: 'here',
  thither: 'there',
  wherefore: 'why',
  behold: 'look',
  yea: 'yes',
  nay: 'no',
  ere: 'before',
  goeth: 'goes',
  cometh: 'comes',
  giveth: 'gives',
  maketh: 'makes',
  taketh: 'takes',
  sayeth: 'says',
  knoweth: 'knows',
  loveth: 'loves',
  seeth: 'sees',
  heareth: 'hears',
  speaketh: 'speaks',
  dwelleth: 'dwells',
  liveth: 'lives',
  dieth: 'dies',
  eateth: 'eats',
  toucheth: 'touches',
  bringeth: 'brings',
  keepeth: 'keeps',
  doeth: 'does',
  sitteth: 'sits',
  lieth: 'lies',
  walketh: 'walks',
  hateth: 'hates',
  smiteth: 'strikes',
  smote: 'struck',
  slew: 'killed',
  sojourneth: 'stays',
  sojourned: 'stayed',
  commandeth: 'commands',
  offereth: 'offers',
  believeth: 'believes',
  ariseth: 'rises',
  remaineth: 'remains',
  turneth: 'turns',
  shewed: 'showed',
  shew: 'show',
  raiment: 'clothing',
  kine: 'cows',
  victuals: 'food',
};

/** A verse in plainer English, word by word. */
export function modernize(verse) {
  return verse.replace(/[A-Za-z]+/g, (w) => {
    const m = MODERN[w.toLowerCase()];
    if (!m) return w;
    return w[0] === w[0].toUpperCase() ? m[0].toUpperCase() + m.slice(1) : m;
  });
}

/** mulberry32: the same split on every machine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = gunzipSync(readFileSync(new URL('../data/kjv_pentateuch.txt.gz', import.meta.url))).toString('utf8');
  const all = text.split('\n').filter((v) => v.length > 0);
  // (verse, next verse) pairs whose answer changes
  const pairs = [];
  for (let i = 0; i + 1 < all.length; i++)
    if (all[i].length < 200 && all[i + 1].length < 200 && modernize(all[i + 1]) !== all[i + 1]) pairs.push([all[i], all[i + 1]]);
  const verses = pairs;
  const r = rng(1611);
  for (let i = verses.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [verses[i], verses[j]] = [verses[j], verses[i]];
  }
  const n = { valid: +values.valid, test: +values.test, train: +values.train };
  const split = {
    valid: verses.slice(0, n.valid),
    test: verses.slice(n.valid, n.valid + n.test),
    train: verses.slice(n.valid + n.test, n.valid + n.test + n.train),
  };
  mkdirSync(values.out, { recursive: true });
  for (const [name, vs] of Object.entries(split)) {
    const lines = vs.map(([q, a]) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: q },
          { role: 'assistant', content: modernize(a) },
        ],
      }),
    );
    writeFileSync(`${values.out}/${name}.jsonl`, lines.join('\n') + '\n');
  }
  console.log(
    `${verses.length} verse pairs whose answer changes; wrote ${split.train.length} train, ${split.valid.length} valid, ${split.test.length} test examples to ${values.out}`,
  );
}
