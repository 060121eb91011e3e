// Issue 3 §7 against ejabberd: discovery, every namespace and shape, every slot-request error.
import { xmppSuite } from './xmpp-suite.ts';

xmppSuite('ejabberd');
