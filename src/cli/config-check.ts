/**
 * `fileupload config check`: validates the configuration file offline, like `nginx -t`, for
 * package scripts and CI. It runs the validation serve runs at start (every value, the rules
 * between properties, encrypted values decrypting, domain and sharedSecret set) without touching
 * the network or writing anything. On a cluster node the shared document is read when it lies in
 * the repository; one in the bucket (storage s3) is not fetched, and the check says so.
 */
import type { Command } from 'commander';
import { ExitCode } from './exit-codes.ts';
import { globalOptions } from './context.ts';
import { fail, notice, printJson } from './output.ts';
import { errCode } from '../errno.ts';
import type { Settings } from '../config/settings.ts';

/** One thing serve would refuse; `property` is absent when the file as a whole is the problem. */
export interface CheckProblem {
  property?: string;
  message: string;
}

/** What `config check` found. */
export interface CheckReport {
  /** True when serve would accept the file. */
  ok: boolean;
  file: string;
  problems: CheckProblem[];
  /** What was not checked, and why. */
  notes: string[];
}

/**
 * Registers `fileupload config check` under the `config` command.
 *
 * @example
 * registerConfigCheck(program.commands.find((c) => c.name() === 'config')!);
 */
export function registerConfigCheck(config: Command): void {
  config
    .command('check')
    .description('validate the configuration file offline, as serve does at start (exit 0 valid, 2 invalid)')
    .addHelpText(
      'after',
      `
Nothing is written and no server is contacted. On a cluster node whose shared configuration is
in the S3 bucket, the shared values are not read (the check says so).`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const report = await checkConfigFile(g.config);
      if (g.json) {
        printJson(report);
      } else if (report.ok) {
        process.stdout.write(`${report.file}: ok\n`);
      } else {
        const lines = report.problems.map((p) => (p.property ? `${p.property}: ${p.message}` : p.message));
        process.stderr.write(
          `fileupload: ${report.file}: serve would refuse it:\n${lines.map((l) => `  ${l}\n`).join('')}`,
        );
      }
      // Under --json the notes are in the report.
      if (!g.json) for (const note of report.notes) notice('note', note);
      if (!report.ok) {
        const problems = report.problems.map((p) => (p.property ? `${p.property}: ${p.message}` : p.message));
        fail('invalid-config', `${report.file}: serve would refuse it: ${problems.join('; ')}`, ExitCode.Usage);
      }
    });
}

/**
 * Validates the file as serve does at start and lists every problem found. Never throws for a
 * configuration problem; reads files only.
 *
 * @example
 * const { ok, problems } = await checkConfigFile('/etc/fileupload/openfire.xml');
 */
export async function checkConfigFile(file: string): Promise<CheckReport> {
  const [
    { readConfigDocument },
    { ConfigError, ConfigSyntaxError },
    { documentLayers, settingsFromLayers, requireProperties },
    { Resolver },
    { withClusterLayer, clusterOf, openSharedConfigStore },
    { FsSharedConfigStore },
  ] = await Promise.all([
    import('../config/edit.ts'),
    import('../config/errors.ts'),
    import('../config/load.ts'),
    import('../config/resolve.ts'),
    import('../cluster/config-layer.ts'),
    import('../cluster/shared-config/fs.ts'),
  ]);
  const report = (problems: CheckProblem[], notes: string[] = []): CheckReport => ({
    ok: problems.length === 0,
    file,
    problems,
    notes,
  });
  const asProblems = (err: unknown): CheckProblem[] => {
    if (err instanceof ConfigError && err.problems.length > 0)
      return err.problems.map((p) => ({ property: p.property, message: `${p.message} (rule: ${p.rule})` }));
    if (err instanceof ConfigError) return [{ message: err.message }];
    const code = errCode(err);
    if (typeof code === 'string') return [{ message: `cannot read: ${code} (${(err as Error).message})` }];
    throw err;
  };

  let read;
  try {
    read = await readConfigDocument(file);
  } catch (err) {
    if (err instanceof ConfigSyntaxError) return report([{ message: err.message }]);
    return report(asProblems(err));
  }
  if (read.content === undefined) return report([{ message: 'file not found' }]);

  let layers;
  const notes: string[] = [];
  let sharedUnread = false;
  try {
    const local = documentLayers(read);
    // Offline: a shared document in the repository is a file; one in the bucket needs the network.
    const { enabled, store } = clusterOf(local);
    const inBucket = enabled && store !== undefined && !(store instanceof FsSharedConfigStore) ? store : undefined;
    sharedUnread = inBucket !== undefined;
    if (inBucket)
      notes.push(
        `the shared configuration in the bucket (${inBucket.location}) was not read: values set there are not checked`,
      );
    layers = await withClusterLayer(local, (l) => {
      const s = openSharedConfigStore(l);
      return s instanceof FsSharedConfigStore ? s : undefined;
    });
  } catch (err) {
    return report(asProblems(err));
  }

  // domain and sharedSecret may be in a shared document that was not read: then they are not required here.
  const required = sharedUnread ? [] : (['domain', 'sharedSecret'] as const);
  const problems: CheckProblem[] = [];
  try {
    requireProperties(settingsFromLayers(layers), required);
  } catch (err) {
    problems.push(...asProblems(err));
    // Invalid values stop serve before it looks at the required ones; name both at once here.
    const resolver = new Resolver(layers);
    const texts: Record<string, string | undefined> = {};
    for (const k of required) {
      try {
        texts[k] = resolver.resolve(k).text;
      } catch {
        texts[k] = 'undecryptable'; // already named among the invalid values
      }
    }
    try {
      requireProperties(texts as unknown as Settings, required);
    } catch (missing) {
      for (const m of asProblems(missing)) if (!problems.some((p) => p.property === m.property)) problems.push(m);
    }
  }
  return report(problems, notes);
}
