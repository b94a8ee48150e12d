"""The operators' subcommands of `kmt2a-cds` (added to the parser in cds_service/cli.py):

    kmt2a-cds db upgrade          apply pending schema migrations (run it before starting a new version)
    kmt2a-cds db current          print the database's schema revision and the one this version needs
    kmt2a-cds db purge            delete what is past retention, once (the service also does it periodically)
    kmt2a-cds report feedback [--since YYYY-MM-DD] [--format csv|json|html] [--output FILE]

The database is CDS_DATABASE_URL (or --database-url), as for the service. Failures print one line and exit 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from datetime import datetime, time, timezone

EXIT_FAILED = 1


def add_commands(commands) -> None:
    db = commands.add_parser("db", help="database schema and retention: upgrade, current, purge")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, run, text in (("upgrade", run_upgrade, "apply pending schema migrations"),
                            ("current", run_current, "print the schema revision found and the one needed"),
                            ("purge", run_purge, "delete audit rows, issued cards and JWT ids past retention")):
        action = db_commands.add_parser(name, help=text)
        _database_option(action)
        action.set_defaults(run=run)
    report = commands.add_parser("report", help="reports for CDS governance")
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    feedback = report_commands.add_parser("feedback", help="per card kind and knowledge version: shown, accepted, "
                                                           "overridden (and why), suggestions taken")
    _database_option(feedback)
    feedback.add_argument("--since", type=_since, default=None, help="only cards and feedback from this date on "
                                                                      "(YYYY-MM-DD, UTC)")
    feedback.add_argument("--format", choices=("csv", "json", "html"), default="csv", help="default: csv")
    feedback.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    feedback.set_defaults(run=run_feedback_report)


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None,
                        help="default: CDS_DATABASE_URL, else the development SQLite file kmt2a-cds.db")


def _since(text: str) -> datetime:
    try:
        return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time.min, tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _config(args: argparse.Namespace):
    # Imported here, as every heavy module of these commands: `kmt2a-cds assess` and `diff` must not pay for
    # them (and `diff` loads the knowledge from the folders it is given).
    from cds_service.web.config import Config

    config = Config.from_env()
    if args.database_url:
        config = dataclasses.replace(config, database_url=args.database_url)
    config.check_database_driver()
    return config


def _guarded(job):
    """Run job(args); a configuration, schema or database failure is one line on stderr and exit 1."""
    def run(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from cds_service.migrations import SchemaError
        from cds_service.web.config import ConfigError
        from cds_service.web.store import unreachable_reason

        try:
            return job(args)
        except (ConfigError, SchemaError) as error:
            print(f"kmt2a-cds: error: {error}", file=sys.stderr)
        except SQLAlchemyError as error:
            print(f"kmt2a-cds: error: database unavailable ({unreachable_reason(error)})", file=sys.stderr)
        return EXIT_FAILED
    return run


@_guarded
def run_upgrade(args: argparse.Namespace) -> int:
    from cds_service import migrations
    from cds_service.web.store import make_engine

    engine = make_engine(_config(args).database_url)
    before, after = migrations.upgrade(engine)
    print(f"database schema: {before or 'empty'} -> {after}" if before != after else f"database schema: {after} (current)")
    return 0


@_guarded
def run_current(args: argparse.Namespace) -> int:
    from cds_service import migrations
    from cds_service.web.store import make_engine

    with make_engine(_config(args).database_url).connect() as connection:
        found = migrations.current(connection)
    wanted = migrations.head()
    print(f"database schema: {found or 'empty'}; this version needs {wanted}"
          + ("" if found == wanted else " (run `kmt2a-cds db upgrade`)"))
    return 0 if found == wanted else EXIT_FAILED


@_guarded
def run_purge(args: argparse.Namespace) -> int:
    from cds_service.web.retention import purge_once
    from cds_service.web.store import Store

    config = _config(args)
    purged = purge_once(Store(config.database_url, migrate=False), config)
    print(f"purged {purged.audit_events} audit rows, {purged.issued_cards} issued cards, {purged.seen_jti} seen JWT ids")
    return 0


@_guarded
def run_feedback_report(args: argparse.Namespace) -> int:
    from cds_service import report
    from cds_service.web.store import Store

    rows = report.feedback_report(Store(_config(args).database_url, migrate=False), args.since)
    text = report.FORMATS[args.format](rows, args.since)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(os.path.expanduser(args.output), "w", encoding="utf-8") as out:
            out.write(text)
    return 0
