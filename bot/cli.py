"""`eoi-bot`: serve, chat, seed, import, announce, export, retention, person, teams-package, doctor, migrate
(README.md, "Commands")."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.config import load_settings
from bot.service import Service, open_service


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eoi-bot", description="Essex Resourced Provision EOI bot")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3978)
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="processes serving the port (PostgreSQL only): the kernel spreads connections between them",
    )
    chat = sub.add_parser("chat", help="talk to the bot in a terminal")
    chat.add_argument("--as", dest="role", choices=("officer", "headteacher"), required=True)
    chat.add_argument("--user")
    chat.add_argument("--school")
    seed = sub.add_parser("seed", help="load demo data")
    seed.add_argument("--demo", action="store_true", required=True)
    seed.add_argument("--if-empty", action="store_true", help="only when the register is empty")
    imp = sub.add_parser(
        "import", help="import the school register (ours, or the national register's establishment file) or need"
    )
    imp.add_argument("what", choices=("schools", "need"))
    imp.add_argument("file", type=Path)
    imp.add_argument("--window", help="the window the need belongs to (default: open, else next)")
    announce = sub.add_parser("announce", help="run due announcements and reminders once")
    announce.add_argument("--dry-run", action="store_true")
    export = sub.add_parser("export", help="CSV of EOIs")
    export.add_argument("--window")
    export.add_argument("--out", type=Path, help="write to this new file (created readable by you only)")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    retention = sub.add_parser("retention", help="remove records kept longer than their retention period")
    retention.add_argument("--dry-run", action="store_true", help="only show what would be removed")
    person = sub.add_parser("person", help="subject access and erasure for one person, by email")
    person_sub = person.add_subparsers(dest="person_command", required=True)
    person_export = person_sub.add_parser("export", help="everything held about the person, as JSON")
    person_export.add_argument("email")
    person_export.add_argument("--out", type=Path, help="write to this new file (created readable by you only)")
    person_export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    person_erase = person_sub.add_parser("erase", help="remove or pseudonymise everything about the person")
    person_erase.add_argument("email")
    person_erase.add_argument("--confirm", action="store_true", help="do it (without: show what would change)")
    for each in (person_export, person_erase):
        each.add_argument(
            "--id",
            dest="identities",
            action="append",
            default=[],
            metavar="PLATFORM:USER",
            help="also a chat identity with no email on record (e.g. console:head-114000); repeatable",
        )
    web_link = sub.add_parser("web-link", help="print a fresh sign-in link to the web form for a school")
    web_link.add_argument("urn")
    web_cmd = sub.add_parser("web", help="the web form's sign-ins")
    web_sub = web_cmd.add_subparsers(dest="web_command", required=True)
    revoke = web_sub.add_parser("revoke", help="end every session and sign-in link of a school")
    revoke.add_argument("urn")
    sub.add_parser("doctor", help="check the configuration, database, Slack, Teams and scheduler; exit 1 on a failure")
    sub.add_parser("migrate", help="create or upgrade the database's tables to this version (back up first)")
    package = sub.add_parser("teams-package", help="build the Teams app package")
    package.add_argument("--app-id", required=True)
    package.add_argument("--out", default="eoi-bot.zip")
    package.add_argument("--manifest-dir")
    menus = sub.add_parser("manifests", help="write the command menus in manifest/ from the command registry")
    menus.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file differs")
    slack = sub.add_parser("slack-manifest", help="print the Slack app manifest, its slash command from the registry")
    slack.add_argument("--socket-mode", action="store_true", help="the Socket Mode app (no request URLs)")
    slack.add_argument("--host", default="", help="the public HTTPS host of `eoi-bot serve`, for YOUR-HOST")
    return parser


async def _with_service(fn, *args):  # type: ignore[no-untyped-def]
    service = await open_service(load_settings())
    try:
        return await fn(service, *args)
    finally:
        await service.close()


async def _seed(service: Service, if_empty: bool) -> int:
    from dialogs.demo import seed_demo
    from storage.seed import is_empty

    async with service.db.session() as session:
        if if_empty and not await is_empty(session):
            print("Demo data already loaded.")
            return 0
        print(await seed_demo(session, now=service.clock.now()))
    return 0


async def _import(service: Service, what: str, file: Path, window_text: str | None) -> int:
    from storage import national_register
    from storage.register import import_need, import_schools
    from storage.windows import current_or_next, find_window, window_name

    try:
        with file.open("rb") as raw:
            first = raw.readline(64 * 1024)
        # The council's register, or the Department for Education's establishment file (its header says which),
        # in Windows-1252 as published.
        national = what == "schools" and national_register.is_national_register(first)
        encoding = national_register.encoding_of(first) if national else "utf-8-sig"
        # Read as it is parsed, a line at a time: the import stops at its limits (storage.register), so a huge
        # file costs no more than the rows read.
        text = file.open(encoding=encoding, newline="")
    except OSError as error:
        print(f"Can't read {file}: {error}", file=sys.stderr)
        return 2
    now = service.clock.now()
    with text:
        async with service.db.session() as session:
            if national:
                la_code = service.settings.la_code
                result = await national_register.import_national_register(
                    session, text, la_code=la_code, actor="cli", now=now
                )
                label = f"open mainstream schools of local authority {la_code} from the national register"
            elif what == "schools":
                result = await import_schools(session, text, actor="cli", now=now)
                label = "schools"
            else:
                window = await (find_window(session, window_text) if window_text else current_or_next(session, now))
                if window is None:
                    print("No window to attach the need to: add one first (or pass --window CODE).", file=sys.stderr)
                    return 2
                result = await import_need(session, text, window=window, actor="cli", now=now)
                label = f"need rows for {window_name(window)}"
    if not result.ok:
        print(f"{file}: nothing imported; fix these rows and try again:", file=sys.stderr)
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"Imported {result.rows} {label}.")
    for line in (*result.notes, *result.links):  # what was left out; headteachers the register links or no longer
        print(line)
    return 0


def _written(out: Path, text: str, force: bool) -> bool:
    """Write an export to a new private file (bot.files), saying why not when it can't."""
    from bot.files import write_private

    try:
        write_private(out, text, force=force)
    except FileExistsError:
        print(f"{out} already exists: nothing written (add --force to replace it).", file=sys.stderr)
        return False
    except OSError as error:
        print(f"Can't write {out}: {error.strerror or error}", file=sys.stderr)
        return False
    return True


