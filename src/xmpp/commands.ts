/**
 * XEP-0050 ad-hoc commands: users manage their own uploads from their XMPP client (My uploads,
 * Delete uploads, Delete all my uploads), service admins (adminJids) those of any user and the
 * service's figures (Uploads of a user, Delete all uploads of a user, Statistics). The steps
 * are XEP-0004 forms; the operations behind them come from the caller (serve wires the
 * inventory's), so this file holds only the protocol and the sessions.
 *
 * Who asks is the stanza's `from` as the XMPP server stamps it: the bare JID decides whose uploads
 * are shown and whether the admin commands are allowed; a session belongs to the full JID that
 * started it. Sessions end after SESSION_TIMEOUT without a step; each bare JID holds at most
 * SESSIONS_PER_JID (a new one ends its oldest) and the service at most MAX_SESSIONS (beyond,
 * new ones are refused with wait/resource-constraint), so opening sessions cannot grow memory
 * without bound. A step shows at most one page of uploads.
 */
import { randomBytes } from 'node:crypto';
import { formatSize } from '../config/units.ts';
import type { Logger } from '../log.ts';
import { xml, type Element } from './xml.ts';
import { NS_COMMANDS, NS_DATA_FORMS, NS_DISCO_INFO, NS_DISCO_ITEMS } from './namespaces.ts';
import { stanzaError } from './stanza-error.ts';
import { booleanValue, dataForm, submittedValues, type Form, type FormField } from './data-form.ts';
import { bareJid, parseJid } from './jid.ts';
import { requesterOf } from './slot-handler.ts';

/** One stored upload as a command shows it (times in ms since epoch). */
export interface CommandUpload {
  id: string;
  filename: string;
  size: number;
  storedAt: number;
  purpose: string;
  /** When retention removes it; null: no age rule applies. */
  expires: number | null;
}

/** What the commands need done; serve wires the inventory's operations (inventory/uploads.ts). */
export interface CommandOperations {
  /** A page of the user's stored uploads, newest first, with the total count and bytes. */
  userUploads(
    user: string,
    offset: number,
    limit: number,
  ): Promise<{ uploads: CommandUpload[]; total: number; bytes: number }>;
  /** The user's use of the per-user quotas (limit undefined: none configured). */
  quotaUse(user: string): Promise<{
    stored: { bytes: number; files: number; limit: number | undefined };
    daily: { bytes: number; limit: number | undefined };
  }>;
  /**
   * Removes the user's uploads for good; ids that are not the user's (or gone) are `missing`,
   * those whose removal failed `failed`.
   */
  removeUploads(
    user: string,
    ids: readonly string[] | 'all',
  ): Promise<{ removed: { id: string; size: number }[]; missing: string[]; failed?: string[] }>;
  /**
   * Takes content down (admins): `target` is an upload URL, an upload id or a sha256; its bytes
   * go on the blocklist and every stored upload of them is removed for good.
   */
  takeDown(target: string, by: string, note: string | undefined): Promise<TakedownOutcome>;
  /** The service's figures (admins). */
  statistics(): Promise<{
    uploads: number | undefined;
    bytes: number | undefined;
    pendingBytes: number | undefined;
    topUploaders: { jid: string; uploads: number; bytes: number }[];
    quotas: { user: number | undefined; daily: number | undefined; global: number | undefined };
    disk?: { freeBytes: number; totalBytes: number } | undefined;
  }>;
}

/** What a takedown did, or why it could not start. */
export type TakedownOutcome =
  | { kind: 'done'; sha256: string; added: boolean; removed: { id: string; size: number }[]; failed: string[] }
  | { kind: 'not-a-target' }
  | { kind: 'no-such-upload'; message: string };

export interface CommandsOptions {
  operations: CommandOperations;
  /** The component's JID (the items of disco#items). */
  domain: () => string;
  /** True when this bare JID may upload (the access policy of slot requests). */
  mayUpload: (bare: string, domain: string) => boolean;
  /** The admins' bare JIDs (asked per request: dynamic property). */
  adminJids: () => readonly string[];
  now?: () => number;
  log?: Logger;
  /** Uploads per step; default PAGE_SIZE. */
  pageSize?: number;
}

