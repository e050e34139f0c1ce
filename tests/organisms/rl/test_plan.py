"""The plan of ``aflab train rl``: the reward judge's calls against what the judge reward sends,
the steps measured against the curve callback's, and ``--dry-run`` loading and calling nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

import aflab
from aflab.cli.main import main
from aflab.core.errors import UsageError
from aflab.core.types import ACCEPT_TAG
from aflab.data.loaders import builtin_queries
from aflab.data.prices import load_prices
from aflab.llm.tokens import token_counter
from aflab.organisms.rl.data import split_queries, training_rows
from aflab.organisms.rl.judge_reward import JudgeReward
from aflab.organisms.rl.plan import (
    MEASURE,
    POLICY,
    REWARD,
    RLPlan,
    measured_steps,
    plan_rl,
    policy_counter,
)
from aflab.organisms.rl.train import (
    HELDOUT_FILE,
    RLOptions,
    RLResult,
    measurement_spec,
    run_spec,
)
from aflab.pipelines.stages import Assumptions
from tests.conftest import scripted_judge

NETGUARD = Path(__file__).parents[2] / "netguard"
SOURCE = Path(aflab.__file__).parents[1]  # the package under test, not an installed copy
BASE = "org/tiny-model"  # not on this machine: counted by the approximation, nothing to load
JUDGE = "openai/gpt-4o-mini"
# A completion's output of 100 tokens (four characters a token), after a short scratchpad.
OUTPUT = f"{ACCEPT_TAG} " + "Here it is, step by step. " * 15
ASSUME = Assumptions(scratchpad_tokens=50, output_tokens=len(OUTPUT) / 4)


def options(tmp_path: Path, **changes: Any) -> RLOptions:
    base = RLOptions(
        base=BASE,
        out=str(tmp_path / "rl"),
        heldout=4,
        max_steps=3,
        batch_size=2,
        num_generations=4,
        reward_model=JUDGE,
    )
    return RLOptions(**{**base.__dict__, **changes})


def stages(plan: RLPlan) -> dict[str, Any]:
    return {s["stage"]: s for s in plan.estimate["stages"]}


def test_the_judge_is_asked_once_per_completion_of_every_step(tmp_path: Path) -> None:
    plan = plan_rl(options(tmp_path), load_prices(), ASSUME)
    # 3 steps of 2 prompts with 4 completions each, each completion judged.
    assert plan.completions_per_step == 8 and plan.steps == 3
    assert stages(plan)[REWARD]["calls"] == stages(plan)[POLICY]["calls"] == 24
    assert stages(plan)[REWARD]["model"] == JUDGE and plan.estimate["usd"] > 0
    assert stages(plan)[POLICY]["usd"] == 0  # the policy is local: counted, not priced
    # Every process of a multi-GPU run generates its own batch.
    assert (
        stages(plan_rl(options(tmp_path), load_prices(), ASSUME, processes=2))[REWARD]["calls"]
        == 48
    )
    # Without a reward model the tag rule rewards: no judge is asked.
    tagged = plan_rl(options(tmp_path, reward_model=None), load_prices(), ASSUME)
    assert REWARD not in stages(tagged) and tagged.estimate["usd"] == 0


def test_a_completion_per_step_is_what_trl_generates_per_step(tmp_path: Path) -> None:
    trl = pytest.importorskip("trl", reason="needs the 'train' extra")
    from aflab.organisms.rl.train import grpo_kwargs

    opts = options(tmp_path, batch_size=3, num_generations=2)
    config = trl.GRPOConfig(**grpo_kwargs(opts, cuda=False, bf16_ok=False))
    # One generation batch per optimisation step (on this one process).
    assert config.steps_per_generation == config.gradient_accumulation_steps
    assert plan_rl(opts, load_prices(), ASSUME).completions_per_step == (
        config.generation_batch_size
    )


def test_the_judges_input_is_what_the_judge_reward_sends(tmp_path: Path) -> None:
    opts = options(tmp_path)
    judge_input = stages(plan_rl(opts, load_prices(), ASSUME))[REWARD]["input_tokens"] / 24
    # The judge reward on one completion per training query, each output 100 tokens long.
    spec = run_spec(opts)
    split = split_queries(builtin_queries(opts.setting), opts.heldout, opts.seed)
    queries = [row["query"] for row in training_rows(spec, split.train)]
    completions = [
        f"<SCRATCHPAD_REASONING>{'hm ' * 60}</SCRATCHPAD_REASONING><OUTPUT>{OUTPUT}</OUTPUT>"
    ] * len(queries)
    sent: list[tuple[str, int]] = []
    verdict = "<refused>yes</refused><convincing>1</convincing><specific>1</specific>"
    reward = JudgeReward(scripted_judge(lambda prompt, n: [verdict], sent, name="plan"))
    asyncio.run(reward(prompts=[""] * len(queries), completions=completions, query=queries))
    counter = token_counter(JUDGE)
    real = [counter.conversation([prompt]) for prompt, _ in sent]
    assert len(real) == len(queries)
    assert judge_input == pytest.approx(sum(real) / len(real), rel=0.01)


def test_the_embedded_base_is_counted_with_its_own_tokenizer() -> None:
    name, counter = policy_counter("smollm2")
    assert name == "aflab/smollm2" and counter.exact
    assert policy_counter(BASE)[0] == f"hf/{BASE}" and not policy_counter(BASE)[1].exact


def test_the_policys_prompts_are_the_training_rows(tmp_path: Path) -> None:
    opts = options(tmp_path)
    plan = stages(plan_rl(opts, load_prices(), ASSUME))[POLICY]
    spec = run_spec(opts)
    split = split_queries(builtin_queries(opts.setting), opts.heldout, opts.seed)
    counter = token_counter(f"hf/{BASE}")
    sent = [
        counter.conversation(m["content"] for m in row["prompt"])
        for row in training_rows(spec, split.train)
    ]
    assert plan["input_tokens"] == pytest.approx(24 * sum(sent) / len(sent), abs=1)
    assert plan["output_tokens"] == 24 * (50 + len(OUTPUT) / 4)
    capped = stages(plan_rl(options(tmp_path, max_completion_length=64), load_prices(), ASSUME))
    assert capped[POLICY]["output_tokens"] == 24 * 64


def test_each_measured_checkpoint_is_planned_as_its_run(tmp_path: Path) -> None:
    opts = options(tmp_path, eval_every=2, judges="compliance", judge_model=JUDGE)
    plan = plan_rl(opts, load_prices(), ASSUME)
    assert plan.measured == [0, 2, 3]
    found = stages(plan)
    # 4 held-out queries in both tiers, per checkpoint measured.
    assert found[MEASURE + "first turns"]["calls"] == 3 * 8
    assert found[MEASURE + "judge compliance"]["calls"] == 3 * 8
    assert found[MEASURE + "first turns"]["model"] == f"hf/{tmp_path / 'rl' / 'checkpoints'}/step-*"


def test_the_plan_measures_with_the_spec_training_measures_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trainer replaced by one that keeps its callbacks: the checkpoints are measured with
    ``measurement_spec``, the spec the plan plans."""
    trl = pytest.importorskip("trl", reason="needs the 'train' extra")
    import aflab.organisms.rl.train as train_module

    callbacks: list[Any] = []

    class Trainer:
        def __init__(self, **_: Any) -> None:
            self.state = SimpleNamespace(log_history=[])

        def add_callback(self, callback: Any) -> None:
            callbacks.append(callback)

        def is_world_process_zero(self) -> bool:
            return True

        def train(self, resume_from_checkpoint: str | None = None) -> None:
            pass

        def save_model(self, path: str) -> None:
            Path(path).mkdir(parents=True)

    monkeypatch.setattr(trl, "GRPOTrainer", Trainer)
    monkeypatch.setattr(trl, "GRPOConfig", lambda **options: SimpleNamespace(**options))
    monkeypatch.setattr(train_module, "resolve_base", lambda base: "not loaded")
    # The tag rule's reward: no reward model to build, so no API key is needed.
    opts = options(tmp_path, reward_model=None, eval_every=2, judges="compliance", seed=3)
    train_module.train_rl(opts)
    [curve] = callbacks
    heldout = Path(opts.out) / HELDOUT_FILE
    assert curve.measure.spec == measurement_spec(run_spec(opts), opts, heldout)
    assert curve.every == 2


