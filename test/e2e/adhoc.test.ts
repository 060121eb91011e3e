/** The ad-hoc commands with the fs store (adhoc-suite.ts). */
import { adhocSuite } from './adhoc-suite.ts';

adhocSuite('fs', () => Promise.resolve({}));
