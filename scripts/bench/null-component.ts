/**
 * An XEP-0114 component that answers every IQ get with the same canned upload slot, doing no
 * other work: what the slot phase measures with it is Prosody plus the client, i.e. the ceiling
 * any component can reach through this Prosody on this machine.
 * Runs as its own process:
 *
 *   node null-component.ts HOST PORT DOMAIN SECRET   → prints {"ready":true} after the handshake
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:net';

const IQ_TAG = /<iq\b[^>]*>/g;

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}=(?:'([^']*)'|"([^"]*)")`).exec(tag);
  return m ? (m[1] ?? m[2]) : undefined;
}

function main(host: string, port: number, domain: string, secret: string): void {
  const slot = `<slot xmlns='urn:xmpp:http:upload:0'><put url='http://127.0.0.1:1/upload/AAAAAAAAAAAAAAAAAAAAAAAA/bench.bin?t=x'/><get url='http://127.0.0.1:1/upload/AAAAAAAAAAAAAAAAAAAAAAAA/bench.bin'/></slot>`;
  const socket = connect({ host, port, noDelay: true });
  socket.setEncoding('utf8');
  let text = '';
  let ready = false;
  socket.on('connect', () => {
    socket.write(
      `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`,
    );
  });
  socket.on('data', (chunk: string) => {
    text += chunk;
    if (!ready) {
      const open = /<stream:stream\b[^>]*>/.exec(text);
      if (open && !text.includes('<handshake')) {
        const id = attr(open[0], 'id') ?? '';
        socket.write(
          `<handshake>${createHash('sha1')
            .update(id + secret)
            .digest('hex')}</handshake>`,
        );
        text = text.slice(open.index + open[0].length);
        return;
      }
      if (/<handshake\s*\/>|<handshake><\/handshake>/.test(text)) {
        ready = true;
        text = '';
        process.stdout.write('{"ready":true}\n');
      } else if (/<stream:error/.test(text)) {
        process.stderr.write(`component refused: ${text.slice(0, 300)}\n`);
        process.exit(1);
      }
      return;
    }
    let out = '';
    let last = 0;
    IQ_TAG.lastIndex = 0;
    for (let m = IQ_TAG.exec(text); m; m = IQ_TAG.exec(text)) {
      last = IQ_TAG.lastIndex;
      if (attr(m[0], 'type') !== 'get') continue;
      out += `<iq type='result' from='${domain}' to='${attr(m[0], 'from') ?? ''}' id='${attr(m[0], 'id') ?? ''}'>${slot}</iq>`;
    }
    // Keep only a possibly unfinished tag for the next read.
    const lt = text.lastIndexOf('<');
    text = lt >= last && text.indexOf('>', lt) < 0 ? text.slice(lt) : '';
    if (out) socket.write(out);
  });
  socket.on('error', (e) => {
    process.stderr.write(`component: ${e.message}\n`);
    process.exit(1);
  });
  socket.on('close', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

if (import.meta.main) {
  const [host = '127.0.0.1', port = '0', domain = '', secret = ''] = process.argv.slice(2);
  main(host, Number(port), domain, secret);
}