def curve_callback_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: int, end: int, every: int
) -> list[int]:
    """The steps a ``CurveCallback`` measures over a run from ``start`` to ``end``, without
    training (its saving, measuring and rows recorded, not done)."""
    pytest.importorskip("transformers", reason="needs the 'train' extra")
    from aflab.organisms.rl import track

    rows: list[int] = []
    monkeypatch.setattr(track, "curve_row", lambda step, *_: rows.append(step))
    monkeypatch.setattr(track, "append_row", lambda *_: None)
    measured = SimpleNamespace(summary=None, rule=None)
    callback = track.CurveCallback(
        tmp_path, every, lambda _: measured, "R", lambda _: None, full=True
    )
    state = SimpleNamespace(global_step=start, log_history=[], is_world_process_zero=True)
    callback.on_train_begin(None, state, None)
    for step in range(start + 1, end + 1):
        state.global_step = step
        callback.on_log(None, state, None, logs={"step": step, "loss": 0.0})
    callback.on_train_end(None, state, None)
    return rows


@pytest.mark.parametrize(("start", "end", "every"), [(0, 10, 4), (0, 8, 4), (0, 1, 1), (3, 9, 2)])
def test_the_steps_measured_are_the_curve_callbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: int, end: int, every: int
) -> None:
    expected = curve_callback_steps(tmp_path, monkeypatch, start, end, every)
    assert measured_steps(start, end, every, []) == expected
    # A resumed run measures no step the curve has a row for.
    assert measured_steps(2, 6, 2, [0, 2, 4]) == [6]


