import { runCli } from './cli/program.ts';

// No top-level await: the single binary's bundle is CommonJS.
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
