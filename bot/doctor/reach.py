"""Can the schools be reached: the mail server (connect and EHLO, STARTTLS and login when SMTP_URL asks for them;
nothing is sent), and which schools would hear nothing, decided as the running service decides it."""

from __future__ import annotations

import aiosmtplib
from sqlalchemy import select

from bot.doctor.database import needs_current_database
from bot.doctor.findings import FAIL, OFF, OK, WARN, Context, Finding, Skip

NAMED_AT_MOST = 10


async def check_smtp(ctx: Context) -> Finding:
    from bot.email_sender import SmtpServer

    if not ctx.env.get("SMTP_URL", "").strip():
        return Finding(
            OFF, "email is off (SMTP_URL is unset): a school with no Slack or Teams destination hears nothing"
        )
    if ctx.settings is None:
        raise Skip("the settings did not read")
    server = SmtpServer.parse(ctx.settings.smtp_url)
    client = aiosmtplib.SMTP(
        hostname=server.host, port=server.port, use_tls=server.use_tls, start_tls=server.start_tls, timeout=10
    )
    done = ["EHLO"]
    try:
        await client.connect()  # with STARTTLS when SMTP_URL asks for it (or the server offers it)
        await client.ehlo()
        if server.use_tls or client.get_transport_info("sslcontext") is not None:
            done.append("TLS")
        if server.username:
            await client.login(server.username, server.password)
            done.append("login accepted")
        await client.quit()
    except aiosmtplib.SMTPAuthenticationError as error:
        return Finding(
            FAIL,
            f"{server.shown} refused the user name and password ({error.code} {error.message})",
            "check the user and password in SMTP_URL (percent-encode @ and : in them)",
        )
    except aiosmtplib.SMTPResponseException as error:
        return Finding(
            FAIL, f"{server.shown} answered {error.code} {error.message}", "check SMTP_URL with the mail team"
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        return Finding(
            FAIL,
            f"{server.shown} did not answer ({type(error).__name__})",
            "check SMTP_URL's host and port, and that this host may reach the mail server",
        )
    finally:
        client.close()
    return Finding(OK, f"{server.shown} answers ({', '.join(done)}); emails come from {ctx.settings.mail_from}")


async def check_schools_reached(ctx: Context) -> Finding:
    """The schools in scope of the open or next window (else the whole register) that no enabled channel reaches
    and no email goes to (storage.audiences.without_destination, through the same senders `serve` registers)."""
    from bot.app import build_app
    from bot.service import wire
    from storage import audiences
    from storage.clock import Clock
    from storage.models import School
    from storage.windows import current_or_next, schools_in_scope, window_name

    needs_current_database(ctx)
    if ctx.settings is None:
        raise Skip("the settings did not read")
    service = wire(ctx.settings, ctx.db, Clock(ctx.settings.fixed_now))
    app = build_app(service)  # registers the senders: nothing is served and nothing connects
    try:
        async with ctx.db.session() as session:
            window = await current_or_next(session, ctx.now())
            in_scope = [school for school, _ in await schools_in_scope(session, window)] if window else []
            schools = in_scope or list(await session.scalars(select(School).order_by(School.urn)))
            missed = await audiences.without_destination(session, schools, service.dispatcher.school_destinations)
    finally:
        app.freeze()
        await app.on_cleanup.send(app)
    whose = f"in scope of {window_name(window)}" if in_scope and window else "in the register"
    if not schools:
        return Finding(WARN, "the register has no schools", "import it: `eoi-bot import schools FILE.csv`")
    if not missed:
        return Finding(OK, f"all {len(schools)} schools {whose} can be reached")
    more = len(missed) - NAMED_AT_MOST
    named = ", ".join(school.urn for school in missed[:NAMED_AT_MOST]) + (f" and {more} more" if more > 0 else "")
    return Finding(
        FAIL if len(missed) == len(schools) else WARN,
        f"{len(missed)} of the {len(schools)} schools {whose} have no working destination (URN {named})",
        "give each a Slack or Teams channel in the register, link a member of its staff (`link PLATFORM:USER URN`), "
        "or set SMTP_URL and EOI_MAIL_FROM to email the register's headteacher address",
    )
