/** `slots rm` means gone with the fs store (slots-rm-suite.ts). */
import { slotsRmSuite } from './slots-rm-suite.ts';

slotsRmSuite('fs', () => Promise.resolve({}));
