import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrk } from './wrk.ts';

const SAMPLE = `Running 10s test @ http://127.0.0.1:34051/upload/x/small.bin
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.91ms    1.02ms  22.21ms   85.12%
    Req/Sec    17.21k     2.11k   21.34k    70.50%
  342519 requests in 10.00s, 20.95GB read
  Socket errors: connect 0, read 3, write 1, timeout 0
  Non-2xx or 3xx responses: 12
Requests/sec:  34251.23
Transfer/sec:      2.09GB
`;

test('reads rate, totals, errors and non-2xx answers from wrk output', () => {
  const r = parseWrk(SAMPLE);
  assert.equal(r.requestsPerSec, 34251.23);
  assert.equal(r.requests, 342519);
  assert.equal(r.seconds, 10);
  assert.equal(r.socketErrors, 4);
  assert.equal(r.non2xx, 12);
  assert.equal(r.latencyAvg, '1.91ms');
});

test('a clean run has no errors; output without a rate is refused', () => {
  const clean = SAMPLE.replace(/  Socket errors.*\n/, '').replace(/  Non-2xx.*\n/, '');
  assert.equal(parseWrk(clean).socketErrors, 0);
  assert.equal(parseWrk(clean).non2xx, 0);
  assert.throws(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused'), /cannot read wrk output/);
});
