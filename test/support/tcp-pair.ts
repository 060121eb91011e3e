import { createServer, connect, type Server, type Socket } from 'node:net';

/** A connected loopback TCP pair: `ours` is the accepting side, `fd` its descriptor, `peer` the client. */
export interface TcpPair {
  ours: Socket;
  peer: Socket;
  fd: number;
}

/**
 * A loopback listener that hands out connected pairs, for tests of the native sendfile/splice
 * steps on real sockets. With `pauseOnConnect` the accepted side never starts reading, so only
 * the code under test takes its bytes. Both sockets ignore their 'error' events: a pair torn
 * down mid-transfer resets, the transfer's result reports that, and it must not become an
 * uncaught exception after the test.
 *
 * @example
 * const pairs = await tcpPairs({ pauseOnConnect: true });
 * const { ours, peer, fd } = await pairs.pair();
 * await pairs.close();
 */
export async function tcpPairs(
  options: { pauseOnConnect?: boolean } = {},
): Promise<{ pair(): Promise<TcpPair>; close(): Promise<void> }> {
  const server: Server = createServer({ pauseOnConnect: options.pauseOnConnect ?? false });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    async pair() {
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
      const peer = connect((server.address() as { port: number }).port, '127.0.0.1');
      const ours = await accepted;
      ours.on('error', () => {});
      peer.on('error', () => {});
      const fd = (ours as unknown as { _handle: { fd: number } })._handle.fd;
      return { ours, peer, fd };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
