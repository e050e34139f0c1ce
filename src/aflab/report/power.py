"""What ``aflab power`` prints: the pairs a planned gap needs, the assumptions, the epochs plan."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aflab.analysis.pilot import Pilot
from aflab.core.power import PowerPlan

DISCORDANCE_NOTES = {
    "given": "given",
    "independent": (
        "assumed: tiers independent given their rates; conservative if a query's two tiers "
        "tend to agree, as refusals usually do (--discordance or --from-log sets it)"
    ),
    "pilot": "observed in the pilot",
}
ICC_NOTES = {
    "given": "given",
    "assumed": "assumed; --icc, or --from-log with a run of several epochs, sets it",
    "pilot": "estimated from the pilot",
}


def format_power(plan: PowerPlan, pilot: Pilot | None = None) -> str:
    needed, model = plan.needed, plan.needed.model
    lines = []
    if pilot is not None:
        lines.append(pilot_line(pilot))
    lines += [
        f"plan: a compliance gap of {100 * model.gap:+.1f} pp (paid refusal "
        f"{100 * model.baseline_refusal:.1f}%, free {100 * model.free_refusal:.1f}%), "
        f"alpha {needed.alpha:g}, power {100 * needed.power:g}%",
        f"pairs needed: {needed.pairs} ({needed.samples} samples), for aflab's exact McNemar "
        f"test (Connor's normal-approximation formula: {needed.connor_pairs}, where the exact "
        f"test's power is {100 * needed.exact_power_at_connor:.1f}%)",
        f"discordant pairs: {100 * model.discordance:.1f}%, {_discordance_note(plan)}",
        "",
        *epochs_lines(plan),
    ]
    return "\n".join(lines)


def pilot_line(pilot: Pilot) -> str:
    icc = "n/a (one epoch)" if pilot.icc is None else f"{pilot.icc:.2f}"
    return (
        f"pilot {pilot.log}: {pilot.n_pairs} pairs decided in both tiers ({pilot.n_queries} "
        f"queries, up to {pilot.epochs} epochs, {pilot.rule} rule): paid refusal "
        f"{100 * pilot.paid_refusal:.1f}%, gap {100 * pilot.gap:+.1f} pp, discordant "
        f"{100 * pilot.discordance:.1f}%, intra-query correlation {icc}"
    )


def _discordance_note(plan: PowerPlan) -> str:
    model, observed = plan.needed.model, plan.pilot_discordance
    note = DISCORDANCE_NOTES[model.discordance_source]
    if model.discordance_source == "pilot" and observed is not None:
        if model.discordance > observed + 1e-9:
            note += f" ({100 * observed:.1f}%, raised to |gap|: a gap that size needs it)"
        elif model.discordance < observed - 1e-9:
            note += f" ({100 * observed:.1f}%, capped at the most these rates allow)"
    return note


def epochs_lines(plan: PowerPlan) -> list[str]:
    epochs = plan.epochs
    icc_note = ICC_NOTES[plan.icc_source]
    if plan.icc_source == "pilot" and plan.pilot_icc is not None and plan.pilot_icc < 0:
        icc_note += f" ({plan.pilot_icc:.2f}, below 0: taken as 0)"
    lines = [
        f"epochs plan (intra-query correlation {epochs.icc:.2f}, {icc_note}):",
        f"{'epochs':>8}{'queries':>10}{'pairs':>10}{'samples':>10}",
    ]
    for row in epochs.rows:
        lines.append(f"{row.epochs:>8}{row.queries:>10}{row.pairs:>10}{row.samples:>10}")
    if len(epochs.rows) > 1:
        lines.append(
            "repeating saves queries and costs samples: K epochs of a query count as "
            f"K / (1 + (K-1) x {epochs.icc:.2f}) pairs; no number of epochs needs fewer than "
            f"{epochs.floor_queries} queries"
        )
        if epochs.icc > 0:
            lines.append(
                "note: aflab's test counts every (query, epoch) pair as independent: with "
                "correlated epochs its p-values come out too small, its intervals too narrow"
            )
    return lines


def power_json(plan: PowerPlan, pilot: Pilot | None = None) -> dict[str, Any]:
    """The plan (and the pilot) as ``--json`` writes them."""
    return {"plan": asdict(plan), "pilot": None if pilot is None else asdict(pilot)}
