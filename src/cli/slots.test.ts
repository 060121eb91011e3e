import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonRowFormatter } from './slots.ts';
import type { SlotRow } from '../inventory/listing.ts';

test('a --json row is the row as JSON with ISO times, field for field', () => {
  const format = jsonRowFormatter();
  const rows: SlotRow[] = [
    {
      id: 'abc',
      filename: 'plain.jpg',
      size: 64,
      contentType: 'image/jpeg',
      uploader: 'a@example.org',
      created: 1_733_000_000_123,
      expires: 1_735_000_000_000,
      purpose: 'message',
      state: 'stored',
    },
    {
      id: 'x_-1',
      filename: 'quo"te\\ \n new\u2028line é 😀.txt',
      size: 0,
      contentType: null,
      uploader: '',
      created: 0,
      expires: null,
      purpose: 'profile',
      state: 'imported',
    },
  ];
  let seed = 99;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const created = Math.floor((seed / 2 ** 31) * 9_999_999_999_999);
    rows.push({ ...(rows[0] as SlotRow), created, expires: i % 3 === 0 ? null : created + (seed % 1000) });
  }
  for (const r of rows) {
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    assert.equal(format(r), JSON.stringify({ ...r, created: iso(r.created), expires: iso(r.expires) }));
  }
});
