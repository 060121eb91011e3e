// Lint rules of the project. The layer rule is not written here: each folder's README.md under
// src/ says on its "May import:" line which folders it may import, and this file turns those
// lines into import restrictions, so the documentation and the check cannot disagree.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

const SRC = 'src';

/** Top-level folders of src/ (a subfolder belongs to its top folder's layer). */
const folders = readdirSync(SRC, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

/** folder → the folders it may import (from "May import:"), or 'all'. */
function allowedImports(folder) {
  const readme = join(SRC, folder, 'README.md');
  if (!existsSync(readme)) throw new Error(`${readme} is missing: every folder of src/ says what it may import`);
  const line = readFileSync(readme, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('May import:'));
  if (!line) throw new Error(`${readme} has no "May import:" line`);
  if (/every folder of src\//.test(line)) return 'all';
  return [...line.matchAll(/\b([a-z0-9-]+)\//g)].map((m) => m[1]).filter((name) => folders.includes(name));
}

/** The top-level files (errno.ts, log.ts, …) are the bottom layer; main.ts is the entry point. */
const baseFiles = readdirSync(SRC).filter((name) => /^[a-z-]+\.ts$/.test(name) && name !== 'main.ts');

const baseZones = baseFiles.flatMap((file) =>
  folders.map((folder) => ({
    target: `./${SRC}/${file}`,
    from: `./${SRC}/${folder}`,
    message: `src/${file} is a base file: it imports no folder of src/.`,
  })),
);

const layerZones = folders.flatMap((folder) => {
  const allowed = allowedImports(folder);
  if (allowed === 'all') return [];
  return folders
    .filter((other) => other !== folder && !allowed.includes(other))
    .map((other) => ({
      target: `./${SRC}/${folder}`,
      from: `./${SRC}/${other}`,
      message: `src/${folder}/README.md does not allow importing ${other}/ (layers point down).`,
    }));
});

/** A backend folder (storage/fs, storage/s3, …) never imports its sibling backend ("never s3/"). */
const siblingZones = folders.flatMap((folder) =>
  readdirSync(join(SRC, folder), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(SRC, folder, e.name, 'README.md')))
    .flatMap((e) => {
      const text = readFileSync(join(SRC, folder, e.name, 'README.md'), 'utf8');
      return [...text.matchAll(/never ([a-z0-9-]+)\//g)].map((m) => ({
        target: `./${SRC}/${folder}/${e.name}`,
        from: `./${SRC}/${folder}/${m[1]}`,
        message: `src/${folder}/${e.name}/README.md: a backend never imports its sibling ${m[1]}/.`,
      }));
    }),
);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench-results/**', 'types/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: [`${SRC}/**/*.ts`],
    ignores: [`${SRC}/**/*.test.ts`],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: [...baseZones, ...layerZones, ...siblingZones] }],
    },
  },
);
