/**
 * A quick measure (not a test): CPU time of `serve` per uploaded GiB with storage = s3 on a
 * throw-away radosgw, in direct mode (clients PUT to presigned radosgw URLs) and, for scale, in
 * proxy mode (the bytes stream through serve). CPU = utime + stime of the serve process from
 * /proc/PID/stat, read before and after the uploads (slot requests included); an idle window of
 * the same length is measured too and reported separately.
 *
 *   scripts/node24 scripts/bench/s3-direct-cpu.ts [--gib 1] [--files 1]
 */
import { parseArgs } from 'node:util';
import { startRadosgw } from '../testservers/ceph.ts';
import { startProsody } from '../testservers/prosody.ts';
import { serveConfigFor, startServe, openfireXml, type ServeProcess } from '../../test/support/serve.ts';
import { connectUser, NS_UPLOAD_0, type UserSession } from '../../test/support/xmpp-client.ts';
import { generatedBody, http } from '../../test/support/http.ts';
import { cpuSeconds } from './proc.ts';
import { writeFileSync } from 'node:fs';

const { values } = parseArgs({
  options: { gib: { type: 'string', default: '1' }, files: { type: 'string', default: '1' } },
});
const GiB = 1024 ** 3;
const total = Math.round(Number(values.gib) * GiB);
const files = Math.max(1, Number(values.files));
const size = Math.ceil(total / files);

async function uploadAll(
  serve: ServeProcess,
  alice: UserSession,
  service: string,
  mode: string,
): Promise<{ cpu: number; wallMs: number }> {
  const cpu0 = cpuSeconds(serve.pid, false);
  const t0 = performance.now();
  for (let i = 0; i < files; i++) {
    const slot = await alice.requestSlot(service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename: `${mode}-${i}.bin`,
      size,
    });
    if (!slot.ok) throw new Error(`slot refused: ${JSON.stringify(slot.error)}`);
    const put = await http(slot.put, {
      method: 'PUT',
      headers: { ...slot.headers, 'content-length': size },
      body: generatedBody(size),
      timeoutMs: 600_000,
    });
    if (put.status !== 200 && put.status !== 201) throw new Error(`${mode} PUT ${put.status}: ${put.body.toString()}`);
  }
  return { cpu: cpuSeconds(serve.pid, false) - cpu0, wallMs: performance.now() - t0 };
}

const rgw = await startRadosgw({ memstoreBytes: 3 * total + GiB });
const prosody = await startProsody({ users: [{ user: 'alice', password: 'alice-pw' }] });
let serve: ServeProcess | undefined;
try {
  const config = await serveConfigFor(prosody, {
    maxFileSize: size,
    storage: 's3',
    s3Endpoint: rgw.endpoint,
    s3Bucket: rgw.bucket,
    s3AccessKey: rgw.accessKey,
    s3SecretKey: rgw.secretKey,
    s3UploadMode: 'direct',
    purgeInterval: '0',
    // One JID uploads the total twice (direct, then proxy) in --files slots: the default daily
    // quota (10 × maxFileSize) and slot request burst (20) would refuse it from 5 and 10 files on.
    dailyQuota: '0',
    slotRequestRate: '0',
  });
  serve = await startServe({ config, waitFor: 'xmpp online' });
  const alice = await connectUser({
    port: prosody.c2sPort,
    domain: 'localhost',
    username: 'alice',
    password: 'alice-pw',
  });
  const service = prosody.componentDomain;
  // Warm-up: the first slot loads the AWS SDK and opens connections.
  const warm = await alice.requestSlot(service, {
    namespace: NS_UPLOAD_0,
    shape: 'attributes',
    filename: 'warm.bin',
    size: 1,
  });
  if (!warm.ok) throw new Error('warm-up slot refused');

  const rssAfterWarmUpMiB = Math.round(serve.memory().rssKiB / 1024);
  const direct = await uploadAll(serve, alice, service, 'direct');
  const peakAfterDirectMiB = Math.round(serve.memory().hwmKiB / 1024);
  const idle0 = cpuSeconds(serve.pid, false);
  await new Promise((r) => setTimeout(r, direct.wallMs));
  const idle = cpuSeconds(serve.pid, false) - idle0;

  const from = serve.logLines().length;
  writeFileSync(serve.configFile, openfireXml({ ...config, s3UploadMode: 'proxy' }));
  process.kill(serve.pid, 'SIGHUP');
  await serve.waitForLog('configuration reloaded', { from });
  const proxy = await uploadAll(serve, alice, service, 'proxy');
  const peakRssMiB = Math.round(serve.memory().hwmKiB / 1024);
  await alice.close();

  const perGiB = (cpu: number) => (cpu / (total / GiB)) * 1000;
  console.log(
    JSON.stringify(
      {
        uploaded: { bytes: total, files, sizeEach: size },
        direct: {
          cpuMsPerGiB: Math.round(perGiB(direct.cpu)),
          cpuMs: Math.round(direct.cpu * 1000),
          wallMs: Math.round(direct.wallMs),
        },
        idleSameWallTime: { cpuMs: Math.round(idle * 1000) },
        proxy: {
          cpuMsPerGiB: Math.round(perGiB(proxy.cpu)),
          cpuMs: Math.round(proxy.cpu * 1000),
          wallMs: Math.round(proxy.wallMs),
        },
        serveRssMiB: {
          afterWarmUp: rssAfterWarmUpMiB,
          peakAfterDirect: peakAfterDirectMiB,
          peakAfterProxy: peakRssMiB,
        },
        note: 'CPU = utime+stime of the serve process (/proc/PID/stat, 10 ms ticks), slot requests included',
      },
      null,
      2,
    ),
  );
} finally {
  await serve?.stop();
  await prosody.stop();
  await rgw.stop();
}
