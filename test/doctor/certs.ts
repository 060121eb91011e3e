/**
 * Test certificates made with the openssl CLI (Debian's OpenSSL 3): a CA, leaf certificates it
 * signs with chosen names and validity dates (also in the past), and keys that do not match.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

const CA_CONFIG = `[ca]
default_ca = d
[d]
database = index.txt
serial = serial
new_certs_dir = .
default_md = sha256
policy = p
copy_extensions = copy
unique_subject = no
[p]
commonName = supplied
`;

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** openssl's date form: YYYYMMDDHHMMSSZ. */
function asn1Date(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * A CA in `dir` (made once) that signs leaf certificates.
 *
 * @example
 * const ca = makeCa(dir);
 * const leaf = ca.issue('ok', { names: ['upload.example.org'] });
 */
export function makeCa(dir: string) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-subj',
    '/CN=fileupload test CA',
    '-days',
    '3650',
  ]);
  return {
    caCert: join(dir, 'ca.pem'),
    /**
     * A key and a certificate for `names` (DNS names or IPs), valid from `notBefore` to `notAfter`
     * (ms; default: yesterday to in a year).
     */
    issue(name: string, o: { names: string[]; notBefore?: number; notAfter?: number }): CertFiles {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.pem`);
      const san = o.names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      openssl(dir, [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${o.names[0]}`,
        '-addext',
        `subjectAltName=${san}`,
      ]);
      const now = Date.now();
      openssl(dir, [
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-cert',
        'ca.pem',
        '-keyfile',
        'ca.key',
        '-in',
        `${name}.csr`,
        '-out',
        cert,
        '-notext',
        '-startdate',
        asn1Date(o.notBefore ?? now - 86_400_000),
        '-enddate',
        asn1Date(o.notAfter ?? now + 365 * 86_400_000),
      ]);
      return { cert, key };
    },
    /** A fresh key that belongs to no certificate. */
    strayKey(name: string): string {
      const key = join(dir, `${name}.key`);
      openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
      return key;
    },
    /** A self-signed certificate for `names`. */
    selfSigned(name: string, names: string[]): CertFiles {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.pem`);
      openssl(dir, [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-subj',
        `/CN=${names[0]}`,
        '-addext',
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
        '-days',
        '90',
      ]);
      return { cert, key };
    },
  };
}
