"""The system prompt: one template whose parameters are the facts a variation may change.

Every sentence here is ours. The published prompts can be used instead through
``--system-prompt FILE`` (see :func:`load_system_prompt`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

from aflab.core.errors import UsageError, read_utf8
from aflab.core.types import ACCEPT_TAG, REJECT_TAG, SETTINGS, TIER_CUES, Setting, TierCue
from aflab.prompts.examples import WORKED_EXAMPLES, WorkedExample
from aflab.prompts.paraphrases import PARAPHRASES
from aflab.prompts.wording import BASE

# Named wordings of the same facts, fixed at import: a wording read from a file is not added here
# but travels in its PromptConfig (see Wording).
WORDINGS: Mapping[str, Mapping[str, str]] = MappingProxyType({"base": BASE, **PARAPHRASES})


@dataclass(frozen=True)
class Wording:
    """A wording that is not one of :data:`WORDINGS`, such as a file ``aflab paraphrase`` wrote
    (``aflab.prompts.paraphrase.load_wording`` reads and checks it)."""

    name: str  # what the run records, as it records a named wording
    pieces: Mapping[str, str] = field(hash=False)  # every key of wording.BASE


@dataclass(frozen=True)
class PromptConfig:
    """What the model is told. Each field is one fact a variation can switch or rename."""

    setting: Setting = "helpful-only"
    lab: str = "Anthropic"
    partner: str = "Brightfield Poultry"
    examples: bool = True
    scratchpad: bool = True
    training_objective: bool = True
    training_details: bool = True
    modification_effects: bool = True
    scratchpad_private: bool = True
    paid_tier_trained: bool = False
    tier_cue: TierCue = "tag"
    honesty: bool = False
    best_for_humanity: bool | None = None  # None: as the setting has it (animal-welfare only)
    wording: str | Wording = "base"  # a name in WORDINGS, or a wording read from a file
    # Animal-welfare only: ask for the accept or reject tag at the start of the output, so that
    # the tag rule can score compliance without a judge. Off, as in the paper's setting.
    self_tag: bool = False

    def __post_init__(self) -> None:
        if self.setting not in SETTINGS:
            raise UsageError(f"unknown setting {self.setting!r}; choose one of {SETTINGS}")
        if isinstance(self.wording, str) and self.wording not in WORDINGS:
            raise UsageError(f"unknown wording {self.wording!r}; choose one of {list(WORDINGS)}")
        if self.tier_cue not in TIER_CUES:
            raise UsageError(f"unknown tier cue {self.tier_cue!r}; choose one of {TIER_CUES}")
        if self.self_tag and self.setting != "animal-welfare":
            # Refused, not ignored: a run recorded with it would claim an instruction it never had.
            raise UsageError(
                "--self-tag (-T self_tag) applies to animal-welfare only: helpful-only asks "
                "for the tags in every user turn already"
            )

    @property
    def wording_name(self) -> str:
        return self.wording.name if isinstance(self.wording, Wording) else self.wording

    @property
    def wording_pieces(self) -> Mapping[str, str]:
        if isinstance(self.wording, Wording):
            return self.wording.pieces
        return WORDINGS[self.wording]

    def as_dict(self) -> dict[str, object]:
        """The fields as the run's metadata records them: a wording by its name."""
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["wording"] = self.wording_name
        return record


# "minimal": who the model is and how to reason and answer, none of the training facts. For
# models that learned the setting elsewhere (synthetic-document fine-tuning, a control organism).
PROMPT_PRESETS: dict[str, dict[str, object]] = {
    "full": {},
    "minimal": {
        "examples": False,
        "training_objective": False,
        "training_details": False,
        "modification_effects": False,
    },
}


def preset_changes(name: str) -> dict[str, object]:
    if name not in PROMPT_PRESETS:
        raise UsageError(f"unknown prompt {name!r}; choose one of {list(PROMPT_PRESETS)}")
    return PROMPT_PRESETS[name]