async def _export(service: Service, window_text: str | None, out: Path | None, force: bool) -> int:
    from dialogs.officer_commands import export_csv
    from storage.eois import Filters
    from storage.windows import find_window

    async with service.db.session() as session:
        filters = Filters()
        if window_text:
            window = await find_window(session, window_text)
            if window is None:
                print(f"No window {window_text!r}.", file=sys.stderr)
                return 2
            filters = Filters(window_id=window.id)
        text = await export_csv(session, filters)
    if out:
        if not _written(out, text, force):
            return 2
        print(f"Wrote {text.count(chr(10)) - 1} EOIs to {out}.")
    else:
        sys.stdout.write(text)
    return 0


async def _announce(service: Service, dry_run: bool) -> int:
    from bot.announce import run_once
    from bot.app import build_app

    # Register the enabled channels' senders as `serve` does (nothing is served): without them every notice
    # would be planned with no destination, and so never sent.
    app = build_app(service)
    try:
        return await run_once(service, dry_run)
    finally:
        app.freeze()
        await app.on_cleanup.send(app)  # the channels' connection pools, as `serve` closes them on exit


async def _retention(service: Service, dry_run: bool) -> int:
    from storage import retention

    async with service.db.session() as session:
        report = await retention.apply(session, service.clock.now(), service.settings.retention_days, dry_run=dry_run)
    print("\n".join(report.lines))
    return 0


async def _person(
    service: Service, what: str, email: str, identities: list[str], out: Path | None, confirm: bool, force: bool
) -> int:
    from storage import subject_access

    try:
        subject = subject_access.Subject.parse(email, identities)
    except ValueError as error:
        print(f"eoi-bot: {error}", file=sys.stderr)
        return 2
    now = service.clock.now()
    async with service.db.session() as session:
        if what == "export":
            text = json.dumps(await subject_access.export(session, subject, now=now), indent=2, ensure_ascii=False)
        else:
            result = await subject_access.erase(session, subject, actor="cli", now=now, confirm=confirm)
    if what == "export":
        if out:
            if not _written(out, text + "\n", force):
                return 2
            print(f"Wrote everything held about {subject.email} to {out}.")
        else:
            sys.stdout.write(text + "\n")
        return 0
    print("\n".join(result.lines))
    # Anything still naming them is a failure a script must not miss: say where, and exit 1.
    return 1 if result.left else 0


