/**
 * Runs every doctor check and returns the report in a fixed order. Independent checks run at the
 * same time; each has its own short timeout, so a run takes a few seconds at worst.
 *
 * Order: config, repository, same-filesystem, free-space, ownership, slot-secret,
 * config-permissions, tls, xmpp, web-port, announced-url, clock, clamav, and user-upload (with --as).
 */
import type { Settings } from '../config/settings.ts';
import { adminEndpoints, fetchLiveStatus, type LiveStatus } from './admin.ts';
import { notTested, roundTrip, roundTripVerdict, type RoundTripOutcome } from './announced-url.ts';
import { clamavVerdict, gatherClamavFacts } from './clamav.ts';
import { clockVerdict, ntpSynchronized } from './clock.ts';
import { checkConfig, cliFor } from './config-check.ts';
import { configFilesOf, configPermissionsVerdict, gatherConfigFileFacts } from './config-permissions.ts';
import { gatherOwnershipFacts, ownershipVerdict, CHECK as OWNERSHIP_CHECK } from './ownership.ts';
import { gatherRepositoryFacts, repositoryVerdicts } from './repository.ts';
import { skip, summarize, type CheckResult, type DoctorSummary } from './result.ts';
import { slotSecretVerdict } from './slot-secret.ts';
import { readTlsFiles, tlsVerdict } from './tls.ts';
import { checkUserPath, type BareJid } from './user-path.ts';
import { answersLikeServe, localAddressFor, tryBind, webPortVerdict } from './web-port.ts';
import { componentVerdict, liveVerdict, probeComponent, CHECK as XMPP_CHECK } from './xmpp-component.ts';

/** Default timeout of each network step. */
export const DEFAULT_TIMEOUT_MS = 4000;

export interface DoctorOptions {
  configFile: string;
  /** Per network step (connect, answer). */
  timeoutMs?: number;
  /** Run the user path as this account (doctor --as). */
  as?: {
    jid: BareJid;
    password: string;
    host?: string;
    port?: number;
    /** Verify the XMPP server's certificate (default true). */
    verifyTls?: boolean;
  };
  /** Host name for the announcedWebHost default (tests). */
  hostname?: () => string;
  /**
   * Called once the configuration and the files only root may read (configuration, TLS key) are
   * read, before anything looks at or writes into the repository: the CLI run as root becomes
   * the repository's owner there (src/repository/owner.ts).
   */
  beforeRepository?: (settings: Settings) => Promise<unknown>;
}

export interface DoctorReport {
  results: CheckResult[];
  summary: DoctorSummary;
  /**
   * The configuration could not be read or has invalid values, so nothing else was checked
   * (the CLI exits 2 then).
   */
  configUnusable: boolean;
}

