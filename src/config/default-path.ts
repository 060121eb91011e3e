/**
 * Where the configuration lives by default. A module of its own, importing nothing: every command
 * line names it (in --help too), and `fileupload --help` must not load what reading or writing
 * the file needs.
 */

/** Where the configuration lives when neither --config nor FILEUPLOAD_CONFIG says otherwise. */
export const DEFAULT_CONFIG_PATH = '/etc/fileupload/openfire.xml';
