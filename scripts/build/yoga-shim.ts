/**
 * Stands in for `yoga-layout` inside the single binary (the build resolves exactly that specifier
 * here). The real entry initialises its wasm with a top-level await, which a CommonJS bundle cannot
 * hold; this module starts the same initialisation through `loadYoga()` and fills the default
 * export in place once it is done. Ink only touches Yoga while rendering, so a TUI must
 * `await ready` before its first `render()`; from source (real yoga-layout) `ready` is undefined
 * and awaiting it is a no-op — see types/yoga-layout-ready.d.ts.
 *
 * @example
 * const yoga = await import('yoga-layout');
 * await yoga.ready; // before ink's render()
 */
import { loadYoga, type Yoga } from 'yoga-layout/load';

export * from 'yoga-layout/load';

const yoga = {} as Yoga;

/** Resolves once the default export holds the initialised Yoga (Node, Config and the enums). */
export const ready: Promise<void> = loadYoga().then((loaded) => {
  Object.assign(yoga, loaded);
});

export default yoga;