/**
 * Runs the checks.
 *
 * @example
 * const report = await runDoctor({ configFile: '/etc/fileupload/openfire.xml' });
 * process.exitCode = report.summary.ok ? 0 : 1;
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cli = cliFor(options.configFile);
  const config = await checkConfig(options.configFile, options.hostname ? { hostname: options.hostname } : {});
  const settings = config.settings;
  if (settings === undefined) {
    const results = [config.result];
    return { results, summary: summarize(results), configUnusable: true };
  }

  const [tlsFiles, configFiles] = await Promise.all([
    readTlsFiles(settings.tlsCertificate, settings.tlsKey),
    gatherConfigFileFacts(configFilesOf(options.configFile, settings)),
  ]);
  await options.beforeRepository?.(settings);

  const live = await fetchLiveStatus(adminEndpoints(settings), Math.min(timeoutMs, 1500));
  const tlsOn = settings.tlsCertificate !== undefined && settings.tlsKey !== undefined;
  // Whether serve listens decides whether a handshake would disturb it: learn that first.
  const webProbe = (async () => {
    const bind = await tryBind(settings.webHost, settings.webPort);
    const serveAnswers =
      bind.kind === 'in-use' &&
      (await answersLikeServe(
        localAddressFor(settings.webHost),
        settings.webPort,
        tlsOn,
        settings.announcedWebContextRoot,
        timeoutMs,
      ));
    return { bind, serveAnswers };
  })();
  const [[repository, ownership], ntp, web, xmpp, clamav] = await Promise.all([
    settings.storage === 's3'
      ? import('./bucket.ts').then(async (b) => [await b.gatherBucketFacts(settings, timeoutMs), undefined] as const)
      : // After the write probe, which the walk must not see half-way.
        gatherRepositoryFacts(settings.fileRepo, settings.maxFileSize).then(
          async (r) => [r, await gatherOwnershipFacts(settings.fileRepo)] as const,
        ),
    ntpSynchronized(),
    webProbe,
    webProbe.then((w) => xmppCheck(settings, live, live !== undefined || w.serveAnswers, timeoutMs, cli)),
    gatherClamavFacts(settings, timeoutMs),
  ]);

  const serveRunning = live !== undefined || web.serveAnswers;
  let trip: RoundTripOutcome | undefined;
  let tripResult: CheckResult;
  const base = `${settings.announcedWebProtocol}://${settings.announcedWebHost}:${settings.announcedWebPort}${settings.announcedWebContextRoot}`;
  if (!serveRunning) {
    tripResult = notTested(
      base,
      'serve is not running',
      'start serve (systemctl start fileupload) and run doctor again',
    );
  } else if (settings.slotSecret === undefined) {
    tripResult = notTested(
      base,
      'slotSecret is not set, so doctor cannot sign a probe slot',
      'see the slot-secret check',
    );
  } else {
    trip = await roundTrip(settings, settings.slotSecret, timeoutMs);
    tripResult = roundTripVerdict(trip, cli);
  }

  const others: Array<{ who: string; time: number }> = [];
  if (live?.serveTime !== undefined) others.push({ who: "serve's admin API", time: live.serveTime });
  if (trip?.serverDate !== undefined) others.push({ who: `the server answering ${base}`, time: trip.serverDate });

  const results: CheckResult[] = [
    config.result,
    ...('bucket' in repository
      ? (await import('./bucket.ts')).bucketVerdicts(repository, cli)
      : repositoryVerdicts(repository, cli)),
    ownership === undefined ? skip(OWNERSHIP_CHECK, 'storage is s3: no files to own') : ownershipVerdict(ownership),
    slotSecretVerdict(settings.slotSecret, settings.sharedSecret, cli),
    configPermissionsVerdict(configFiles),
    tlsVerdict({
      protocol: settings.announcedWebProtocol,
      host: settings.announcedWebHost,
      port: settings.announcedWebPort,
      webPort: settings.webPort,
      ...tlsFiles,
      now: Date.now(),
    }),
    xmpp,
    webPortVerdict(
      {
        host: settings.webHost,
        port: settings.webPort,
        bind: web.bind,
        serveAnswers: web.serveAnswers,
        serveRunning: live !== undefined,
      },
      cli,
    ),
    tripResult,
    clockVerdict({ now: Date.now(), others, ntpSynchronized: ntp }),
    clamavVerdict(clamav, cli),
  ];
  if (options.as !== undefined) {
    results.push(await checkUserPath(settings, { ...options.as, timeoutMs, configCli: cli }));
  }
  return { results, summary: summarize(results), configUnusable: false };
}

async function xmppCheck(
  settings: Settings,
  live: LiveStatus | undefined,
  serveRunning: boolean,
  timeoutMs: number,
  cli: string,
): Promise<CheckResult> {
  if (settings.domain === '') return skip(XMPP_CHECK, 'domain is not set (see the config check)');
  const target = { host: settings.xmppHost, port: settings.xmppPort, domain: settings.domain };
  if (live?.xmpp !== undefined) {
    // Never a second handshake next to serve's; a bare stream open tells whether the server answers.
    const probe =
      live.xmpp.state === 'online' || live.xmpp.state === 'standby'
        ? undefined
        : await probeComponent(target, undefined, timeoutMs);
    return liveVerdict(live.xmpp, probe, target, cli);
  }
  if (settings.sharedSecret === undefined) {
    const probe = await probeComponent(target, undefined, timeoutMs);
    if (probe.kind === 'opened')
      return skip(
        XMPP_CHECK,
        `${target.host}:${target.port} answers as a component port; the secret is not set, so no handshake was tried`,
      );
    return componentVerdict(probe, target, cli);
  }
  return componentVerdict(
    await probeComponent(target, serveRunning ? undefined : settings.sharedSecret, timeoutMs),
    target,
    cli,
  );
}
