"""Uploads one file with slixmpp's own XEP-0363 plugin, unmodified: log in, discover the upload
service through the server's disco#items, request a slot, PUT (aiohttp). Prints {"url": GET URL}.

Discovery: the plugin's find_upload_service() goes through xep_0030.get_info_from_domain(), which
in Debian 12's slixmpp 1.8.3 passes coroutines to asyncio.wait() — a TypeError on Python 3.11.
So this script walks disco#items → disco#info itself with the library's get_items()/get_info()
and the plugin's own selection rule (identity store/file + the :0 feature), then hands the
service to upload_file(), which requests the slot and PUTs with the library's code.

usage: python3 slixmpp_upload.py JID PASSWORD C2S_PORT FILE
Exit 0 on success; 1 with the error on stderr otherwise.
"""
import asyncio
import json
import sys

from slixmpp import ClientXMPP


async def main() -> int:
    jid, password, port, path = sys.argv[1:5]
    xmpp = ClientXMPP(jid, password)
    for plugin in ('xep_0030', 'xep_0128', 'xep_0363'):
        xmpp.register_plugin(plugin)
    done = asyncio.get_running_loop().create_future()

    def fail(error):
        if not done.done():
            done.set_exception(error)

    async def discover():
        disco = xmpp['xep_0030']
        items = await disco.get_items(xmpp.boundjid.domain, timeout=10)
        for item in items['disco_items']['items']:
            try:
                info = await disco.get_info(item[0], timeout=10)
            except Exception:  # an unreachable item: skip it, as get_info_from_domain does
                continue
            identities = info['disco_info']['identities']
            features = info['disco_info']['features']
            if any(i[0] == 'store' and i[1] == 'file' for i in identities) and 'urn:xmpp:http:upload:0' in features:
                return info
        raise RuntimeError('no upload service in disco#items of ' + xmpp.boundjid.domain)

    async def on_session_start(_event):
        try:
            info = await discover()
            upload = xmpp['xep_0363']
            upload.upload_service = info['from']
            for form in info['disco_info'].iterables:
                values = form['values']
                if values['FORM_TYPE'] == ['urn:xmpp:http:upload:0']:
                    upload.max_file_size = int(values['max-file-size'])
            url = await upload.upload_file(path, timeout=30)
            if not done.done():
                done.set_result(url)
        except Exception as error:  # report whatever the library raised
            fail(error)

    xmpp.add_event_handler('session_start', on_session_start)
    xmpp.add_event_handler('failed_auth', lambda _e: fail(RuntimeError('authentication failed')))
    xmpp.add_event_handler('connection_failed', lambda e: fail(RuntimeError(f'connection failed: {e}')))
    # Loopback test servers speak plain c2s (no TLS).
    xmpp.connect(address=('127.0.0.1', int(port)), force_starttls=False, disable_starttls=True)
    try:
        url = await asyncio.wait_for(done, 60)
    except Exception as error:
        print(f'{type(error).__name__}: {error}', file=sys.stderr)
        return 1
    finally:
        xmpp.disconnect()
    print(json.dumps({'url': url}))
    return 0


if __name__ == '__main__':
    sys.exit(asyncio.run(main()))
