// kiln lora: fine-tune a model with LoRA, DoRA or full fine-tuning (mlx-lm's `lora` flags), test
// an adapter, and convert adapters to Hugging Face PEFT. Progress goes to stderr: a cli-progress
// bar on a terminal, report lines otherwise.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CliError, gb, parse } from './args.js';
import { loadForCli } from './common.js';
import { flagOptions, mergeSettings, readConfigFile, type LoraSettings } from './lora_config.js';

export const LORA_HELP = `Usage: kiln lora --model M [--train] [--data DIR] [options]

Fine-tune a model with LoRA (or DoRA, or full fine-tuning of the last blocks). The data folder
holds train.jsonl, valid.jsonl and test.jsonl, one example a line: {"messages": [...]} (chat,
through the model's chat template), {"prompt", "completion"} or {"text"}. The adapter is written
to --adapter-path as adapters.safetensors + adapter_config.json (mlx-lm's layout), with numbered
checkpoints that --resume-adapter-file continues bit-identically. Ctrl-C saves and stops.

Options:
  --model PATH                  model folder, .gguf file or Hugging Face model id (required)
  --train                       train an adapter
  --test                        report the loss on test.jsonl (after training, or of --adapter-path)
  --data DIR                    folder with train/valid/test.jsonl (default data)
  --fine-tune-type T            lora, dora or full (default lora)
  --num-layers N                blocks to fine-tune, from the last; -1 all (default 16, or all when fewer)
  --lora-rank R                 adapter rank (default 8)
  --lora-scale S                adapter scale (default 20)
  --lora-dropout P              dropout on the adapter input (default 0)
  --lora-keys K1,K2             modules to adapt (q_proj,v_proj or self_attn.q_proj; default every Linear)
  --optimizer O                 adam, adamw, sgd or adafactor (default adam); options in the config file
  --learning-rate LR            peak learning rate (default 1e-5)
  --warmup N                    linear warm-up steps before a cosine decay to 0 (default 0: constant rate)
  --batch-size N                examples per batch (default 4)
  --iters N                     training iterations (default 1000)
  --grad-accumulation-steps N   micro-batches per update (default 1)
  --grad-checkpoint             recompute each block in the backward pass (less memory)
  --max-seq-length N            truncate longer examples (default 2048)
  --mask-prompt                 loss only on completions / the last assistant message
  --steps-per-report N          report every N iterations (default 10)
  --steps-per-eval N            validation loss every N iterations (default 200)
  --val-batches N               validation batches; -1 the whole set (default 25)
  --test-batches N              test batches; -1 the whole set (default 500)
  --save-every N                numbered checkpoint every N iterations (default 100)
  --adapter-path DIR            where adapters go (default adapters); without --train: an adapter
                                to test or export (mlx-lm layout or a PEFT folder)
  --resume-adapter-file FILE    start from these adapter weights (a checkpoint resumes exactly)
  --export-peft DIR             also write the adapter as a Hugging Face PEFT folder
  --seed S                      seed for data order, initialisation and dropout (default 0)
  --dtype D                     convert the base weights to float32, float16 or bfloat16
  -c, --config FILE             settings in YAML or JSON (mlx-lm's names: lora_parameters, lr_schedule, ...)
  -h, --help                    this help
`;

interface Bar {
  start(total: number, value: number, payload?: object): void;
  update(value: number, payload?: object): void;
  stop(): void;
}

function progressBar(total: number, start: number): Bar | null {
  if (!process.stderr.isTTY) return null;
  const cp = createRequire(import.meta.url)('cli-progress') as { SingleBar: new (o: object, p: object) => Bar; Presets: Record<string, object> };
  const bar = new cp.SingleBar(
    {
      format: 'Iter {value}/{total} [{bar}] loss {loss} | lr {lr} | {tps} tok/s | {its} it/s | peak {mem}',
      stream: process.stderr,
      hideCursor: true,
      barsize: 20,
    },
    cp.Presets.shades_classic,
  );
  bar.start(total, start, { loss: '-', lr: '-', tps: '-', its: '-', mem: '-' });
  return bar;
}

export async function loraCommand(argv: string[]): Promise<void> {
  const { values: v } = parse('lora', argv, flagOptions() as never);
  if (v.help) {
    process.stdout.write(LORA_HELP);
    return;
  }
  const cfgPath = typeof v.config === 'string' ? v.config : undefined;
  const file = cfgPath ? await readConfigFile(cfgPath) : {};
  const s = mergeSettings(file, v, cfgPath);
  if (!s.model) throw new CliError('--model is required (see kiln lora --help)');
  if (!s.train && !s.test && !s.export_peft) throw new CliError('nothing to do: pass --train, --test or --export-peft (see kiln lora --help)');
  await run(s);
}

