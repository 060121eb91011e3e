// Issue 3 §7 against prosody: discovery, every namespace and shape, every slot-request error.
import { xmppSuite } from './xmpp-suite.ts';

xmppSuite('prosody');
