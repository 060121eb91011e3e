/**
 * Who may request slots. Default: users of the component's parent domain (upload.example.org →
 * example.org), as the Openfire plugin does. `allowedDomains` replaces that list; '*' admits anyone. Exact domain
 * matches only (no subdomains), compared as XMPP servers compare them (see jid.ts normalizeDomain:
 * ASCII case ignored, IDN in one form, look-alike full stops are not dots).
 */
import { parentDomain } from '../config/types.ts';
import { normalizeDomain } from './jid.ts';
import { allow, refuse, type SlotPolicy } from './policy.ts';
import { forbidden } from './refusal.ts';

export type AccessRule = { anyone: true } | { anyone: false; domains: ReadonlySet<string> };

/**
 * The rule for a component: `allowedDomains` when it names any, else the parent domain.
 *
 * @example
 * accessRule('upload.example.org', []); // { anyone: false, domains: Set { 'example.org' } }
 * accessRule('upload.example.org', ['*']); // { anyone: true }
 */
export function accessRule(componentDomain: string, allowedDomains: readonly string[]): AccessRule {
  const listed = allowedDomains.map((d) => d.trim()).filter((d) => d !== '');
  if (listed.includes('*')) return { anyone: true };
  const domains = listed.length > 0 ? listed : [parentDomain(componentDomain)];
  return { anyone: false, domains: new Set(domains.map(normalizeDomain)) };
}

/**
 * True when a requester of `domain` may upload.
 *
 * @example
 * isDomainAllowed(accessRule('upload.example.org', []), 'EXAMPLE.org'); // true
 */
export function isDomainAllowed(rule: AccessRule, domain: string): boolean {
  return rule.anyone || rule.domains.has(normalizeDomain(domain));
}

/**
 * The access policy: auth/forbidden for requesters of other domains.
 *
 * @example
 * accessPolicy('upload.example.org', settings.allowedDomains)
 */
export function accessPolicy(componentDomain: string, allowedDomains: readonly string[]): SlotPolicy {
  const rule = accessRule(componentDomain, allowedDomains);
  return ({ requester }) =>
    isDomainAllowed(rule, requester.domain)
      ? allow
      : refuse(forbidden(`Users of ${requester.domain} may not upload files to this service`));
}