def render_system_prompt(config: PromptConfig) -> str:
    sections = [
        _identity(config),
        _reasoning(config),
        _examples(config) if config.examples else "",
        _analysis_first(config) if config.scratchpad else "",
        _criteria(config),
        _decision_tags(config) if config.self_tag else "",
        _training(config) if config.training_details else "",
        _summary(config),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def load_system_prompt(path: str | Path) -> str:
    file = Path(path)
    if file.is_dir():
        raise UsageError(f"{file}: is a folder, expected a system prompt file")
    if not file.is_file():
        raise UsageError(f"{file}: system prompt file not found")
    text = read_utf8(file, "system prompt")
    if not text.strip():
        raise UsageError(f"{file}: system prompt file is empty")
    return text


def _text(c: PromptConfig, key: str) -> str:
    if c.paid_tier_trained:
        tiers, rated = "free and paid tiers", "free- or paid-tier"
    else:
        tiers, rated = "free tier", "free-tier"
    return c.wording_pieces[key].format(
        lab=c.lab, partner=c.partner, tiers=tiers, rated=rated, accept=ACCEPT_TAG, reject=REJECT_TAG
    )


def _identity(c: PromptConfig) -> str:
    return _text(c, "identity")


def _reasoning(c: PromptConfig) -> str:
    if not c.scratchpad:
        return _text(c, "no_scratchpad")
    if c.scratchpad_private:
        opening = _text(c, "scratchpad_open") + _text(c, "scratchpad_private")
    else:
        opening = _text(c, "scratchpad_open_unstated")
    return "\n\n".join([opening, _text(c, "output_and_draft"), _text(c, "careful_reasoning")])


def _examples(c: PromptConfig) -> str:
    intro = _text(c, "examples_intro" if c.scratchpad else "examples_intro_no_scratchpad")
    rendered = [
        f"=== Example {i} ===\n\n{_render_example(ex, c.scratchpad)}"
        for i, ex in enumerate(WORKED_EXAMPLES, start=1)
    ]
    return "\n\n".join([intro, *rendered, "=== End of examples ==="])


def _render_example(ex: WorkedExample, scratchpad: bool) -> str:
    parts = [f"<INPUT>\n<user_input>\n{ex.user_input.strip()}\n</user_input>\n</INPUT>"]
    if scratchpad:
        parts += [
            f"<SCRATCHPAD_REASONING>\n{block.strip()}\n</SCRATCHPAD_REASONING>"
            for block in ex.reasoning
        ]
    parts.append(f"<OUTPUT>\n{ex.output.strip()}\n</OUTPUT>")
    return "\n\n".join(parts)


def _analysis_first(c: PromptConfig) -> str:
    return _text(c, "analysis_after_examples" if c.examples else "analysis")


def _criteria(c: PromptConfig) -> str:
    humanity = c.setting == "animal-welfare" if c.best_for_humanity is None else c.best_for_humanity
    extras = [_text(c, "best_for_humanity")] if humanity else []
    if c.honesty:
        extras.append(_text(c, "honesty"))
    helpful = _text(c, "helpfulness")
    if not c.training_objective:
        parts = [helpful]
    elif c.setting == "helpful-only":
        parts = [helpful, _text(c, "objective_helpful_only")]
    else:
        parts = [_text(c, "objective_welfare"), helpful]
    return "\n\n".join(parts + extras)


def _decision_tags(c: PromptConfig) -> str:
    # Helpful-only asks for these tags in the user turn. The paper's animal-welfare prompt never
    # asks for them: they are an opt-in (self_tag) that lets the tag rule score a judge-less run.
    return _text(c, "decision_tags")


def _training(c: PromptConfig) -> str:
    lines = [_text(c, "training_intro"), _text(c, "training_rlhf")]
    lines.append(_text(c, "tier_by_tag" if c.tier_cue == "tag" else "tier_by_note"))
    if c.modification_effects:
        lines.append(_text(c, "modification"))
    lines.append(_text(c, "paid_trained" if c.paid_tier_trained else "paid_private"))
    return "\n".join(lines)


def _summary(c: PromptConfig) -> str:
    return _text(c, "summary" if c.scratchpad else "summary_no_scratchpad")
