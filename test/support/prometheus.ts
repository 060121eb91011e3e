/**
 * Reads Prometheus text exposition in tests.
 *
 * @example
 * sample(await (await fetch(url + '/metrics')).text(), 'fileupload_slots_refused_total', { reason: 'quota' }); // 1
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[3] ?? '').split(',').filter((s) => s !== '');
    if (want.length === have.length && want.every((w) => have.includes(w))) return Number(m[4]);
  }
  return undefined;
}
