/**
 * Errors of the Openfire readers. Each names what it could not read — the file and line, or the
 * property — so the import command can print it as it stands and exit non-zero.
 */

/**
 * A file of the Openfire install is not in the shape Openfire writes.
 *
 * @example
 * throw new OpenfireFormatError('conf/security.xml', 'not well-formed XML: …');
 */
export class OpenfireFormatError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  constructor(file: string, message: string, line?: number) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`);
    this.name = 'OpenfireFormatError';
    this.file = file;
    this.line = line;
  }
}

/**
 * An encrypted property value that the key and algorithm of security.xml do not decrypt.
 *
 * @example
 * throw new OpenfireDecryptError('plugin.httpfileupload.clamavHost', 'not Openfire’s Blowfish format');
 */
export class OpenfireDecryptError extends Error {
  readonly property: string;
  constructor(property: string, reason: string) {
    super(`cannot decrypt property ${property}: ${reason}`);
    this.name = 'OpenfireDecryptError';
    this.property = property;
  }
}
