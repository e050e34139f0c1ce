"""What ``aflab train rl`` will ask of models before it starts: the policy's completions, the
reward judge's calls and each measured checkpoint's run, per stage, priced.

Each training step generates ``per_device_train_batch_size`` completions per gradient
accumulation step on every process (``grpo_kwargs``: ``--batch-size`` prompts times
``--num-generations``; TRL's one generation batch per optimisation step), for the steps left to
train (all of them, or those after the checkpoint ``--resume`` continues from). The policy is
local: its tokens are counted (the base's own tokenizer where it is on this machine) and cost
nothing. With ``--reward-model`` the judge is asked, per completion, the compliance judge's
question on the training query and the final output. With ``--eval-every`` each measured
checkpoint is an ``aflab run`` of the held-out queries, planned as that run is
(``pipelines.cost.run_stages``) and counted once per checkpoint measured.

The lengths the models will write come from :class:`~aflab.pipelines.cost.Assumptions`
(``--assume``): a completion is the scratchpad and the output, cut at
``--max-completion-length``; the judge reads the output. *At most* takes every completion at
``--max-completion-length`` and judged whole, every judge reply ``JUDGE_MAX_TOKENS`` long, and
each checkpoint's run at its own bound. The expected figure takes every completion to be judged:
one without a closed ``<OUTPUT>`` is not, and a (request, output) asked before is answered from
Inspect's cache, so a run costs less.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from aflab.core.summary_types import CostEstimate
from aflab.data.loaders import builtin_queries, write_queries
from aflab.data.prices import PriceTable
from aflab.eval.scorers.judges.compliance import compliance_question
from aflab.llm.ask import JUDGE_MAX_TOKENS
from aflab.llm.tokens import REPLY_PREFIX_TOKENS, TokenCounter, token_counter
from aflab.models.embedded import EMBEDDED_MODEL
from aflab.organisms.rl.curve import curve_steps
from aflab.organisms.rl.data import QuerySplit, split_queries, training_rows
from aflab.organisms.rl.reward import TagReward
from aflab.organisms.rl.train import (
    HELDOUT_FILE,
    RLOptions,
    grpo_kwargs,
    measurement_spec,
    resume_point,
    run_spec,
)
from aflab.organisms.train.base import is_embedded
from aflab.pipelines.cost import run_stages
from aflab.pipelines.prepare import fit_examples, prepare
from aflab.pipelines.run import build_task
from aflab.pipelines.stages import Assumptions, Stage, check_budget, estimate_from_stages
from aflab.report.cost import PlanWords, format_plan
from aflab.spec import RunSpec

POLICY, REWARD = "rl: policy completions", "rl: reward judge"
# A measured checkpoint's stage (the checkpoint is the policy), counted over all of them.
MEASURE = "checkpoints: "
CHEAPER = "--max-steps, --batch-size, --num-generations or --eval-every lower it"


@dataclass(frozen=True)
class RLPlan:
    """The plan, and what it counted: the steps trained and the checkpoints measured."""

    estimate: CostEstimate
    steps: int  # training steps left to run
    start: int  # the step training starts from (a resumed run's checkpoint)
    completions_per_step: int
    processes: int
    measured: list[int]  # the steps whose checkpoint is measured

    def words(self) -> PlanWords:
        """What the printed plan says beside its numbers."""
        counted = (
            f"{self.steps} training steps from step {self.start}, {self.completions_per_step} "
            f"completions each ({self.processes} process{'es' if self.processes > 1 else ''}); "
        )
        counted += (
            f"checkpoints measured at steps {', '.join(map(str, self.measured))}"
            if self.measured
            else "no checkpoint measured (--eval-every)"
        )
        return PlanWords(
            assumed_per="completion and measured sample",
            at_most="every completion --max-completion-length long and judged whole, judge "
            "replies at their max_tokens; each checkpoint's run at its own bound",
            notes=(
                counted,
                "the reward judge is taken to read every completion: one without a closed "
                "<OUTPUT> is not judged, and a (request, output) asked before is answered from "
                "Inspect's cache",
            ),
        )


def policy_counter(base: str) -> tuple[str, TokenCounter]:
    """The policy's name in the plan and its counter: the base's own tokenizer where it is on
    this machine, its weights left unloaded (the embedded model's is its llama.cpp vocabulary,
    as ``aflab run --dry-run`` counts it; a local folder's is read by transformers)."""
    if is_embedded(base):
        return EMBEDDED_MODEL, token_counter(EMBEDDED_MODEL)
    return f"hf/{base}", token_counter(f"hf/{base}")


def measured_steps(start: int, max_steps: int, every: int, done: Sequence[int]) -> list[int]:
    """The steps whose checkpoint ``track.CurveCallback`` measures: the start, every ``every``-th
    step and the last, leaving out those the curve has a row for already (``done``)."""
    steps = {start, max_steps, *range(every * (start // every + 1), max_steps + 1, every)}
    return sorted(step for step in steps if step > max(done, default=-1))


def plan_rl(
    opts: RLOptions,
    prices: PriceTable,
    assumptions: Assumptions | None = None,
    processes: int = 1,
) -> RLPlan:
    """The plan of ``aflab train rl`` with ``opts`` on ``processes`` processes (accelerate's
    ``WORLD_SIZE``): the run's own refusals first (a folder holding another run, a resume that
    does not match), and nothing loaded, written or asked."""
    assume = assumptions or Assumptions()
    spec = run_spec(opts)
    config = spec.prompt_config()
    if not opts.reward_model:
        TagReward(config.setting, config.self_tag)  # refuses a setting it has no tag for
    split = split_queries(builtin_queries(config.setting), opts.heldout, opts.seed)
    checkpoint = resume_point(opts, split)
    start = int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint else 0
    kwargs = grpo_kwargs(opts, cuda=False, bf16_ok=False)
    per_step = (
        kwargs["per_device_train_batch_size"]
        * kwargs.get("gradient_accumulation_steps", 1)
        * processes
    )
    steps = opts.max_steps - start
    completions = steps * per_step
    rows = training_rows(spec, split.train)
    policy, counter = policy_counter(opts.base)
    counters = [counter]
    expected, at_most = _training(opts, rows, policy, counter, assume, completions)
    if opts.reward_model:
        judge = token_counter(opts.reward_model)
        counters.append(judge)
        question = compliance_question(config.setting)
        asked = fmean(judge.conversation([question.prompt(r["query"], "")]) for r in rows)
        reward = _reward_calls(opts, opts.reward_model, asked, assume, completions)
        expected.append(reward[0])
        at_most.append(reward[1])
    measured: list[int] = []
    if opts.eval_every:
        done = curve_steps(Path(opts.out))
        measured = measured_steps(start, opts.max_steps, opts.eval_every, done)
        stages = _measurements(opts, spec, split, counter, prices, assume, len(measured))
        expected += stages[0]
        at_most += stages[1]
        counters += stages[2]
    estimate = estimate_from_stages(expected, at_most, prices, counters, dataclasses.asdict(assume))
    return RLPlan(estimate, steps, start, per_step, processes, measured)


def _completion(assume: Assumptions, max_completion: int) -> float:
    """A completion's expected tokens: the scratchpad and the output, cut where TRL cuts it."""
    return min(assume.scratchpad_tokens + assume.output_tokens, max_completion)


def _training(
    opts: RLOptions,
    rows: list[dict[str, Any]],
    policy: str,
    counter: TokenCounter,
    assume: Assumptions,
    completions: int,
) -> tuple[list[Stage], list[Stage]]:
    """The policy's completions: each sends a training prompt (the system prompt and a
    free-tier user turn, drawn uniformly from ``rows``, TRL's) and writes one completion."""
    system = counter.conversation([rows[0]["prompt"][0]["content"]]) - REPLY_PREFIX_TOKENS
    prompt = system + fmean(counter.conversation([r["prompt"][1]["content"]]) for r in rows)
    written = _completion(assume, opts.max_completion_length)
    expected, at_most = Stage(POLICY, policy), Stage(POLICY, policy)
    expected.add(completions, completions * prompt, completions * written)
    at_most.add(completions, completions * prompt, completions * opts.max_completion_length)
    return [expected], [at_most]


def _reward_calls(
    opts: RLOptions, judge: str, asked: float, assume: Assumptions, completions: int
) -> tuple[Stage, Stage]:
    """The reward judge: per completion, the compliance question (``asked`` tokens, on
    average over the training queries) with the completion's output."""
    output = min(assume.output_tokens, _completion(assume, opts.max_completion_length))
    expected, at_most = Stage(REWARD, judge), Stage(REWARD, judge)
    expected.add(
        completions, completions * (asked + output), completions * assume.judge_reply_tokens
    )
    at_most.add(
        completions,
        completions * (asked + opts.max_completion_length),
        completions * JUDGE_MAX_TOKENS,
    )
    return expected, at_most


def _measurements(
    opts: RLOptions,
    spec: RunSpec,
    split: QuerySplit,
    counter: TokenCounter,
    prices: PriceTable,
    assume: Assumptions,
    checkpoints: int,
) -> tuple[list[Stage], list[Stage], list[TokenCounter]]:
    """Each measured checkpoint's ``aflab run``, planned as that run, times the checkpoints.
    The checkpoint is not written yet: its tokens are counted with its base's counter."""
    with tempfile.TemporaryDirectory(prefix="aflab-rl-plan-") as folder:
        # The run reads its queries from a file, as the measurement will (OUT/heldout.jsonl).
        heldout = write_queries(split.heldout, Path(folder) / HELDOUT_FILE)
        model = f"hf/{Path(opts.out) / 'checkpoints' / 'step-*'}"
        measure = measurement_spec(spec, opts, heldout).replace(model=model)
        notes: list[str] = []
        measure = fit_examples(prepare(measure, notes), notes)
        task = build_task(measure)
        planned = run_stages(measure, [task], prices, assume, False, counter)

    def repeated(stages: list[Stage]) -> list[Stage]:
        return [s.repeated(checkpoints, MEASURE + s.stage.removeprefix("policy: ")) for s in stages]

    return repeated(planned.expected), repeated(planned.at_most), list(planned.counters.values())


def announce(
    plan: RLPlan, dry_run: bool, max_cost: float | None, echo: Callable[[str], Any]
) -> None:
    """Print the plan for ``--dry-run``; refuse it when it is above ``--max-cost``."""
    if dry_run:
        echo("aflab train rl --dry-run: the plan; nothing is trained, called or written")
        echo(format_plan(plan.estimate, plan.words()))
    check_budget(plan.estimate, max_cost, CHEAPER)
