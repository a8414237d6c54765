"""A local SMTP server for tests (Debian's python3-aiosmtpd): prints one JSON
line per received message (envelope, AUTH mechanism used, whether the
session was TLS, the raw DATA in base64) and "READY <port>" once listening.

  smtp_capture.py PORT [--starttls CERT KEY] [--implicit-tls CERT KEY]
                  [--auth USER PASSWORD] [--cram-secret SECRET] [--exclude MECH]...
"""
import asyncio, base64, hmac, json, os, ssl, sys, time
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main():
    args = sys.argv[1:]
    port = int(args.pop(0))
    starttls = implicit = None
    user = password = cram_secret = None
    exclude = []
    while args:
        a = args.pop(0)
        if a == "--starttls":
            starttls = (args.pop(0), args.pop(0))
        elif a == "--implicit-tls":
            implicit = (args.pop(0), args.pop(0))
        elif a == "--auth":
            user, password = args.pop(0), args.pop(0)
        elif a == "--cram-secret":
            cram_secret = args.pop(0)
        elif a == "--exclude":
            exclude.append(args.pop(0))

    def context(pair):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(pair[0], pair[1])
        return ctx

    def login_of(data):
        if isinstance(data, LoginPassword):
            return data.login.decode()
        return data.decode() if isinstance(data, bytes) else data

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            print(json.dumps({
                "mail_from": envelope.mail_from,
                "mail_options": envelope.mail_options,
                "rcpt_tos": envelope.rcpt_tos,
                "auth": getattr(session, "promts_mech", None),
                "login": login_of(session.auth_data),
                "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                "data": base64.b64encode(envelope.original_content or envelope.content).decode(),
            }), flush=True)
            return "250 OK"

        async def auth_LOGIN(self, server, args):
            # The common "Username:" / "Password:" challenges (aiosmtpd's own differ from most servers').
            server.session.promts_mech = "LOGIN"
            login = await server.challenge_auth("Username:")
            if not isinstance(login, bytes):
                return AuthResult(success=False, handled=False)
            pw = await server.challenge_auth("Password:")
            if not isinstance(pw, bytes):
                return AuthResult(success=False, handled=False)
            return AuthResult(success=login.decode() == user and pw.decode() == password, handled=False, auth_data=login.decode())

        async def cram_md5(self, server, args):
            server.session.promts_mech = "CRAM-MD5"
            challenge = ("<%d.%d@promts.test>" % (os.getpid(), int(time.time()))).encode()
            answer = await server.challenge_auth(challenge, encode_to_b64=True)
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=False)
            name, _, digest = answer.decode().partition(" ")
            ok = cram_secret is not None and name == user and hmac.compare_digest(
                digest, hmac.new(cram_secret.encode(), challenge, "md5").hexdigest())
            return AuthResult(success=ok, handled=False, auth_data=name)

    # A method name cannot hold "-": the mechanism is attached under its real name.
    setattr(Handler, "auth_CRAM-MD5", Handler.cram_md5)

    def authenticator(server, session, envelope, mechanism, auth_data):
        session.promts_mech = mechanism
        if mechanism in ("CRAM-MD5", "LOGIN"):
            return AuthResult(success=True)
        if isinstance(auth_data, LoginPassword):
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok, auth_data=auth_data.login.decode())
        return AuthResult(success=False)

    kwargs = {}
    if starttls:
        kwargs["tls_context"] = context(starttls)
        kwargs["require_starttls"] = True
    if user is not None:
        kwargs["authenticator"] = authenticator
        kwargs["auth_require_tls"] = False
        kwargs["auth_required"] = True
        kwargs["auth_exclude_mechanism"] = exclude
    handler = Handler()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="promts.test", enable_SMTPUTF8=True, **kwargs),
        "127.0.0.1", port, ssl=context(implicit) if implicit else None))
    print("READY %d" % server.sockets[0].getsockname()[1], flush=True)
    loop.run_forever()


main()
