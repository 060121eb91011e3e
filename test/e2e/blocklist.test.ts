/** Taking a file down with the fs store (blocklist-suite.ts). */
import { blocklistE2eSuite } from './blocklist-suite.ts';

blocklistE2eSuite('fs', () => Promise.resolve({}));
