/**
 * The layout rules ESLint cannot state: no import cycle in src/ even through `import type`
 * (import-x/no-cycle skips type-only imports, yet a type cycle still ties modules together for a
 * reader), and every folder under src/ says in its README.md what it holds and what it may
 * import (eslint.config.js turns those "May import:" lines into the layer rule).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function walk(dir: string): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      dirs.push(path);
      const below = walk(path);
      files.push(...below.files);
      dirs.push(...below.dirs);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      files.push(path);
    }
  }
  return { files, dirs };
}

/** Relative imports of a module, type-only ones and re-exports included. */
function importsOf(source: string): string[] {
  const specs: string[] = [];
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*'(\.[^']+)'/g)) specs.push(m[1]!);
  for (const m of source.matchAll(/(?:^|\n)\s*import\s*'(\.[^']+)'/g)) specs.push(m[1]!);
  for (const m of source.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) specs.push(m[1]!);
  return specs;
}

/** Strongly connected components of more than one module, or a module importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('cycles() finds a type-only circle and nothing in a tree', () => {
  const source = "import type { A } from './a.ts';\nexport { b } from './b.ts';\nimport('./c.ts');";
  assert.deepEqual(importsOf(source), ['./a.ts', './b.ts', './c.ts']);
  assert.deepEqual(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
        ['d', ['a']],
      ]),
    ),
    [['a', 'b', 'c']],
  );
  assert.deepEqual(
    cycles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
});

test('no module of src/ imports itself back, not even through a type import', () => {
  const { files } = walk(SRC);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(readFileSync(file, 'utf8'))
      .map((spec) => resolve(dirname(file), spec))
      .filter((target) => files.includes(target))
      .map((target) => relative(ROOT, target));
    graph.set(relative(ROOT, file), targets);
  }
  assert.deepEqual(cycles(graph), [], 'import cycles in src/ (each line: the modules of one cycle)');
});

test('every folder under src/ says what it holds and what it may import', () => {
  for (const dir of walk(SRC).dirs) {
    const name = relative(ROOT, dir);
    const readme = join(dir, 'README.md');
    assert.ok(existsSync(readme), `${name}/README.md is missing`);
    const text = readFileSync(readme, 'utf8');
    assert.match(text, new RegExp(`^# ${name} — \\S`), `${name}/README.md starts with "# ${name} — what it holds"`);
    assert.match(text, /^May import: \S/m, `${name}/README.md has a "May import:" line`);
  }
});