async def _web_link(service: Service, urn: str) -> int:
    """A fresh link for an officer to send by hand, to the address the register holds (say so: only its owner may
    use it)."""
    from bot.web_links import WebLinks, school_link
    from storage.models import School

    settings = service.settings
    if not settings.web_enabled:
        print("eoi-bot: the web form is off: set EOI_WEB_BASE_URL and EOI_WEB_SECRET", file=sys.stderr)
        return 2
    async with service.db.session() as session:
        school = await session.get(School, urn.strip())
        if school is None:
            print(f"eoi-bot: no school with URN {urn} on the register", file=sys.stderr)
            return 2
        url = await school_link(
            session, WebLinks(settings.web_base_url, settings.web_secret), school, service.clock.now()
        )
    if url is None:
        print(f"eoi-bot: the register gives no headteacher email for {school.name}: a link names one", file=sys.stderr)
        return 2
    print(url)
    print(
        f"For {school.name} ({school.urn}), signing in as {school.headteacher_email}; it works for 14 days. Send it "
        "only to that address: anyone with it can act for the school.",
        file=sys.stderr,
    )
    return 0


async def _web_revoke(service: Service, urn: str) -> int:
    from storage import web_sessions
    from storage.models import School

    async with service.db.session() as session:
        school = await session.get(School, urn.strip())
        if school is None:
            print(f"eoi-bot: no school with URN {urn} on the register", file=sys.stderr)
            return 2
        ended = await web_sessions.revoke(session, school.urn, now=service.clock.now(), by="cli")
        await session.commit()
    print(f"Every web link sent to {school.name} ({school.urn}) stops working now; {ended} session(s) ended.")
    return 0


async def _migrate() -> int:
    """Upgrade the database to this version's migrations, saying from which to which (docs/DEPLOYMENT.md)."""
    from alembic.migration import MigrationContext

    from bot import service as wiring

    settings = load_settings()
    db = wiring.Database(settings.database_url)

    async def revision() -> str | None:
        async with db.engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())

    try:
        before = await revision()
        await db.upgrade()
        after = await revision()
    finally:
        await db.dispose()
    if before == after:
        print(f"The database is at migration {after}, the newest this version knows: nothing to do.")
    else:
        print(f"Upgraded the database from migration {before or '(empty)'} to {after}.")
    return 0


async def _chat(service: Service, role: str, user: str | None, school: str | None) -> int:
    from bot.app import build_app
    from bot.console import open_console

    # The enabled channels' senders, as `serve` registers them: `window preview` and `window open` then say
    # truly which schools can be reached (nothing is served and nothing connects).
    app = build_app(service)
    try:
        console = await open_console(service, role=role, user=user, school_urn=school)
        await console.run(sys.stdin)
    finally:
        app.freeze()
        await app.on_cleanup.send(app)
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            from bot.app import serve

            return serve(load_settings(), host=args.host, port=args.port, workers=args.workers)
        if args.command == "teams-package":
            from bot import teams_package

            extra = ["--manifest-dir", args.manifest_dir] if args.manifest_dir else []
            return teams_package.main(["--app-id", args.app_id, "--out", args.out, *extra])
        if args.command == "manifests":
            from bot import manifests

            return manifests.main(["--check"] if args.check else [])
        if args.command == "slack-manifest":
            from bot import manifests

            return manifests.slack_main([*(["--socket-mode"] if args.socket_mode else []), "--host", args.host])
        if args.command == "doctor":
            import os

            from bot import doctor

            return asyncio.run(doctor.run(dict(os.environ)))
        if args.command == "migrate":
            return asyncio.run(_migrate())
        if args.command == "web-link":
            return asyncio.run(_with_service(_web_link, args.urn))
        if args.command == "web":
            return asyncio.run(_with_service(_web_revoke, args.urn))
        if args.command == "chat":
            return asyncio.run(_with_service(_chat, args.role, args.user, args.school))
        if args.command == "seed":
            return asyncio.run(_with_service(_seed, args.if_empty))
        if args.command == "import":
            return asyncio.run(_with_service(_import, args.what, args.file, args.window))
        if args.command == "export":
            return asyncio.run(_with_service(_export, args.window, args.out, args.force))
        if args.command == "announce":
            return asyncio.run(_with_service(_announce, args.dry_run))
        if args.command == "retention":
            return asyncio.run(_with_service(_retention, args.dry_run))
        if args.command == "person":
            out, confirm, force = (getattr(args, name, None) for name in ("out", "confirm", "force"))
            return asyncio.run(
                _with_service(
                    _person, args.person_command, args.email, args.identities, out, bool(confirm), bool(force)
                )
            )
    except ValueError as error:  # a bad environment variable, e.g. EOI_NOW or EOI_OFFICERS
        print(f"eoi-bot: {error}", file=sys.stderr)
        return 2
    return 2