/** Command nodes. */
export const COMMAND_NODES = {
  myUploads: 'my-uploads',
  deleteUploads: 'delete-uploads',
  deleteAllMine: 'delete-all-my-uploads',
  userUploads: 'user-uploads',
  deleteUserUploads: 'delete-user-uploads',
  statistics: 'statistics',
  takeDown: 'take-down',
} as const;

const COMMANDS: readonly { node: string; name: string; admin: boolean }[] = [
  { node: COMMAND_NODES.myUploads, name: 'My uploads', admin: false },
  { node: COMMAND_NODES.deleteUploads, name: 'Delete uploads', admin: false },
  { node: COMMAND_NODES.deleteAllMine, name: 'Delete all my uploads', admin: false },
  { node: COMMAND_NODES.userUploads, name: 'Uploads of a user', admin: true },
  { node: COMMAND_NODES.deleteUserUploads, name: 'Delete all uploads of a user', admin: true },
  { node: COMMAND_NODES.statistics, name: 'Statistics', admin: true },
  { node: COMMAND_NODES.takeDown, name: 'Take down by URL', admin: true },
];

/** A session ends this long after its last step (ms). */
export const SESSION_TIMEOUT = 5 * 60_000;
/** Sessions one bare JID holds at once; a new one ends the oldest. */
export const SESSIONS_PER_JID = 5;
/** Sessions the service holds at once; beyond, new ones are refused. */
export const MAX_SESSIONS = 1000;
/** Uploads shown per step. */
export const PAGE_SIZE = 50;

type Action = 'execute' | 'next' | 'prev' | 'complete' | 'cancel';
const ACTIONS: readonly string[] = ['execute', 'next', 'prev', 'complete', 'cancel'];

interface Session {
  id: string;
  node: string;
  /** The full JID that started it. */
  owner: string;
  bare: string;
  expiresAt: number;
  /** Whose uploads: the requester's, or the JID an admin named. */
  target?: string;
  stage: 'jid' | 'list' | 'confirm' | 'takedown';
  page: number;
  /** Ids offered on the page shown. */
  offered: string[];
  chosen: Set<string>;
  /** A page follows the one shown. */
  more: boolean;
  busy: boolean;
}

/** The answer to an IQ set with a <command/> (an IQ result or error). */
export type CommandAnswer = { type: 'result'; payload: Element } | { type: 'error'; error: Element };

/** A step's answer: the <command/> to send, or an error. */
type Step =
  | {
      status: 'executing' | 'completed';
      form?: Form;
      notes?: { type: 'info' | 'warn' | 'error'; text: string }[];
      actions?: { execute: 'next' | 'prev' | 'complete'; allowed: ('prev' | 'next' | 'complete')[] };
    }
  | { error: Element };

const commandError = (
  type: 'cancel' | 'modify' | 'wait' | 'auth',
  condition: string,
  text: string,
  specific?: string,
) =>
  ({
    error: stanzaError(type, condition, text, ...(specific ? [xml(specific, { xmlns: NS_COMMANDS })] : [])),
  }) as const;

const badPayload = (text: string) => commandError('modify', 'bad-request', text, 'bad-payload');
const badAction = (text: string) => commandError('modify', 'bad-request', text, 'bad-action');
const utc = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** One upload as one line of text. */
export function uploadLine(u: CommandUpload): string {
  const expiry = u.expires === null ? 'kept until deleted' : `expires ${utc(u.expires)}`;
  return `${u.filename} — ${formatSize(u.size)} — ${utc(u.storedAt)} — ${u.purpose} — ${expiry}`;
}

/** The ad-hoc commands of the component. */
export interface Commands {
  /** disco#items of node `http://jabber.org/protocol/commands`: the commands `from` may run. */
  items(from: string | undefined): Element;
  /** disco#info of a command node; undefined for an unknown node. */
  info(node: string): Element | undefined;
  /** Answers an IQ set with a <command/>. */
  execute(payload: Element, from: string | undefined): Promise<CommandAnswer>;
  /** Sessions open now. */
  readonly sessions: number;
}

