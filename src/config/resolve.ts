/**
 * Precedence over an ordered list of layers: the first layer that has a non-empty value wins.
 * Today the layers are serverspecific (file) > general (file) > default; a cluster-wide layer
 * can be inserted anywhere in the list without touching this code.
 */
import { hostname as osHostname } from 'node:os';
import { catalogue, type DefaultContext, type Property, type PropertyKey } from './catalogue.ts';

/** Where an effective value came from: a layer's name (`serverspecific`, `general`, `default`, …). */
export type Source = string;

/**
 * One source of property values. A new source (e.g. a cluster-wide store) is one more object
 * of this shape placed in the list at its precedence.
 *
 * @example
 * const cluster: Layer = { source: 'cluster', get: (short) => sharedValues.get(short) };
 * new Resolver([serverspecific, cluster, general, defaultsLayer()]);
 */
export interface Layer {
  /** Shown as the value's source, e.g. `serverspecific`, `general`, `default`. */
  readonly source: Source;
  /**
   * The raw text for a property, or undefined when this layer has none. Empty or whitespace-only
   * text counts as unset. `ctx` lets computed layers (defaults) look at other effective values.
   */
  get(short: PropertyKey, ctx: DefaultContext): string | undefined;
}

/** An effective value and where it came from. */
export interface Resolved {
  property: Property;
  /** Trimmed text, or undefined when no layer has a value. */
  text: string | undefined;
  /** The layer that gave the value; `default` when nothing did. */
  source: Source;
}

/**
 * The built-in defaults as the last layer (computed defaults see the other layers' values).
 * `fqdn` is Openfire's FQDN when the configuration file names one (the announcedWebHost default).
 *
 * @example
 * const layers = [...fileLayers(doc), defaultsLayer({ fqdn: 'xmpp.example.org' })];
 */
export function defaultsLayer(opts: { hostname?: () => string; fqdn?: string } = {}): Layer {
  const host = opts.hostname ?? osHostname;
  const fqdn = () => opts.fqdn;
  return {
    source: 'default',
    get: (short, ctx) => catalogue[short].default({ value: ctx.value, hostname: host, fqdn }),
  };
}

/**
 * A layer over a plain map of short name → text (tests, environment overrides, cluster stores).
 *
 * @example
 * new Resolver([mapLayer('cluster', { maxFileSize: '1G' }), defaultsLayer()]);
 */
export function mapLayer(source: Source, values: Partial<Record<PropertyKey, string>>): Layer {
  return { source, get: (short) => values[short] };
}

/**
 * Resolves properties against the layers, in order. Values are computed on demand; a computed
 * default that (wrongly) depends on itself resolves as unset instead of looping.
 *
 * @example
 * const r = new Resolver([...fileLayers(doc), defaultsLayer()]);
 * r.resolve('maxFileSize'); // { property, text: '52428800', source: 'default' }
 */
export class Resolver {
  readonly layers: readonly Layer[];
  private readonly active = new Set<PropertyKey>();

  constructor(layers: readonly Layer[]) {
    this.layers = layers;
  }

  /** The effective value of a property and its source. */
  resolve(short: PropertyKey): Resolved {
    const property = catalogue[short] as Property;
    if (this.active.has(short)) return { property, text: undefined, source: 'default' };
    this.active.add(short);
    try {
      const ctx = this.context();
      for (const layer of this.layers) {
        const text = layer.get(short, ctx)?.trim();
        if (text !== undefined && text !== '') return { property, text, source: layer.source };
      }
      return { property, text: undefined, source: 'default' };
    } finally {
      this.active.delete(short);
    }
  }

  /** What the named layer alone says (trimmed; undefined when unset there). */
  layerValue(source: Source, short: PropertyKey): string | undefined {
    const layer = this.layers.find((l) => l.source === source);
    const text = layer?.get(short, this.context())?.trim();
    return text === '' ? undefined : text;
  }

  /** The default value as text (computed against the other effective values). */
  defaultValue(short: PropertyKey): string | undefined {
    return this.layerValue('default', short);
  }

  private context(): DefaultContext {
    return { value: (other) => this.resolve(other).text, hostname: osHostname };
  }
}
