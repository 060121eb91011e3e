import pkg from '../package.json' with { type: 'json' };

/** The application version from package.json (inlined by the bundler). */
export const appVersion: string = pkg.version;

/** `fileupload --version` output: the app and the Node it runs on (the embedded one in the binary). */
export function versionText(): string {
  return `fileupload ${appVersion} (node ${process.version})`;
}
