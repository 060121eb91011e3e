// In the single binary `yoga-layout` resolves to scripts/build/yoga-shim.ts, which adds `ready`:
// a promise to await before ink's first render(). Run from source it is the real package, whose
// top-level await has already initialised Yoga, so the export is absent (undefined).
// Use a namespace import (`await import('yoga-layout')`), never `import { ready }`: a named import
// of a missing export is a link error in ESM.
export {};

declare module 'yoga-layout' {
  /**
   * Settles when Yoga's wasm is ready; undefined when running from source (already ready).
   *
   * @example
   * const yoga = await import('yoga-layout');
   * await yoga.ready;
   * render(React.createElement(App));
   */
  export const ready: Promise<void> | undefined;
}
