"""Runs the upload service's ad-hoc commands with slixmpp's own XEP-0050 plugin, unmodified: log
in, list the commands the service offers this user (disco#items of the commands node, through
xep_0050.get_commands), then run one command step by step with xep_0050.send_command, each step
submitting an XEP-0004 form built with xep_0004.

usage: python3 slixmpp_commands.py JID PASSWORD C2S_PORT SERVICE [NODE STEPS_JSON]

STEPS_JSON is a list of steps after the first (execute): {"action": "next"|"prev"|"complete"|
"cancel", "values": {field: value or [values]}, "choose": [filename, ...], "sessionid": "..."}.
"choose" picks the options of the last form's "uploads" field whose label starts with one of the
names. Prints one JSON object: {"commands": [{node, name}], "steps": [{status, sessionid, notes,
actions, fields} or {error: {condition, type, text, specific}}]}; the run stops at the first
error or at a completed or canceled status.
Exit 0 when the script ran (errors of the service are in its output); 1 otherwise.
"""
import asyncio
import json
import sys

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError

NS_COMMANDS = 'http://jabber.org/protocol/commands'


def describe(iq):
    command = iq['command']
    form = command['form']
    fields = []
    for var, field in form.get_fields().items():
        value = field.get_value(convert=False)
        fields.append({
            'var': var,
            'type': field['type'],
            'label': field['label'],
            'values': value if isinstance(value, list) else ([] if value in (None, '') else [value]),
            'options': [{'label': o['label'], 'value': o['value']} for o in field.get_options()],
        })
    return {
        'status': command['status'],
        'sessionid': command['sessionid'],
        'notes': [{'type': t, 'text': text} for t, text in command['notes']],
        'actions': sorted(command['actions']),
        'form_type': form['type'] if fields else None,
        'fields': fields,
    }


def describe_error(error):
    err = error.iq['error']
    specific = [child.tag.split('}')[-1] for child in err.xml
                if child.tag.startswith('{' + NS_COMMANDS + '}')]
    return {'error': {'condition': err['condition'], 'type': err['type'], 'text': err['text'],
                      'specific': specific[0] if specific else None}}


async def main() -> int:
    jid, password, port, service = sys.argv[1:5]
    node = sys.argv[5] if len(sys.argv) > 5 else None
    steps = json.loads(sys.argv[6]) if len(sys.argv) > 6 else []
    xmpp = ClientXMPP(jid, password)
    for plugin in ('xep_0030', 'xep_0004', 'xep_0050'):
        xmpp.register_plugin(plugin)
    done = asyncio.get_running_loop().create_future()

    def fail(error):
        if not done.done():
            done.set_exception(error)

    async def run():
        adhoc = xmpp['xep_0050']
        items = await adhoc.get_commands(service, timeout=10)
        out = {'commands': [{'node': i[1], 'name': i[2]} for i in items['disco_items']['items']], 'steps': []}
        if node is None:
            return out
        try:
            iq = await adhoc.send_command(service, node, action='execute', timeout=20)
        except IqError as error:
            out['steps'].append(describe_error(error))
            return out
        last = describe(iq)
        out['steps'].append(last)
        for step in steps:
            if last.get('status') != 'executing':
                break
            values = dict(step.get('values', {}))
            if 'choose' in step:
                offered = next((f for f in last['fields'] if f['var'] == 'uploads'), {'options': []})['options']
                values['uploads'] = [o['value'] for o in offered
                                     if any(o['label'].startswith(name) for name in step['choose'])]
            payload = None
            if values:
                payload = xmpp['xep_0004'].make_form(ftype='submit')
                for var, value in values.items():
                    payload.add_field(var=var, value=value)
            try:
                iq = await adhoc.send_command(service, node, action=step.get('action', 'next'), payload=payload,
                                              sessionid=step.get('sessionid', last['sessionid']), timeout=20)
            except IqError as error:
                out['steps'].append(describe_error(error))
                break
            last = describe(iq)
            out['steps'].append(last)
        return out

    async def on_session_start(_event):
        try:
            result = await run()
            if not done.done():
                done.set_result(result)
        except Exception as error:  # report whatever the library raised
            fail(error)

    xmpp.add_event_handler('session_start', on_session_start)
    xmpp.add_event_handler('failed_auth', lambda _e: fail(RuntimeError('authentication failed')))
    xmpp.add_event_handler('connection_failed', lambda e: fail(RuntimeError(f'connection failed: {e}')))
    # Loopback test servers speak plain c2s (no TLS).
    xmpp.connect(address=('127.0.0.1', int(port)), force_starttls=False, disable_starttls=True)
    try:
        result = await asyncio.wait_for(done, 90)
    except Exception as error:
        print(f'{type(error).__name__}: {error}', file=sys.stderr)
        return 1
    finally:
        xmpp.disconnect()
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(asyncio.run(main()))
