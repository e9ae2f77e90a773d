// The kiln command: dispatches to one file per subcommand. Usage errors and bad models print one
// line and exit with code 2; other failures print one line (the stack with KILN_DEBUG) and exit 1.
import { CliError } from './args.js';

export const MAIN_HELP = `Usage: kiln <command> [options]

Commands:
  generate   generate text from a model (kiln generate --model M --prompt P)
  chat       chat with a model in the terminal
  info       describe a model (kiln info M)
  bench      prompt and generation speed (kiln bench --config llama-3.2-1b)
  convert    quantize, dequantize or cast a model; write a folder or a .gguf (kiln convert --model M -q --out DIR)
  lora       fine-tune with LoRA / DoRA (kiln lora --model M --data D --train)
  fuse       merge an adapter into its model (kiln fuse --model M --adapter-path A)
  serve      an OpenAI-compatible server (kiln serve --model M --port 8080)

Run kiln <command> --help for a command's options.
`;

type Command = (argv: string[]) => Promise<void>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  generate: async () => (await import('./generate.js')).generateCommand,
  chat: async () => (await import('./chat.js')).chatCommand,
  info: async () => (await import('./info.js')).infoCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
  convert: async () => (await import('./convert.js')).convertCommand,
  lora: async () => (await import('./lora.js')).loraCommand,
  fuse: async () => (await import('./fuse.js')).fuseCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
};

/** Runs the command line `argv` (without node and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(MAIN_HELP);
      return cmd === undefined ? 2 : 0;
    }
    const load = COMMANDS[cmd];
    if (!load) throw new CliError(`unknown command '${cmd}'; commands: ${Object.keys(COMMANDS).join(', ')} (see kiln --help)`);
    await (
      await load()
    )(rest);
    return 0;
  } catch (e) {
    const err = e as Error;
    const where = cmd && COMMANDS[cmd] ? `kiln ${cmd}` : 'kiln';
    process.stderr.write(`${where}: ${(err?.message ?? String(e)).split('\n')[0]}\n`);
    if (process.env.KILN_DEBUG && err?.stack) process.stderr.write(err.stack + '\n');
    return e instanceof CliError ? 2 : 1;
  }
}
