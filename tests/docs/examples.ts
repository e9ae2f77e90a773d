// Extracts the `@example` blocks of the public sources and turns each into a runnable check:
// a line `expr // value` whose comment is a JS literal asserts that expr evaluates to value.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Example {
  file: string;
  line: number;
  code: string[];
}

const ROOTS = ['index.ts', 'core', 'ops', 'nn', 'models'];

function sources(root: string, dir: string): string[] {
  const p = join(root, dir);
  if (!statSync(p, { throwIfNoEntry: false })) return [];
  if (statSync(p).isFile()) return [p];
  return readdirSync(p).flatMap((f) =>
    f.endsWith('.ts') && !f.endsWith('.d.ts') ? [join(p, f)] : statSync(join(p, f)).isDirectory() ? sources(root, join(dir, f)) : [],
  );
}

/** Every @example in the public sources, with its file and line. */
export function collectExamples(root: string): Example[] {
  const out: Example[] = [];
  for (const file of ROOTS.flatMap((d) => sources(root, d))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /@example\b(.*)$/.exec(lines[i]);
      if (!m) continue;
      const code: string[] = [];
      const first = m[1].replace(/\*\/\s*$/, '').trim();
      if (first) code.push(first);
      if (!/\*\//.test(lines[i])) {
        for (let j = i + 1; j < lines.length; j++) {
          const l = lines[j];
          if (/^\s*\*\//.test(l) || /^\s*\*\s*@\w/.test(l)) break;
          const body = l.replace(/^\s*\* ?/, '').replace(/\*\/\s*$/, '');
          code.push(body);
          if (/\*\//.test(l)) break;
        }
      }
      while (code.length && !code[code.length - 1].trim()) code.pop();
      out.push({ file: relative(root, file), line: i + 1, code });
    }
  }
  return out;
}

/** The comment of a line when it is a JS literal (a number, string, array, object, boolean). */
export function literalComment(line: string): { expr: string; value: string } | null {
  const k = findComment(line);
  if (k < 0) return null;
  const expr = line.slice(0, k).trim().replace(/;$/, '');
  // a trailing note in parentheses, `// [1, 2] (int32)`, is prose and not part of the value
  const value = line
    .slice(k + 2)
    .trim()
    .replace(/^(.*\S)\s+\([^()'"]*\)$/, '$1');
  if (!expr || !value || /^(const|let|var|for|if|await\s+using|using)\b/.test(expr)) return null;
  if (!/^[-+\d\[{'"tfnNI]/.test(value)) return null;
  if (!/^[-+\w\s.,:'"[\]{}()eE]*$/.test(value.replace(/'[^']*'|"[^"]*"/g, "''"))) return null;
  try {
    // literals only: no identifiers but true/false/null/NaN/Infinity and quoted text
    const bare = value
      .replace(/'[^']*'|"[^"]*"/g, '')
      .replace(/\b(true|false|null|NaN|Infinity|undefined)\b/g, '')
      .replace(/\b\d[\w.]*/g, '');
    if (/[A-Za-z_$]/.test(bare.replace(/\b[A-Za-z_$][\w$]*\s*:/g, ''))) return null;
    new Function(`return (${value});`);
  } catch {
    return null;
  }
  return { expr, value };
}

/** Index of a `//` that starts a comment (not inside a string). */
function findComment(line: string): number {
  let q: string | null = null;
  for (let i = 0; i < line.length - 1; i++) {
    const c = line[i];
    if (q) {
      if (c === '\\') i++;
      else if (c === q) q = null;
    } else if (c === "'" || c === '"' || c === '`') q = c;
    else if (c === '/' && line[i + 1] === '/') return i;
  }
  return -1;
}

/**
 * How close each number of a literal must be, in the order the numbers are written: a number shown
 * with d decimals stands for its value rounded to d decimals (0.7311 means 0.73105..0.73115);
 * one shown with no decimals must match to 1e-6 relative.
 */
export function tolerances(value: string): number[] {
  const bare = value.replace(/'[^']*'|"[^"]*"/g, "''").replace(/\b[A-Za-z_$][\w$]*\s*:/g, '');
  const out: number[] = [];
  for (const m of bare.matchAll(/(?<![\w.])(?:0[xXbBoO][\da-fA-F]+|(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?)(?![\w.])/g)) {
    if (!m[0] || !/\d/.test(m[0])) continue;
    const d = (m[2]?.length ?? 0) - Number(m[3] ?? 0);
    const v = Math.abs(Number(m[0]));
    out.push(d > 0 ? 0.5 * 10 ** -d * (1 + 1e-6) + 1e-12 : 1e-6 * Math.max(1, v));
  }
  return out;
}

/**
 * `import { a, b as c } from './x.js'` in an example (a helper from another file) as a statement
 * of the async body, through `importModule(path)`; null for other lines.
 */
export function importLine(line: string): string | null {
  const m = /^\s*import\s*\{([^}]*)\}\s*from\s*(['"])([^'"]+)\2;?\s*$/.exec(line);
  if (!m) return null;
  const names = m[1]
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .map((n) => n.replace(/\s+as\s+/, ': '));
  return `const { ${names.join(', ')} } = await importModule(${JSON.stringify(m[3])});`;
}

/**
 * The example as the body of an async function of (kn, check, importModule): literal comments
 * become checks, import lines calls of importModule.
 */
export function toProgram(ex: Example): { body: string; checks: number } {
  let checks = 0;
  const body = ex.code
    .map((l, i) => {
      const imp = importLine(l);
      if (imp) return imp;
      const lit = literalComment(l);
      if (!lit) return l;
      checks++;
      return `await check(${lit.expr}, (${lit.value}), ${JSON.stringify(`${ex.file}:${ex.line + i}`)}, ${JSON.stringify(tolerances(lit.value))});`;
    })
    .join('\n');
  return { body, checks };
}
