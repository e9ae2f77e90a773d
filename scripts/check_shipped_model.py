"""Checks the shipped model folder in transformers and writes the reference fixture for kiln's test.

Run on the GPU machine (it has torch and transformers 5), from the repository root:
    python3 scripts/check_shipped_model.py examples/models/kjv-llama-5m \
        tests/fixtures/shipped_model_ids.json $OUT/shipped_model_logits.json

- LlamaForCausalLM.from_pretrained must load the folder with no missing, unexpected or mismatched keys;
- AutoTokenizer must give the ids that our BPE encoder gave (shipped_model_ids.json, written by
  tests/fixtures/make_shipped_model_ids.mjs), and render the chat template to the same text;
- the output fixture holds float32 logits (computed on the CPU, weights upcast from bfloat16) for the
  prompts and a 32-token greedy continuation, which tests/models/shipped_model.test.ts compares with kiln.
"""
import json
import sys

import torch
import transformers
from transformers import AutoTokenizer, LlamaForCausalLM


def main(folder, ids_path, out_path):
    expected = json.load(open(ids_path))
    problems = []  # collected, so one run on the GPU machine reports everything

    def check(ok, message):
        if not ok:
            problems.append(message)

    model, info = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32, output_loading_info=True)
    model.eval()
    for k, v in info.items():
        check(not v, f"loading: {k} = {sorted(map(str, v))}")
    check(model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "lm_head is not tied to embed_tokens")
    tok = AutoTokenizer.from_pretrained(folder)

    hf_ids = []
    for case in expected["prompts"]:
        got = tok(case["text"])["input_ids"]
        hf_ids.append(got)
        check(got == case["ids"], f"ids differ for {case['text']!r}: transformers {got} ours {case['ids']}")
        back = tok.decode(got, skip_special_tokens=True)
        check(back == case["text"], f"decode differs for {case['text']!r}: {back!r}")
    chat = expected["chat"]
    rendered = tok.apply_chat_template(chat["messages"], tokenize=False, add_generation_prompt=True)
    check(rendered == chat["rendered"], f"chat template renders {rendered!r}, ours {chat['rendered']!r}")
    chat_ids = tok(rendered, add_special_tokens=False)["input_ids"]
    check(chat_ids == chat["ids"], f"chat ids differ: {chat_ids} vs {chat['ids']}")

    out = {
        "generated_by": "scripts/check_shipped_model.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "folder": folder,
        "loading_info": {k: sorted(map(str, v)) for k, v in info.items()},
        "prompts": [],
        "chat": {"rendered": rendered, "ids": chat_ids},
    }
    with torch.no_grad():
        for case, ids in zip(expected["prompts"], hf_ids):
            logits = model(torch.tensor([case["ids"]])).logits[0].float()
            out["prompts"].append({
                "text": case["text"],
                "ids": case["ids"],
                "transformers_ids": ids,
                "last_logits": [float(f"{x:.7g}") for x in logits[-1].tolist()],
                "argmax": logits.argmax(-1).tolist(),
            })
        # greedy continuation without a cache (a full forward each step), 32 tokens
        first = expected["prompts"][0]["ids"]
        seq = list(first)
        for _ in range(32):
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
        out["greedy"] = {"ids": first, "tokens": seq[len(first):], "text": tok.decode(seq[len(first):])}
        try:  # generate() with its KV cache stops at an EOS, so compare the common prefix
            gen = model.generate(torch.tensor([first]), max_new_tokens=32, do_sample=False)[0].tolist()[len(first):]
            check(gen == seq[len(first):][: len(gen)], f"generate() {gen} differs from the uncached greedy loop {seq[len(first):]}")
            out["greedy"]["generate"] = gen
        except Exception as e:  # noqa: BLE001 - report, keep the fixture
            problems.append(f"generate failed: {e!r}")
        bf = LlamaForCausalLM.from_pretrained(folder, dtype=torch.bfloat16)
        out["bfloat16_last_logits"] = [float(f"{x:.5g}") for x in bf(torch.tensor([first])).logits[0, -1].float().tolist()]
    out["problems"] = problems
    json.dump(out, open(out_path, "w"))
    print(json.dumps({"problems": problems, "loading_info": out["loading_info"], "greedy": out["greedy"]["text"],
                      "chat": rendered, "prompts": len(out["prompts"])}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:4])