async function run(s: LoraSettings): Promise<void> {
  const log = (m: string) => process.stderr.write(m + '\n');
  const { kn, model: lm, tokenizer } = await loadForCli(s.model as string, s.dtype as never);
  const model = lm as unknown as InstanceType<typeof kn.nn.Module>;
  const L = kn.models.lora;
  const adapterPath = s.adapter_path as string;
  let datasets;
  const needData = s.train || s.test;
  if (needData) {
    try {
      datasets = L.loadDatasets(s.data as string, tokenizer, { maskPrompt: s.mask_prompt as boolean, train: s.train as boolean, test: s.test as boolean });
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }
  const loraParameters = s.lora_parameters as { rank: number; scale: number; dropout: number; keys?: string[] | null };

  if (s.train) {
    kn.random.seed(s.seed as number);
    // mlx-lm's default of 16 blocks, or all of a smaller model
    s.num_layers ??= Math.min(16, L.blocksOf(model).length);
    let n;
    try {
      n = L.applyLoRA(model, {
        fineTuneType: s.fine_tune_type as never,
        numLayers: s.num_layers as number,
        loraParameters,
        key: kn.random.key(s.seed as number),
      });
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const params = kn.tree.flatten<InstanceType<typeof kn.Array>>(model.trainableParameters());
    const total = kn.tree.flatten<InstanceType<typeof kn.Array>>(model.parameters()).reduce((a, [, p]) => a + p.size, 0);
    const trainable = params.reduce((a, [, p]) => a + p.size, 0);
    kn.eval(model.parameters());
    log(
      `${s.fine_tune_type === 'full' ? `${n} blocks unfrozen` : `${n} layers adapted`}; trainable parameters: ${((trainable / total) * 100).toFixed(3)}% (${(trainable / 1e6).toFixed(3)}M/${(total / 1e6).toFixed(3)}M)`,
    );
    mkdirSync(adapterPath, { recursive: true });
    const config = { ...s, fine_tune_type: s.fine_tune_type, num_layers: s.num_layers, lora_parameters: loraParameters };
    writeFileSync(join(adapterPath, L.ADAPTER_CONFIG), JSON.stringify(config, null, 4) + '\n');
    const opt = makeOptimizer(kn, s);
    let start = 0,
      trainedTokens = 0;
    if (s.resume_adapter_file) {
      const f = s.resume_adapter_file as string;
      if (!existsSync(f)) throw new CliError(`--resume-adapter-file ${f} does not exist`);
      const r = L.resumeFrom(model, opt, f);
      start = r.iteration;
      trainedTokens = r.trainedTokens;
      log(r.optimizer ? `Resuming at iteration ${start} from ${f} (optimizer state and data order restored)` : `Starting from the adapter weights in ${f}`);
    }
    const { train, valid } = datasets!;
    log(
      `Training on ${train!.examples.length} examples (${train!.format}${s.mask_prompt ? ', prompt masked' : ''}), validating on ${valid?.examples.length ?? 0}`,
    );
    const bar = progressBar(s.iters as number, start);
    let stop = false;
    const onInt = () => {
      if (stop) process.exit(130);
      stop = true;
      (bar ? bar.stop : () => {})();
      log('\nInterrupted: saving the adapter (Ctrl-C again to quit without saving)');
    };
    process.on('SIGINT', onInt);
    const say = (m: string) => (bar ? (bar.stop(), log(m), bar.start(s.iters as number, lastIt, lastPayload)) : log(m));
    let lastIt = start,
      lastPayload: object = {};
    try {
      const r = await L.train(model, opt, train!.examples, valid?.examples ?? null, {
        batchSize: s.batch_size as number,
        iters: s.iters as number,
        gradAccumulationSteps: s.grad_accumulation_steps as number,
        gradCheckpoint: s.grad_checkpoint as boolean,
        maxSeqLength: s.max_seq_length as number,
        stepsPerReport: s.steps_per_report as number,
        stepsPerEval: s.steps_per_eval as number,
        valBatches: s.val_batches as number,
        saveEvery: s.save_every as number,
        adapterPath,
        seed: s.seed as number,
        eager: s.eager as boolean,
        startIteration: start,
        trainedTokens,
        shouldStop: () => stop,
        onWarn: (m) => say(`warning: ${m}`),
        onIteration: (it) => {
          lastIt = it;
          bar?.update(it, lastPayload);
        },
        onReport: (x) => {
          lastPayload = {
            loss: x.trainLoss.toFixed(3),
            lr: x.learningRate.toExponential(2),
            tps: x.tokensPerSec.toFixed(0),
            its: x.itPerSec.toFixed(2),
            mem: gb(x.peakMemory),
          };
          const line = `Iter ${x.iteration}: Train loss ${x.trainLoss.toFixed(3)}, Learning Rate ${x.learningRate.toExponential(3)}, It/sec ${x.itPerSec.toFixed(3)}, Tokens/sec ${x.tokensPerSec.toFixed(3)}, Trained Tokens ${x.trainedTokens}, Peak mem ${gb(x.peakMemory)}`;
          if (bar) bar.update(x.iteration, lastPayload);
          else log(line);
        },
        onEval: (x) => say(`Iter ${x.iteration}: Val loss ${x.valLoss.toFixed(3)}, Val took ${x.seconds.toFixed(3)}s`),
      });
      bar?.stop();
      log(`${r.stopped ? 'Stopped' : 'Done'} after ${r.iterations} iterations; saved ${join(adapterPath, L.ADAPTER_FILE)}`);
    } finally {
      process.off('SIGINT', onInt);
      bar?.stop();
    }
    if (stop) return;
  } else if (s.test || s.export_peft) {
    try {
      L.loadAdapters(model, adapterPath);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }
  if (s.export_peft) {
    kn.models.lora.exportPeft(model, s.export_peft as string, { baseModel: s.model as string });
    log(`Wrote the PEFT adapter ${s.export_peft}`);
  }
  if (s.test) {
    model.eval();
    const test = datasets!.test!;
    const loss = L.evaluateLoss(model, test.examples, {
      batchSize: s.batch_size as number,
      numBatches: s.test_batches as number,
      maxSeqLength: s.max_seq_length as number,
    });
    process.stdout.write(`Test loss ${loss.toFixed(3)}, Test ppl ${Math.exp(loss).toFixed(3)}.\n`);
  }
}

type Kn = Awaited<ReturnType<typeof loadForCli>>['kn'];

/** The optimizer and learning-rate schedule the settings ask for. */
export function makeOptimizer(kn: Kn, s: LoraSettings) {
  const lr = s.learning_rate as number,
    iters = s.iters as number;
  let rate: number | ReturnType<typeof kn.optim.cosineDecay> | ReturnType<typeof kn.optim.joinSchedules> = lr;
  const sched = s.lr_schedule as { name?: string; warmup?: number; warmup_init?: number; arguments?: number[] } | null;
  const warmup = (sched?.warmup ?? s.warmup) as number;
  if (sched) {
    const args = sched.arguments ?? [];
    const make: Record<string, () => ReturnType<typeof kn.optim.cosineDecay>> = {
      cosine_decay: () => kn.optim.cosineDecay(args[0] ?? lr, args[1] ?? iters - warmup, args[2] ?? 0),
      linear_schedule: () => kn.optim.linearSchedule(args[0] ?? lr, args[1] ?? 0, args[2] ?? iters - warmup),
      exponential_decay: () => kn.optim.exponentialDecay(args[0] ?? lr, args[1] ?? 0.999),
    };
    const f = make[sched.name ?? ''];
    if (!f) throw new CliError(`lr_schedule.name must be one of ${Object.keys(make).join(', ')}, got ${JSON.stringify(sched.name)}`);
    rate = f();
  } else if (warmup > 0) rate = kn.optim.cosineDecay(lr, Math.max(1, iters - warmup), 0);
  if (warmup > 0) {
    const peak = typeof rate === 'number' ? lr : (sched?.arguments?.[0] ?? lr);
    rate = kn.optim.joinSchedules([kn.optim.linearSchedule(sched?.warmup_init ?? 0, peak, warmup), rate as never], [warmup]);
  }
  const oc = ((s.optimizer_config as Record<string, Record<string, unknown>>)[s.optimizer as string] ?? {}) as Record<string, unknown>;
  const camel = Object.fromEntries(Object.entries(oc).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), v]));
  try {
    switch (s.optimizer) {
      case 'adam':
        return new kn.optim.Adam(rate as never, camel);
      case 'adamw':
        return new kn.optim.AdamW(rate as never, camel);
      case 'sgd':
        return new kn.optim.SGD(rate as never, camel);
      default:
        return new kn.optim.Adafactor({ learningRate: rate as never, relativeStep: false, scaleParameter: false, ...camel });
    }
  } catch (e) {
    throw new CliError(`optimizer_config.${String(s.optimizer)}: ${(e as Error).message}`);
  }
}
