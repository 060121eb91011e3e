import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressSet, addressKey, clientAddress, forwardedFor, xForwardedFor } from './forwarded.ts';

test('AddressSet matches addresses and blocks of both families, IPv4-mapped addresses as IPv4', () => {
  const set = new AddressSet(['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/32', '::1/128']);
  assert.equal(set.has('10.255.0.1'), true);
  assert.equal(set.has('11.0.0.1'), false);
  assert.equal(set.has('192.0.2.7'), true);
  assert.equal(set.has('192.0.2.8'), false);
  assert.equal(set.has('::ffff:10.1.2.3'), true);
  assert.equal(set.has('2001:db8:ffff::1'), true);
  assert.equal(set.has('2001:db9::1'), false);
  assert.equal(set.has('0:0:0:0:0:0:0:1'), true);
  assert.equal(set.has('not an address'), false);
  assert.equal(set.has(undefined), false);
  assert.equal(new AddressSet([]).has('10.0.0.1'), false);
  assert.equal(new AddressSet(['0.0.0.0/0']).has('203.0.113.1'), true);
  assert.throws(() => new AddressSet(['proxy.example/8']), /not an IP address/);
});

test('X-Forwarded-For hops: ports and brackets dropped, anything else undefined', () => {
  assert.deepEqual(xForwardedFor('203.0.113.7, 10.0.0.2'), ['203.0.113.7', '10.0.0.2']);
  assert.deepEqual(xForwardedFor('203.0.113.7:4711,[2001:db8::1]:80, [::1],2001:db8::2'), [
    '203.0.113.7',
    '2001:db8::1',
    '::1',
    '2001:db8::2',
  ]);
  assert.deepEqual(xForwardedFor('unknown, evil.example, 1.2.3, 10.0.0.1:99999, [::1]x'), [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

test('Forwarded for= values, quoted or not, one per element', () => {
  assert.deepEqual(forwardedFor('for=192.0.2.60;proto=http;by=203.0.113.43'), ['192.0.2.60']);
  assert.deepEqual(forwardedFor('For="[2001:db8:cafe::17]:4711", for=198.51.100.17;by=x'), [
    '2001:db8:cafe::17',
    '198.51.100.17',
  ]);
  assert.deepEqual(forwardedFor('for=_hidden, for=unknown, proto=https, for="10.0.0.1:80"'), [
    undefined,
    undefined,
    undefined,
    '10.0.0.1',
  ]);
  // A comma or semicolon inside quotes does not split.
  assert.deepEqual(forwardedFor('by="a,b;c";for=192.0.2.1'), ['192.0.2.1']);
});

test('clientAddress: the rightmost hop that is not a trusted proxy, only from a trusted peer', () => {
  const trusted = new AddressSet(['10.0.0.0/8']);
  const from = (peer: string, headers: Record<string, string | string[]>) => clientAddress(peer, headers, trusted);
  // Untrusted peers: their headers are ignored.
  assert.equal(from('198.51.100.9', { 'x-forwarded-for': '6.6.6.6' }), '198.51.100.9');
  assert.equal(from('198.51.100.9', { forwarded: 'for=6.6.6.6' }), '198.51.100.9');
  // A trusted proxy without a header: the proxy itself.
  assert.equal(from('10.0.0.1', {}), '10.0.0.1');
  assert.equal(from('10.0.0.1', { 'x-forwarded-for': '  ' }), '10.0.0.1');
  // What the client wrote at the left end does not matter; the hops of trusted proxies are skipped.
  assert.equal(from('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' }), '203.0.113.7');
  assert.equal(from('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.0.0.5' }), '203.0.113.7');
  assert.equal(from('::ffff:10.0.0.1', { 'x-forwarded-for': '203.0.113.7' }), '203.0.113.7');
  // Repeated header lines form one list.
  assert.equal(from('10.0.0.1', { 'x-forwarded-for': ['6.6.6.6', '203.0.113.8'] }), '203.0.113.8');
  // Every hop trusted: the leftmost.
  assert.equal(from('10.0.0.1', { 'x-forwarded-for': '10.0.0.3, 10.0.0.2' }), '10.0.0.3');
  // Garbage ends the walk at the last trusted hop.
  assert.equal(from('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, garbage' }), '10.0.0.1');
  assert.equal(from('10.0.0.1', { 'x-forwarded-for': 'garbage, 10.0.0.2' }), '10.0.0.2');
  // Forwarded only when there is no X-Forwarded-For (a proxy that sets one passes the other through).
  assert.equal(from('10.0.0.1', { forwarded: 'for=6.6.6.6, for=203.0.113.9' }), '203.0.113.9');
  assert.equal(from('10.0.0.1', { forwarded: 'for=6.6.6.6', 'x-forwarded-for': '203.0.113.7' }), '203.0.113.7');
  assert.equal(from('10.0.0.1', { forwarded: 'for=_hidden' }), '10.0.0.1');
});

test('addressKey: IPv4 as it is, IPv4-mapped as IPv4, IPv6 by its /64', () => {
  assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('::FFFF:203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('2001:db8:0:0:1::'), '2001:db8:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
  assert.equal(addressKey('1:2:3:4:5:6:7::'), '1:2:3:4::/64');
  // Two addresses of one /64 share a key; neighbouring /64s do not.
  assert.equal(addressKey('2001:db8:1:2::a'), addressKey('2001:db8:1:2:ffff::b'));
  assert.notEqual(addressKey('2001:db8:1:2::a'), addressKey('2001:db8:1:3::a'));
});
