import { catalogue, properties } from '../config/catalogue.ts';
import type { Settings } from '../config/settings.ts';

/**
 * The properties whose new value a running serve cannot take without a restart (catalogue
 * `restart: true`) and that differ between two settings.
 *
 * @example
 * const pending = changedNeedingRestart(current, reloaded); // ['webPort']
 */
export function changedNeedingRestart(current: Settings, next: Settings): string[] {
  return properties
    .filter((p) => p.restart)
    .map((p) => p.short as keyof Settings)
    .filter((k) => JSON.stringify(current[k]) !== JSON.stringify(next[k]))
    .map((k) => catalogue[k].name);
}

/**
 * Applies a reloaded configuration in place, except the restart-only properties, which keep
 * their running values. Everything holding the settings object sees the change at once.
 *
 * @example
 * applyReload(settings, await loadSettings(file));
 */
export function applyReload(current: Settings, next: Settings): void {
  const keep = new Set(properties.filter((p) => p.restart).map((p) => p.short));
  for (const key of Object.keys(next) as (keyof Settings)[]) {
    if (!keep.has(key)) (current as unknown as Record<string, unknown>)[key] = next[key];
  }
}
