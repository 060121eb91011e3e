/**
 * A lock contender for the multi-process lock tests: tries to take the lock at argv[2], prints
 * "acquired" (after it has confirmed the lock through two heartbeats) or "held", then keeps the
 * lock until stdin closes. Started by lock.test.ts, never on its own.
 */
import { acquireLock } from '../../src/lock/fs.ts';
import { LockHeldError } from '../../src/lock/lock.ts';

const path = process.argv[2] as string;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  const lock = await acquireLock(path, { command: 'test-holder', heartbeat: 25 });
  await wait(120);
  try {
    lock.assertHeld();
    process.stdout.write('acquired\n');
  } catch {
    process.stdout.write('lost\n');
  }
  process.stdin.resume();
  process.stdin.on('end', () => void lock.release().then(() => process.exit(0)));
} catch (err) {
  if (err instanceof LockHeldError) {
    process.stdout.write('held\n');
    process.exit(0);
  }
  throw err;
}
