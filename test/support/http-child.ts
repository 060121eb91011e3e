/**
 * A bare HTTP endpoint in its own process (for crash tests): serves the repository given as
 * argv[2] with the test slot secret and prints its URL on stdout once listening.
 *
 * @example
 * spawn('scripts/node24', ['test/support/http-child.ts', repoDir]);
 */
import { FsStore } from '../../src/storage/fs/index.ts';
import { createHttpApp, startHttpServer } from '../../src/http/index.ts';
import { silentLogger } from '../../src/log.ts';
import { testSettings } from './http-kit.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: http-child.ts REPO');
const store = new FsStore(dir);
store
  .open()
  .then(async () => {
    const settings = testSettings({ fileRepo: dir });
    const server = await startHttpServer(createHttpApp({ settings, store, logger: silentLogger }), settings);
    process.stdout.write(`${server.url}\n`);
  })
  .catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
