import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatSize, parseDuration, parseSize, UnitError } from './units.ts';

test('sizes: plain bytes and binary units', () => {
  assert.equal(parseSize('52428800'), 52428800);
  assert.equal(parseSize('50M'), 50 * 1024 * 1024);
  assert.equal(parseSize('50m'), 50 * 1024 * 1024);
  assert.equal(parseSize('1GiB'), 1024 ** 3);
  assert.equal(parseSize('1.5K'), 1536);
  assert.equal(parseSize('2 TiB'), 2 * 1024 ** 4);
  assert.equal(parseSize('100B'), 100);
  assert.equal(parseSize(' 7k '), 7168);
});

test('sizes: non-numeric, negative, fractional bytes and ambiguous units are refused', () => {
  for (const bad of ['', 'abc', '50X', '-5', '1.5', '12iB', 'M', '5 0M']) {
    assert.throws(() => parseSize(bad), UnitError, bad);
  }
  assert.throws(() => parseSize('50MB'), /ambiguous.*50M or 50MiB/);
  assert.throws(() => parseSize('99999999T'), /too large/);
});

test('formatSize is readable and parses back', () => {
  assert.equal(formatSize(52428800), '50 MiB');
  assert.equal(formatSize(1536), '1.5 KiB');
  assert.equal(formatSize(100), '100 B');
  assert.equal(formatSize(3 * 1024 ** 4), '3 TiB');
  for (const n of [0, 1, 1023, 1024, 52428800, 1024 ** 3 * 7]) assert.equal(parseSize(formatSize(n)), n);
});

test('durations: plain seconds, units and compounds', () => {
  assert.equal(parseDuration('300'), 300_000);
  assert.equal(parseDuration('300s'), 300_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('12h'), 43_200_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('2w'), 1_209_600_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('0'), 0);
});

test('durations: garbage is refused', () => {
  for (const bad of ['', 'soon', '5x', '-5s', '5 minutes', 'h', '1h 30'])
    assert.throws(() => parseDuration(bad), UnitError, bad);
});

test('formatDuration is compact and parses back', () => {
  assert.equal(formatDuration(300_000), '5m');
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(1500), '1s500ms');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(14 * 86_400_000), '14d');
  for (const ms of [1, 999, 1000, 61_000, 90_061_001]) assert.equal(parseDuration(formatDuration(ms)), ms);
});
