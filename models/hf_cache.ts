// Model ids ("Qwen/Qwen3-0.6B") resolved in the local Hugging Face hub cache, never downloaded:
// <hub>/models--Org--Name/snapshots/<revision>/, where refs/<branch> names the revision.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** An id like `Org/Name` or `Name` (optionally `@revision`); never a path. */
const ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*(?:@[\w./-]+)?$/;

/**
 * Whether `s` reads as a hub model id (`Org/Name`, `Name`, optionally `@revision`).
 * @example isModelId('Qwen/Qwen3-0.6B') // true
 * @example isModelId('./models/qwen') // false
 */
export function isModelId(s: string): boolean {
  return ID.test(s) && !s.includes('..') && !s.endsWith('.gguf');
}

/**
 * The hub cache folders to look in, in order: $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * ~/.cache/huggingface/hub (duplicates removed).
 * @example hfCacheDirs({ HF_HOME: '/data/hf', HOME: '/home/me' }) // ['/data/hf/hub', '/home/me/.cache/huggingface/hub']
 */
export function hfCacheDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.HF_HUB_CACHE) dirs.push(env.HF_HUB_CACHE);
  if (env.HUGGINGFACE_HUB_CACHE) dirs.push(env.HUGGINGFACE_HUB_CACHE);
  if (env.HF_HOME) dirs.push(join(env.HF_HOME, 'hub'));
  if (env.XDG_CACHE_HOME) dirs.push(join(env.XDG_CACHE_HOME, 'huggingface', 'hub'));
  dirs.push(join(env.HOME || homedir(), '.cache', 'huggingface', 'hub'));
  return [...new Set(dirs)];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A snapshot worth loading: a config.json, or a .gguf file. */
function usable(dir: string): boolean {
  if (existsSync(join(dir, 'config.json'))) return true;
  try {
    return readdirSync(dir).some((f) => f.toLowerCase().endsWith('.gguf'));
  } catch {
    return false;
  }
}

/** The snapshot of one repo folder: refs/<rev> first (a branch or tag), a commit hash, else the newest usable one. */
function snapshotOf(repo: string, revision: string | undefined, looked: string[]): string | null {
  const snaps = join(repo, 'snapshots');
  const ref = join(repo, 'refs', revision ?? 'main');
  if (existsSync(ref)) {
    const hash = readFileSync(ref, 'utf8').trim();
    const snap = join(snaps, hash);
    looked.push(snap);
    if (/^[0-9a-f]{7,64}$/i.test(hash) && isDir(snap) && usable(snap)) return snap;
  } else looked.push(ref);
  if (revision !== undefined) {
    const snap = join(snaps, revision);
    if (!looked.includes(snap)) looked.push(snap);
    return isDir(snap) && usable(snap) ? snap : null;
  }
  if (!isDir(snaps)) {
    looked.push(snaps);
    return null;
  }
  const cands = readdirSync(snaps)
    .map((s) => join(snaps, s))
    .filter((s) => isDir(s) && usable(s));
  if (!cands.length) {
    looked.push(`${snaps}/* (no snapshot with a config.json or .gguf file)`);
    return null;
  }
  cands.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return cands[0];
}

/**
 * The snapshot folder of a model id in the local HF cache, or an Error naming every place looked.
 * `revision` (or `id@revision`) picks a branch, tag or commit; the default is refs/main.
 * @example
 * // resolveHfModel('Qwen/Qwen3-0.6B') gives '<cache>/models--Qwen--Qwen3-0.6B/snapshots/<commit>'
 * let msg = '';
 * try { resolveHfModel('nobody/none', { env: { HF_HUB_CACHE: '/tmp/kiln-doc-no-cache' } }); } catch (e) { msg = e.message; }
 * msg.includes("model 'nobody/none' is neither a local path nor in the Hugging Face cache") // true
 */
export function resolveHfModel(id: string, opts: { revision?: string; env?: NodeJS.ProcessEnv } = {}): string {
  let name = id;
  let revision = opts.revision;
  const at = id.indexOf('@');
  if (at >= 0) {
    name = id.slice(0, at);
    revision ??= id.slice(at + 1);
  }
  const folder = `models--${name.split('/').join('--')}`;
  const looked: string[] = [];
  for (const hub of hfCacheDirs(opts.env)) {
    const repo = join(hub, folder);
    if (!isDir(repo)) {
      looked.push(repo);
      continue;
    }
    const snap = snapshotOf(repo, revision, looked);
    if (snap) return snap;
  }
  throw new Error(
    `[models.load] model '${id}' is neither a local path nor in the Hugging Face cache (nothing is downloaded; ` +
      `fetch it with \`huggingface-cli download ${name}\` or pass a folder). Looked in: ${looked.join(', ')}`,
  );
}
