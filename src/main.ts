// First: sizes the thread pool before anything starts it.
import './threadpool.ts';
import { runCli } from './cli/program.ts';

// A closed pipe (`fileupload slots ls | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// No top-level await: the single binary's bundle is CommonJS.
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
