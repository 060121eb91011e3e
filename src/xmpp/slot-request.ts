/**
 * Parses a slot request payload — any of the three namespaces, attribute or child-element shape,
 * with the optional XEP-0363 1.2 purpose — into a checked SlotRequest or the refusal to answer.
 * Pure: no settings, no I/O (limits and access are policies, see policy.ts).
 */
import { isPurpose, type Purpose } from '../slots/slot.ts';
import type { Element } from './xml.ts';
import { childText } from './xml.ts';
import { isUploadNamespace, NS_PURPOSE, type UploadNamespace } from './namespaces.ts';
import { filenameProblem } from './filename.ts';
import { MEDIA_TYPE } from '../slots/media-type.ts';
import { badRequest, notImplemented, type SlotRefusal } from './refusal.ts';

/** How the request carried its fields; the answer uses the same shape. */
export type RequestShape = 'attributes' | 'elements';

export interface SlotRequest {
  namespace: UploadNamespace;
  shape: RequestShape;
  filename: string;
  /** Bytes; a safe integer, 0 or more. */
  size: number;
  /** As requested (trimmed); absent when not given or empty. */
  contentType?: string;
  /** 'message' when the request named none (XEP-0363 1.2). */
  purpose: Purpose;
  /** For 'ephemeral': the instant (ms since epoch) after which the file must not be served. */
  expireBefore?: number;
}

export type ParsedSlotRequest = { ok: true; request: SlotRequest } | { ok: false; refusal: SlotRefusal };

/** A content-type longer than this is refused (the grammar is src/slots/media-type.ts). */
const MAX_CONTENT_TYPE_LENGTH = 255;

/** XEP-0082 DateTime: CCYY-MM-DDThh:mm:ss[.sss]TZD, TZD = Z or ±hh:mm. */
const XEP82_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * True when `el` is a slot request in one of the upload namespaces (however malformed).
 *
 * @example
 * if (isSlotRequest(payload)) return handleSlotRequest(payload);
 */
export function isSlotRequest(el: Element): boolean {
  return el.getName() === 'request' && isUploadNamespace(el.getNS());
}

/**
 * Parses an XEP-0082 DateTime into ms since epoch; undefined when malformed.
 *
 * @example
 * parseXmppDateTime('2025-06-17T12:00:00Z'); // 1750161600000
 */
export function parseXmppDateTime(value: string): number | undefined {
  if (!XEP82_DATETIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Echoes client input in error texts, cut short: the text is for humans, not a mirror. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** A size in bytes: a whole number, 0 included (an empty file is a file; the Openfire plugin takes it too). */
function parseSize(raw: string): number | undefined {
  const s = raw.trim();
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function parsePurpose(request: Element, now: number): { purpose: Purpose; expireBefore?: number } | SlotRefusal {
  const wrappers = request.getChildElements().filter((c) => c.getName() === 'purpose' && c.getNS() === NS_PURPOSE);
  if (wrappers.length === 0) return { purpose: 'message' };
  if (wrappers.length > 1) return badRequest('more than one <purpose/>');
  const named = wrappers[0]!.getChildElements();
  if (named.length !== 1) return badRequest('<purpose/> must contain exactly one purpose element');
  const el = named[0]!;
  const name = el.getName();
  if (!isPurpose(name)) return notImplemented(`The upload purpose ${quote(name)} is not supported`);
  const purpose = name as Purpose;
  if (purpose !== 'ephemeral') return { purpose };
  const raw = el.attrs['expire-before'];
  if (raw === undefined) return badRequest('an ephemeral upload needs an expire-before timestamp');
  const expireBefore = parseXmppDateTime(raw.trim());
  if (expireBefore === undefined) return badRequest(`expire-before ${quote(raw)} is not an XEP-0082 timestamp`);
  if (expireBefore <= now) return badRequest(`expire-before ${quote(raw)} is in the past`);
  return { purpose, expireBefore };
}

/**
 * Reads and checks a slot request. Each field comes from the attribute when present, else from
 * the child element of that name (old Smack sends :0 with children, some legacy clients
 * attributes); the shape is 'attributes' when filename or size came as attributes.
 *
 * @example
 * const r = parseSlotRequest(payload, Date.now());
 * if (!r.ok) return refusalError(r.refusal);
 * r.request; // { namespace, shape, filename, size, contentType?, purpose, expireBefore? }
 */
export function parseSlotRequest(el: Element, now: number): ParsedSlotRequest {
  const namespace = el.getNS();
  if (el.getName() !== 'request' || !isUploadNamespace(namespace)) {
    return { ok: false, refusal: notImplemented() };
  }
  const attrs = el.attrs;
  const fromAttributes = attrs.filename !== undefined || attrs.size !== undefined;
  const shape: RequestShape = fromAttributes ? 'attributes' : 'elements';
  const field = (name: string): string | undefined => attrs[name] ?? childText(el, name);

  const filename = field('filename');
  if (filename === undefined) return { ok: false, refusal: badRequest('the request has no filename') };
  const problem = filenameProblem(filename);
  if (problem !== undefined) return { ok: false, refusal: badRequest(problem) };

  const rawSize = field('size');
  if (rawSize === undefined) return { ok: false, refusal: badRequest('the request has no size') };
  const size = parseSize(rawSize);
  if (size === undefined)
    return { ok: false, refusal: badRequest(`the size ${quote(rawSize)} is not a whole number of bytes`) };

  const rawType = field('content-type')?.trim();
  const request: SlotRequest = { namespace, shape, filename, size, purpose: 'message' };
  if (rawType !== undefined && rawType !== '') {
    if (rawType.length > MAX_CONTENT_TYPE_LENGTH || !MEDIA_TYPE.test(rawType)) {
      return { ok: false, refusal: badRequest(`the content-type ${quote(rawType)} is not a media type`) };
    }
    request.contentType = rawType;
  }

  const purpose = parsePurpose(el, now);
  if ('condition' in purpose) return { ok: false, refusal: purpose };
  request.purpose = purpose.purpose;
  if (purpose.expireBefore !== undefined) request.expireBefore = purpose.expireBefore;
  return { ok: true, request };
}
