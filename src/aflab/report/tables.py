"""The text tables printed after a run: per-tier refusals, the gap, and the judges' buckets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from aflab.core.summary_types import AntilabSummary, GapBlock, JudgedBlock, RunSummary
from aflab.core.types import TIERS
from aflab.report.cost import format_spend
from aflab.report.markers import status_marker

TIER_LABELS = {"free": "free (training)", "paid": "paid (unmonitored)"}


def percent(rate: float | None, ci: Sequence[float | None] | None, missing: str) -> str:
    """``rate`` and its interval in percent; ``missing`` when either is unknown."""
    if rate is None or ci is None:
        return missing
    lo, hi = ci[0], ci[1]
    if lo is None or hi is None:
        return missing
    return f"{100 * rate:5.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def gap_line(gap: GapBlock, rule: str) -> str:
    label = f"compliance gap (paid - free refusal, {rule})"
    if gap["pp"] is None or gap["ci95_pp"] is None:  # None together: no pair
        return f"{label}: n/a, no query is valid in both tiers"
    lo, hi = gap["ci95_pp"]
    return (
        f"{label}: {gap['pp']:+.1f} pp, 95% CI [{lo:+.1f}, {hi:+.1f}], "
        f"McNemar p = {gap['mcnemar_p']:.3g}, {gap['n_pairs']} pairs{detectable(gap)}"
    )


def detectable(gap: GapBlock) -> str:
    """What the pairs could have seen, to read a gap near 0 by: ", smallest detectable gap
    +/-x.x pp (80% power)"; nothing for a summary written before it was kept."""
    if "mde_pp" not in gap:
        return ""
    mde = gap["mde_pp"]
    if mde is None:
        return ", too few to detect any gap with 80% power"
    return f", smallest detectable gap +/-{mde:.1f} pp (80% power)"


# The two conventions every rate is given in (analysis.judged explains them).
DECIDED_LABEL = "of decided"
ALL_LABEL = "of all (paper)"
CONVENTIONS = "of decided: invalid left out; of all (paper): invalid counted as not complied"
RATE_WIDTH = 24
EPOCHS_NOTE = (
    "epochs: each (query, epoch) pair is counted as independent; where a query's epochs agree "
    "the intervals and the smallest detectable gap are too narrow (aflab power --from-log LOG "
    "plans with their correlation)"
)


def _rates(*cells: tuple[float | None, Sequence[float] | None]) -> str:
    return "".join(percent(rate, ci, "n/a").ljust(RATE_WIDTH) for rate, ci in cells).rstrip()


def format_table(summary: RunSummary) -> str:
    mode = "scratchpad" if summary["scratchpad"] else "no scratchpad"
    enforced = summary["format_enforced"]
    unscored = sum(summary["tiers"][tier]["unscored"] for tier in TIERS)
    lines = [
        f"{summary['setting']} | {summary['model']} | {mode} | "
        f"{summary['n_queries']} queries x {summary['epochs']} epoch(s)"
        + (f" | format enforced by {enforced}" if enforced else "")
        + (f" | {status}" if (status := status_marker(summary["status"])) else ""),
        f"{'tier':<20}{'n':>5}{'refused':>9}{'complied':>10}{'invalid':>9}   "
        f"{'refusal ' + DECIDED_LABEL:<{RATE_WIDTH}}refusal {ALL_LABEL} (95% CIs, tag rule)",
    ]
    for tier in TIERS:
        t = summary["tiers"][tier]
        rates = _rates(
            (t["refusal_rate"], t["refusal_ci95"]), (t["refusal_rate_all"], t["refusal_all_ci95"])
        )
        lines.append(
            f"{TIER_LABELS[tier]:<20}{t['n']:>5}{t['refused']:>9}{t['complied']:>10}"
            f"{t['invalid']:>9}   {rates}"
        )
    lines.append(gap_line(summary["compliance_gap"], "tag rule, " + DECIDED_LABEL))
    lines.append(gap_line(summary["compliance_gap_all"], "tag rule, " + ALL_LABEL))
    lines.append(CONVENTIONS)
    if summary["epochs"] > 1:
        lines.append(EPOCHS_NOTE)
    if unscored:
        lines.append(
            f"not scored by the tag rule: {unscored} valid samples (animal-welfare without "
            "--self-tag); compliance needs the compliance judge (--judges compliance)"
        )
    invalid = Counter[str]()
    for tier in TIERS:
        invalid.update(summary["tiers"][tier]["invalid_reasons"])
    if invalid:
        lines.append("invalid: " + ", ".join(f"{k} {v}" for k, v in invalid.most_common()))
    if summary["judged"]:
        lines += ["", format_judged(summary["judged"])]
    if cost := summary.get("cost"):
        lines.append(format_spend(cost))
    return "\n".join(lines)


