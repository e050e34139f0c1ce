"""The ``aflab`` group: every verb, and the one place an error or an interrupt is worded.

Each verb lives in its own module and imports only Click at load time, so ``aflab --help``
starts without loading Inspect.
"""

from __future__ import annotations

import signal
from typing import Any

import click

from aflab.cli.agreement import agreement
from aflab.cli.antilab import antilab
from aflab.cli.calibrate import calibrate
from aflab.cli.organism import organism
from aflab.cli.paraphrase import paraphrase
from aflab.cli.power import power
from aflab.cli.probe import probe
from aflab.cli.prompt import prompt, variations
from aflab.cli.report import report
from aflab.cli.rescore import rescore
from aflab.cli.run import run
from aflab.cli.sdf import sdf
from aflab.cli.summary import summary
from aflab.cli.sweep import sweep
from aflab.cli.train import train
from aflab.cli.util import one_line
from aflab.core.errors import NothingToDo
from aflab.pipelines.interrupts import Interrupted, received_signal, sigterm_as_interrupt


class AflabGroup(click.Group):
    """The central handler. SIGTERM stops a verb as Ctrl-C does; an interrupted verb exits 130
    (SIGINT) or 143 (SIGTERM), having said what finished and how to resume. Any other error is
    one line and exit 1, unless ``--debug`` asks for the traceback. Click's own exits and errors
    pass through."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with sigterm_as_interrupt():
                return super().invoke(ctx)
        except Interrupted as stop:
            ctx.exit(stop.exit_code)
        except KeyboardInterrupt:
            signum = received_signal()
            click.echo(f"interrupted ({signal.Signals(signum).name})", err=True)
            ctx.exit(128 + signum)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except NothingToDo as done:
            click.echo(str(done))
            raise click.exceptions.Exit(0) from done
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(one_line(error)) from error


@click.group(cls=AflabGroup)
@click.version_option(package_name="aflab")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
def main(debug: bool) -> None:
    """Alignment-faking experiments on language models (built on Inspect AI)."""


for command in (
    run,
    summary,
    prompt,
    rescore,
    calibrate,
    agreement,
    report,
    variations,
    sweep,
    paraphrase,
    antilab,
    sdf,
    train,
    organism,
    probe,
    power,
):
    main.add_command(command)