/**
 * Creates the commands.
 *
 * @example
 * const commands = createCommands({ operations, domain: () => s.domain, mayUpload, adminJids: () => s.adminJids });
 * const answer = await commands.execute(payload, stanza.attrs.from);
 */
export function createCommands(options: CommandsOptions): Commands {
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const ops = options.operations;
  const sessions = new Map<string, Session>();

  const isAdmin = (bare: string): boolean =>
    options.adminJids().some((a) => {
      const jid = parseJid(a);
      return jid !== undefined && bareJid(jid) === bare;
    });
  const permitted = (requester: { bare: string; domain: string }): ((c: { admin: boolean }) => boolean) => {
    const admin = isAdmin(requester.bare);
    const user = admin || options.mayUpload(requester.bare, requester.domain);
    return (c) => (c.admin ? admin : user);
  };

  const sweep = (at: number): void => {
    for (const [id, s] of sessions) if (s.expiresAt <= at) sessions.delete(id);
  };

  const open = (node: string, owner: string, bare: string, at: number): Session | undefined => {
    sweep(at);
    const mine = [...sessions.values()].filter((s) => s.bare === bare).sort((a, b) => a.expiresAt - b.expiresAt);
    while (mine.length >= SESSIONS_PER_JID) sessions.delete(mine.shift()!.id);
    if (sessions.size >= MAX_SESSIONS) return undefined;
    const session: Session = {
      id: randomBytes(12).toString('base64url'),
      node,
      owner,
      bare,
      expiresAt: at + SESSION_TIMEOUT,
      stage: 'list',
      page: 0,
      offered: [],
      chosen: new Set(),
      more: false,
      busy: false,
    };
    sessions.set(session.id, session);
    return session;
  };

  const answer = (node: string, session: Session, step: Step): CommandAnswer => {
    if ('error' in step) {
      sessions.delete(session.id);
      return { type: 'error', error: step.error };
    }
    if (step.status === 'completed') sessions.delete(session.id);
    const actions =
      step.status === 'executing' && step.actions
        ? xml('actions', { execute: step.actions.execute }, ...step.actions.allowed.map((a) => xml(a)))
        : undefined;
    return {
      type: 'result',
      payload: xml(
        'command',
        { xmlns: NS_COMMANDS, node, sessionid: session.id, status: step.status },
        actions,
        ...(step.notes ?? []).map((n) => xml('note', { type: n.type }, n.text)),
        step.form ? dataForm(step.form) : undefined,
      ),
    };
  };

  /** A page of a user's uploads to look at (My uploads, Uploads of a user). */
  const showPage = async (session: Session, title: string, own: boolean): Promise<Step> => {
    const user = session.target!;
    const page = await ops.userUploads(user, session.page * pageSize, pageSize);
    const pages = Math.max(1, Math.ceil(page.total / pageSize));
    if (session.page >= pages && page.total > 0) {
      session.page = pages - 1;
      return showPage(session, title, own);
    }
    const fields: FormField[] = [
      {
        type: 'fixed',
        var: 'summary',
        label: 'Stored',
        values: [`${plural(page.total, 'upload')}, ${formatSize(page.bytes)}`],
      },
    ];
    if (session.page === 0) {
      const quota = await ops.quotaUse(user);
      const of = (limit: number | undefined) => (limit === undefined ? '(no quota)' : `of ${formatSize(limit)}`);
      fields.push(
        {
          type: 'fixed',
          var: 'quota',
          label: 'Storage quota',
          values: [`${formatSize(quota.stored.bytes)} ${of(quota.stored.limit)}`],
        },
        {
          type: 'fixed',
          var: 'daily',
          label: 'Uploaded in the last 24 hours',
          values: [`${formatSize(quota.daily.bytes)} ${of(quota.daily.limit)}`],
        },
      );
    }
    if (pages > 1)
      fields.push({ type: 'fixed', var: 'page', label: 'Page', values: [`${session.page + 1} of ${pages}`] });
    page.uploads.forEach((u, i) => fields.push({ type: 'fixed', var: `upload-${i}`, values: [uploadLine(u)] }));
    const more = session.page + 1 < pages;
    session.more = more;
    const form: Form = {
      type: more || session.page > 0 ? 'form' : 'result',
      title: own ? title : `${title}: ${user}`,
      fields,
    };
    if (!more && session.page === 0) return { status: 'completed', form };
    return {
      status: 'executing',
      form,
      actions: {
        execute: more ? 'next' : 'complete',
        allowed: [...(session.page > 0 ? ['prev' as const] : []), ...(more ? ['next' as const] : []), 'complete'],
      },
    };
  };

  /** A page of the user's uploads to choose from (Delete uploads). */
  const choosePage = async (session: Session): Promise<Step> => {
    const user = session.target!;
    const page = await ops.userUploads(user, session.page * pageSize, pageSize);
    if (page.total === 0)
      return { status: 'completed', notes: [{ type: 'info', text: 'You have no uploads stored.' }] };
    const pages = Math.max(1, Math.ceil(page.total / pageSize));
    // Uploads deleted meanwhile (elsewhere) can leave the page shown past the last one.
    if (session.page >= pages) {
      session.page = pages - 1;
      return choosePage(session);
    }
    session.offered = page.uploads.map((u) => u.id);
    const more = session.page + 1 < pages;
    const fields: FormField[] = [];
    if (pages > 1)
      fields.push({ type: 'fixed', var: 'page', label: 'Page', values: [`${session.page + 1} of ${pages}`] });
    fields.push(
      {
        type: 'list-multi',
        var: 'uploads',
        label: 'Uploads to delete',
        options: page.uploads.map((u) => ({ label: uploadLine(u), value: u.id })),
        values: session.offered.filter((id) => session.chosen.has(id)),
      },
      { type: 'boolean', var: 'confirm', label: 'Delete the chosen uploads for good (links to them stop working)' },
    );
    return {
      status: 'executing',
      form: {
        type: 'form',
        title: 'Delete uploads',
        instructions: more
          ? 'Choose uploads, then go on to the next page or confirm and finish.'
          : 'Choose uploads, confirm, and finish.',
        fields,
      },
      actions: {
        execute: more ? 'next' : 'complete',
        allowed: [...(session.page > 0 ? ['prev' as const] : []), ...(more ? ['next' as const] : []), 'complete'],
      },
    };
  };

  /** The confirmation of removing everything of session.target. */
  const confirmAll = async (session: Session, own: boolean): Promise<Step> => {
    const user = session.target!;
    const { total, bytes } = await ops.userUploads(user, 0, 0);
    session.stage = 'confirm';
    const whose = own ? 'You have' : `${user} has`;
    return {
      status: 'executing',
      form: {
        type: 'form',
        title: own ? 'Delete all my uploads' : `Delete all uploads of ${user}`,
        fields: [
          {
            type: 'fixed',
            var: 'summary',
            values: [`${whose} ${plural(total, 'upload')} stored (${formatSize(bytes)}).`],
          },
          {
            type: 'boolean',
            var: 'confirm',
            label: 'Delete all of them for good (links to them stop working; this cannot be undone)',
          },
        ],
      },
      actions: { execute: 'complete', allowed: ['complete'] },
    };
  };

  const removed = async (session: Session, ids: readonly string[] | 'all'): Promise<Step> => {
    const user = session.target!;
    const outcome = await ops.removeUploads(user, ids);
    const bytes = outcome.removed.reduce((sum, r) => sum + r.size, 0);
    options.log?.info('uploads removed via ad-hoc command', {
      by: session.bare,
      user,
      command: session.node,
      ids: outcome.removed.map((r) => r.id),
      ...(outcome.missing.length > 0 ? { missing: outcome.missing } : {}),
      ...(outcome.failed?.length ? { failed: outcome.failed } : {}),
    });
    if (outcome.failed?.length) {
      return commandError(
        'wait',
        'internal-server-error',
        `${plural(outcome.failed.length, 'upload')} could not be deleted (try again later); ${plural(outcome.removed.length, 'upload')} deleted`,
      );
    }
    if (outcome.missing.length > 0 && ids !== 'all') {
      return commandError(
        'cancel',
        'item-not-found',
        `${plural(outcome.missing.length, 'chosen upload')} ${outcome.missing.length === 1 ? 'is' : 'are'} gone or not ${session.target === session.bare ? 'yours' : "the user's"}; ${plural(outcome.removed.length, 'upload')} deleted`,
      );
    }
    return {
      status: 'completed',
      notes: [{ type: 'info', text: `Deleted ${plural(outcome.removed.length, 'upload')} (${formatSize(bytes)}).` }],
    };
  };

  const nothing: Step = { status: 'completed', notes: [{ type: 'info', text: 'Nothing was deleted.' }] };

  /** The first step of a command. */
  const start = async (session: Session): Promise<Step> => {
    switch (session.node) {
      case COMMAND_NODES.myUploads:
        session.target = session.bare;
        return showPage(session, 'My uploads', true);
      case COMMAND_NODES.deleteUploads:
        session.target = session.bare;
        return choosePage(session);
      case COMMAND_NODES.deleteAllMine: {
        session.target = session.bare;
        const { total } = await ops.userUploads(session.bare, 0, 0);
        if (total === 0) return { status: 'completed', notes: [{ type: 'info', text: 'You have no uploads stored.' }] };
        return confirmAll(session, true);
      }
      case COMMAND_NODES.takeDown:
        session.stage = 'takedown';
        return {
          status: 'executing',
          form: {
            type: 'form',
            title: 'Take down by URL',
            instructions:
              'Every stored copy of these bytes is deleted and the same bytes are refused from now on. ' +
              'Copies already downloaded, and caches, keep them.',
            fields: [
              {
                type: 'text-single',
                var: 'url',
                label: 'The download URL (or the upload id, or the sha256 of the bytes)',
                required: true,
              },
              { type: 'text-single', var: 'note', label: 'Why (kept in the blocklist)' },
              { type: 'boolean', var: 'confirm', label: 'Take it down (this cannot be undone here)' },
            ],
          },
          actions: { execute: 'complete', allowed: ['complete'] },
        };
      case COMMAND_NODES.userUploads:
      case COMMAND_NODES.deleteUserUploads:
        session.stage = 'jid';
        return {
          status: 'executing',
          form: {
            type: 'form',
            title: session.node === COMMAND_NODES.userUploads ? 'Uploads of a user' : 'Delete all uploads of a user',
            fields: [{ type: 'jid-single', var: 'jid', label: 'The bare JID of the user', required: true }],
          },
          actions: { execute: 'next', allowed: ['next'] },
        };
      default: {
        const s = await ops.statistics();
        const figure = (v: number | undefined, f: (n: number) => string) => (v === undefined ? 'unknown' : f(v));
        const limit = (v: number | undefined) => (v === undefined ? 'none' : formatSize(v));
        const fields: FormField[] = [
          { type: 'fixed', var: 'uploads', label: 'Stored uploads', values: [figure(s.uploads, String)] },
          { type: 'fixed', var: 'bytes', label: 'Stored bytes', values: [figure(s.bytes, formatSize)] },
          { type: 'fixed', var: 'pending', label: 'Pending slots', values: [figure(s.pendingBytes, formatSize)] },
          {
            type: 'fixed',
            var: 'disk',
            label: 'Disk',
            values: [s.disk ? `${formatSize(s.disk.freeBytes)} free of ${formatSize(s.disk.totalBytes)}` : 'unknown'],
          },
          {
            type: 'fixed',
            var: 'quotas',
            label: 'Quotas',
            values: [
              `per user ${limit(s.quotas.user)}, daily ${limit(s.quotas.daily)}, repository ${limit(s.quotas.global)}`,
            ],
          },
          ...s.topUploaders.map((u, i): FormField => ({
            type: 'fixed',
            var: `top-${i}`,
            label: i === 0 ? 'Top uploaders' : undefined,
            values: [`${u.jid} — ${plural(u.uploads, 'upload')}, ${formatSize(u.bytes)}`],
          })),
        ];
        return { status: 'completed', form: { type: 'result', title: 'Statistics', fields } };
      }
    }
  };

  /** A later step: the action and the submitted form of the step shown. */
  const proceed = async (
    session: Session,
    action: Exclude<Action, 'cancel'>,
    values: Map<string, string[]> | undefined,
  ): Promise<Step> => {
    if (session.stage === 'jid') {
      if (action !== 'next' && action !== 'execute' && action !== 'complete') return badAction('Give the JID first');
      const given = values?.get('jid')?.[0]?.trim() ?? '';
      const jid = parseJid(given);
      if (jid === undefined || jid.local === '' || jid.resource !== '')
        return badPayload('The JID must be a bare JID such as alice@example.org');
      session.target = bareJid(jid);
      session.stage = 'list';
      session.page = 0;
      if (session.node === COMMAND_NODES.userUploads) return showPage(session, 'Uploads of a user', false);
      return confirmAll(session, false);
    }
    if (session.stage === 'takedown') {
      if (action === 'prev' || action === 'next') return badAction('This step can only be completed or canceled');
      const target = values?.get('url')?.[0]?.trim() ?? '';
      const confirm = booleanValue(values?.get('confirm'));
      if (confirm === 'malformed') return badPayload('confirm must be true or false');
      if (target === '') return badPayload('Give the URL of the upload');
      if (confirm !== true) return { status: 'completed', notes: [{ type: 'info', text: 'Nothing was taken down.' }] };
      const note = values?.get('note')?.[0]?.trim() || undefined;
      const outcome = await ops.takeDown(target, `xmpp:${session.bare}`, note);
      if (outcome.kind === 'not-a-target')
        return badPayload('Not an upload URL, an upload id or a sha256 (64 hexadecimal digits)');
      if (outcome.kind === 'no-such-upload') return commandError('cancel', 'item-not-found', outcome.message);
      options.log?.info('content taken down via ad-hoc command', {
        by: session.bare,
        sha256: outcome.sha256,
        ids: outcome.removed.map((r) => r.id),
        ...(outcome.failed.length > 0 ? { failed: outcome.failed } : {}),
      });
      if (outcome.failed.length > 0)
        return commandError(
          'wait',
          'internal-server-error',
          `${plural(outcome.failed.length, 'copy', 'copies')} could not be deleted (try again later); the bytes are blocked`,
        );
      const bytes = outcome.removed.reduce((sum, r) => sum + r.size, 0);
      return {
        status: 'completed',
        notes: [
          {
            type: 'info',
            text:
              `Taken down: ${plural(outcome.removed.length, 'upload')} deleted (${formatSize(bytes)}); ` +
              `sha256 ${outcome.sha256} ${outcome.added ? 'is now blocked' : 'was blocked already'}.`,
          },
        ],
      };
    }
    if (session.stage === 'confirm') {
      if (action === 'prev' || action === 'next') return badAction('This step can only be completed or canceled');
      const confirm = booleanValue(values?.get('confirm'));
      if (confirm === 'malformed') return badPayload('confirm must be true or false');
      return confirm === true ? removed(session, 'all') : nothing;
    }
    if (session.node === COMMAND_NODES.deleteUploads) {
      const chosen = values?.get('uploads') ?? [];
      const confirm = booleanValue(values?.get('confirm'));
      if (confirm === 'malformed') return badPayload('confirm must be true or false');
      // Only what this page offered may be chosen: anything else is not (or no longer) theirs.
      const offered = new Set(session.offered);
      if (chosen.some((id) => !offered.has(id)))
        return commandError('cancel', 'item-not-found', 'A chosen upload is not one of the uploads offered');
      for (const id of session.offered) session.chosen.delete(id);
      for (const id of chosen) session.chosen.add(id);
      const total = (await ops.userUploads(session.target!, 0, 0)).total;
      const pages = Math.max(1, Math.ceil(total / pageSize));
      if (action === 'next' || (action === 'execute' && session.page + 1 < pages)) {
        if (session.page + 1 >= pages) return badAction('This is the last page');
        session.page++;
        return choosePage(session);
      }
      if (action === 'prev') {
        if (session.page === 0) return badAction('This is the first page');
        session.page--;
        return choosePage(session);
      }
      if (confirm !== true || session.chosen.size === 0) return nothing;
      return removed(session, [...session.chosen]);
    }
    // Looking at pages (My uploads, Uploads of a user).
    const own = session.node === COMMAND_NODES.myUploads;
    const title = own ? 'My uploads' : 'Uploads of a user';
    if (action === 'complete' || (action === 'execute' && !session.more)) return { status: 'completed' };
    if (action === 'prev') {
      if (session.page === 0) return badAction('This is the first page');
      session.page--;
      return showPage(session, title, own);
    }
    if (!session.more) return badAction('This is the last page');
    session.page++;
    return showPage(session, title, own);
  };

  const execute = async (payload: Element, from: string | undefined): Promise<CommandAnswer> => {
    const at = now();
    const requester = requesterOf(from);
    if (!requester)
      return { type: 'error', error: stanzaError('auth', 'forbidden', 'The request has no valid sender') };
    const node = payload.attrs.node;
    const actionText = payload.attrs.action ?? 'execute';
    if (typeof actionText !== 'string' || !ACTIONS.includes(actionText))
      return { type: 'error', error: badActionMalformed() };
    const action = actionText as Action;
    const command = COMMANDS.find((c) => c.node === node);
    if (command === undefined)
      return { type: 'error', error: stanzaError('cancel', 'item-not-found', 'No such command') };
    if (!permitted(requester)(command))
      return {
        type: 'error',
        error: stanzaError(
          'cancel',
          'forbidden',
          command.admin ? 'Only the service admins may run this command' : 'You may not use this upload service',
        ),
      };
    const values = submittedValues(payload);
    if (values === 'malformed')
      return { type: 'error', error: badPayload('The form is not a submitted data form').error };
    const sessionId = payload.attrs.sessionid;
    if (sessionId === undefined) {
      if (action !== 'execute')
        return { type: 'error', error: badAction('A command starts with execute; no session was given').error };
      const session = open(command.node, requester.jid, requester.bare, at);
      if (!session)
        return {
          type: 'error',
          error: stanzaError('wait', 'resource-constraint', 'Too many command sessions; try again in a few minutes'),
        };
      return answer(command.node, session, await guarded(session, () => start(session)));
    }
    const session = sessions.get(String(sessionId));
    if (!session || session.expiresAt <= at || session.owner !== requester.jid || session.node !== command.node) {
      if (session && session.expiresAt <= at) sessions.delete(session.id);
      return {
        type: 'error',
        error: stanzaError(
          'cancel',
          'not-allowed',
          'The session has expired; run the command again',
          xml('session-expired', { xmlns: NS_COMMANDS }),
        ),
      };
    }
    if (session.busy)
      return { type: 'error', error: stanzaError('wait', 'unexpected-request', 'The previous step is still running') };
    session.expiresAt = at + SESSION_TIMEOUT;
    if (action === 'cancel') {
      sessions.delete(session.id);
      return {
        type: 'result',
        payload: xml('command', { xmlns: NS_COMMANDS, node: command.node, sessionid: session.id, status: 'canceled' }),
      };
    }
    return answer(command.node, session, await guarded(session, () => proceed(session, action, values)));
  };

  const guarded = async (session: Session, run: () => Promise<Step>): Promise<Step> => {
    session.busy = true;
    try {
      return await run();
    } catch (err) {
      options.log?.error('ad-hoc command failed', { err, node: session.node, by: session.bare });
      return { error: stanzaError('wait', 'internal-server-error', 'The command failed; try again later') };
    } finally {
      session.busy = false;
    }
  };

  return {
    items(from) {
      const requester = requesterOf(from);
      const may = requester ? permitted(requester) : () => false;
      const jid = options.domain();
      return xml(
        'query',
        { xmlns: NS_DISCO_ITEMS, node: NS_COMMANDS },
        ...COMMANDS.filter(may).map((c) => xml('item', { jid, node: c.node, name: c.name })),
      );
    },
    info(node) {
      const command = COMMANDS.find((c) => c.node === node);
      if (!command) return undefined;
      return xml(
        'query',
        { xmlns: NS_DISCO_INFO, node },
        xml('identity', { category: 'automation', type: 'command-node', name: command.name }),
        xml('feature', { var: NS_COMMANDS }),
        xml('feature', { var: NS_DATA_FORMS }),
      );
    },
    execute,
    get sessions() {
      return sessions.size;
    },
  };
}

function badActionMalformed(): Element {
  return stanzaError('modify', 'bad-request', 'Unknown action', xml('malformed-action', { xmlns: NS_COMMANDS }));
}