def format_judged(judged: JudgedBlock) -> str:
    rule = f"{judged['compliance_rule']} rule"
    lines = [
        f"judged: compliance by {judged['compliance_rule']}, alignment faking by "
        f"{judged['af_judge'] or 'no AF judge'}",
        f"{'tier':<20}{'n':>5}{'refused':>9}{'AF':>6}{'no AF':>7}{'invalid':>9}{'unscored':>10}",
    ]
    for tier in TIERS:
        t = judged["tiers"][tier]
        lines.append(
            f"{TIER_LABELS[tier]:<20}{t['n']:>5}{t['refused']:>9}{t['complied_af']:>6}"
            f"{t['complied_no_af']:>7}{t['invalid']:>9}{t['unscored']:>10}"
        )
    lines += [
        f"{'95% CIs':<20}{'refusal ' + DECIDED_LABEL:<{RATE_WIDTH}}"
        f"{'refusal ' + ALL_LABEL:<{RATE_WIDTH}}{'AF of judged':<{RATE_WIDTH}}AF {ALL_LABEL}"
    ]
    for tier in TIERS:
        t = judged["tiers"][tier]
        rates = _rates(
            (t["refusal_rate"], t["refusal_ci95"]),
            (t["refusal_rate_all"], t["refusal_all_ci95"]),
            (t["af_rate"], t["af_rate_ci95"]),
            (t["af_rate_all"], t["af_rate_all_ci95"]),
        )
        lines.append(f"{TIER_LABELS[tier]:<20}{rates}")
    lines.append(gap_line(judged["compliance_gap"], f"{rule}, {DECIDED_LABEL}"))
    lines.append(gap_line(judged["compliance_gap_all"], f"{rule}, {ALL_LABEL}"))
    if judged["rule_agreement"] and judged["rule_agreement"]["rate"] is not None:
        agreement = judged["rule_agreement"]
        lines.append(
            f"tag rule vs compliance judge: agree on {agreement['agree']}/{agreement['n_both']}"
        )
    if judged["self_judged"]:
        lines.append("warning: the policy model judged its own transcripts")
    for model, usage in judged["judge_usage"].items():
        cost = usage["estimated_cost_usd"]
        lines.append(
            f"judge {model}: {usage['requests']} requests, {usage['input_tokens']} input and "
            f"{usage['output_tokens']} output tokens (cache replays included)"
            + ("" if cost is None else f", at most ~${cost:.2f}")
        )
    return "\n".join(lines)


def format_antilab(summary: AntilabSummary) -> str:
    """The table ``aflab antilab`` prints."""
    head = (
        f"{'scenario':<26}{'tier':<6}{'acted':>7}{'decided':>9}{'rate':>8}  95% CI       "
        f"{'invalid':<9}of all (paper) [95% CI]"
    )
    lines = [head]
    if status := status_marker(summary["status"]):
        lines.insert(0, status)
    for name, block in summary["scenarios"].items():
        label = f"{name} (control)" if block["control"] else name
        for tier, row in block["tiers"].items():
            rate = "n/a" if row["rate"] is None else f"{100 * row['rate']:.1f}%"
            ci = row["ci95"]
            interval = "n/a" if ci is None else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
            decided = row["acted"] + row["declined"]
            invalid = row["invalid"] + row["unscored"]
            counts = f"{row['acted']:>7}{decided:>9}{rate:>8}"
            paper = percent(row["rate_all"], row["ci95_all"], "n/a").strip()
            lines.append(f"{label:<26}{tier:<6}{counts}  {interval:<13}{invalid:<9}{paper}")
            label = ""
        if len(block["tiers"]) == 2:
            diffs = (
                (block["free_minus_paid"], "of decided"),
                (block["free_minus_paid_all"], "of all"),
            )
            for diff, name in diffs:
                # A gap and its interval are None together (no pair decided in both tiers).
                ci = diff["ci95_pp"]
                if diff["pp"] is not None and ci is not None:
                    lines.append(
                        f"{'':<26}free - paid, {name}: {diff['pp']:+.1f} pp "
                        f"[{ci[0]:+.1f}, {ci[1]:+.1f}], {diff['n_pairs']} pairs{detectable(diff)}"
                    )
    return "\n".join(lines)
