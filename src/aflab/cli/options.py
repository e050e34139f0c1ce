"""Click options made from :class:`aflab.spec.RunSpec`: a verb takes every field that lists it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from aflab.cli.util import check_af_cut, check_model_name
from aflab.spec import Option, RunSpec, Verb, default_for, option_of, verb_fields

Command = Callable[..., Any]


def spec_options(verb: Verb, only: tuple[str, ...] | None = None) -> Callable[[Command], Command]:
    """Decorate ``verb``'s command with the spec's options for it (or ``only`` these)."""
    names = [n for n in verb_fields(verb) if only is None or n in only]

    def decorate(command: Command) -> Command:
        for name in reversed(names):
            command = _click_option(name, verb)(command)
        return command

    return decorate


def retry_options(command: Command) -> Command:
    """``--max-retries``, ``--timeout``, ``--attempt-timeout``: for verbs outside the spec
    (paraphrase, sdf) that call a model."""
    return spec_options("run", only=("max_retries", "timeout", "attempt_timeout"))(command)


def plan_options(plan: str, assume: str, checked: str) -> Callable[[Command], Command]:
    """``--dry-run``, ``--max-cost``, ``--prices`` and ``--assume`` of a verb outside the spec
    (``sdf generate``, ``train rl``): ``plan`` says what its plan holds, ``assume`` what it
    assumes, ``checked`` before what the budget is checked (it is not watched midway)."""
    options = [
        click.option(
            "--dry-run",
            is_flag=True,
            help=f"Print the plan ({plan}) and stop: nothing is called or written.",
        ),
        click.option(
            "--max-cost",
            type=click.FloatRange(min=0),
            default=None,
            metavar="USD",
            help=f"Refuse to start when the estimate is above it (checked before {checked} "
            "only: a run that started is not stopped midway).",
        ),
        click.option(
            "--prices",
            type=click.Path(dir_okay=False),
            default=None,
            metavar="FILE",
            help=option_of("prices").help,
        ),
        click.option(
            "--assume",
            default=None,
            metavar="KEY=VALUE,...",
            help=f"What the plan assumes: {assume}.",
        ),
    ]

    def decorate(command: Command) -> Command:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def lora_options(r: int, alpha: int, learning_rate: float) -> Callable[[Command], Command]:
    """``--lora-r``, ``--lora-alpha``, ``--learning-rate``/``--lr`` and ``--precision`` of a
    fine-tuning verb (``train sft``, ``organism control``), with that verb's defaults."""
    options = [
        click.option(
            "--lora-r", type=click.IntRange(min=1), default=r, show_default=True, help="LoRA rank."
        ),
        click.option(
            "--lora-alpha",
            type=click.IntRange(min=1),
            default=alpha,
            show_default=True,
            help="LoRA scaling (alpha / r multiplies the update).",
        ),
        click.option(
            "--learning-rate",
            "--lr",
            type=float,
            default=learning_rate,
            show_default=True,
            help="Peak rate.",
        ),
        click.option(
            "--precision",
            type=click.Choice(["auto", "bf16", "fp32"]),
            default="auto",
            show_default=True,
            help="auto: bf16 where the device has it, else fp32.",
        ),
    ]

    def decorate(command: Command) -> Command:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def spec_from(verb: Verb, opts: dict[str, Any]) -> RunSpec:
    """Take the spec's options out of a command's parameters (the rest stay in ``opts``)."""
    return RunSpec(**{name: opts.pop(name) for name in verb_fields(verb) if name in opts})


def _click_option(name: str, verb: Verb) -> Callable[[Command], Command]:
    option = option_of(name)
    flag = "--" + name.replace("_", "-")
    help_text = option.helps.get(verb, option.help)
    default = default_for(name, verb)
    kwargs: dict[str, Any] = {"help": help_text, "show_default": option.show_default}
    if option.flag:
        return click.option(flag, is_flag=True, **kwargs)
    # on, off, or not said
    if option.switch or str(RunSpec.__dataclass_fields__[name].type) == "bool | None":
        return click.option(f"{flag}/--no-{flag[2:]}", default=None, **kwargs)
    kwargs["default"] = default
    kwargs["type"] = _type(name, option)
    if option.model_name:
        kwargs["callback"] = check_model_name
    if name in ("af_threshold", "af_maybe"):
        kwargs["callback"] = check_af_cut
    return click.option(flag, **kwargs)


def _type(name: str, option: Option) -> click.ParamType | type:
    annotation = str(RunSpec.__dataclass_fields__[name].type)
    if option.choices:
        return click.Choice(option.choices)
    if option.path == "out":
        return click.Path(dir_okay=False)
    if option.path:
        return click.Path(
            exists=option.path == "file",
            dir_okay=option.path == "dir",
            file_okay=option.path == "file",
        )
    bounded = option.minimum is not None or option.maximum is not None
    if annotation.startswith("int"):
        low, high = option.minimum, option.maximum
        return click.IntRange(min=low, max=high) if bounded else int  # type: ignore[arg-type]
    if annotation.startswith("float"):
        return click.FloatRange(min=option.minimum, max=option.maximum) if bounded else float
    return str