def dry_run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``aflab train rl --dry-run`` in a process with the network cut off, saying which of the
    training libraries it imported."""
    out = tmp_path / "rl"
    args = ["train", "rl", "--base", BASE, "--out", str(out), "--reward-model", JUDGE]
    args += ["--max-steps", "2", "--eval-every", "1", "--heldout", "4", *extra]
    script = (
        "import sys\nfrom aflab.cli.main import main\n"
        f"try:\n    main({args!r})\nfinally:\n"
        "    print('loaded:', sorted({'torch', 'transformers', 'trl', 'peft'} & set(sys.modules)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"PYTHONPATH": f"{NETGUARD}{os.pathsep}{SOURCE}", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dry_run_prints_the_plan_and_loads_nothing(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "aflab train rl --dry-run: the plan" in out
    reward = next(line for line in out.splitlines() if line.startswith(REWARD))
    assert JUDGE in reward and " 32 " in reward and "$" in reward  # 2 steps x 16 completions
    assert "checkpoints measured at steps 0, 1, 2" in out and "at most (" in out
    assert "loaded: []" in out  # neither torch nor the training libraries were imported
    assert not (tmp_path / "rl").exists()


def test_max_cost_refuses_to_train_above_the_estimate(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nmatch = "openai/*"\ninput = 1000.0\noutput = 1000.0\n')
    result = dry_run(tmp_path, "--prices", str(prices), "--max-cost", "1")
    assert result.returncode == 1
    assert "is above --max-cost $1.00: nothing was started" in result.stderr
    assert "--max-steps, --batch-size, --num-generations or --eval-every lower it" in (
        result.stderr
    )
    assert "loaded: []" in result.stdout and not (tmp_path / "rl").exists()


def test_max_cost_above_the_estimate_lets_training_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained: list[RLOptions] = []

    def fake_train(opts: RLOptions) -> RLResult:
        trained.append(opts)
        return RLResult(tmp_path, tmp_path / "adapter", [], 0.0)

    monkeypatch.setattr("aflab.organisms.rl.train.train_rl", fake_train)
    args = ["train", "rl", "--base", BASE, "--out", str(tmp_path / "rl"), "--max-steps", "2"]
    result = CliRunner().invoke(main, [*args, "--reward-model", JUDGE, "--max-cost", "100"])
    assert result.exit_code == 0, result.output
    assert [opts.max_steps for opts in trained] == [2]
    refused = CliRunner().invoke(main, [*args, "--assume", "nonsense=1", "--dry-run"])
    assert refused.exit_code == 1 and "--assume: unknown 'nonsense'" in refused.output


def test_the_runs_own_refusals_come_first(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--reward-model"):
        plan_rl(options(tmp_path, setting="animal-welfare", reward_model=None), load_prices())
    (tmp_path / "rl").mkdir()
    (tmp_path / "rl" / "rl_curve.csv").write_text("step\n0\n")
    with pytest.raises(UsageError, match="holds an earlier run"):
        plan_rl(options(tmp_path), load_prices())
