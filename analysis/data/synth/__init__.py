"""Synthetic collection data with known truth.

A seeded simulation, day by day over the horizon, of delinquent accounts
under their assigned collection strategies. Every random number is a pure
function of ``(seed, account_id, purpose, day, slot)`` (a counter-based hash,
splitmix64), so that

* the same seed and scenario give identical files, whatever the chunk size;
* simulating one account under another strategy reuses its random numbers
  (common random numbers), which is how ``truth.json`` gets each strategy's
  expected outcomes with little Monte Carlo noise in the differences.

The work is vectorised over accounts (loops run over days and call slots
only) and done in chunks of accounts, so memory stays flat however many
accounts are generated.

Model, per account and day (all parameters from the scenario file):

* **schedule**: the strategy's steps plan texts and calls; no contact once
  the balance is paid, no call while a promise to pay is open, none on a
  channel the borrower asked to stop, calls only inside the rule packs' hours
  and caps, within the phone team's capacity (a book of accounts per agent,
  a fixed number of dials per agent-day). A small configured share of
  contacts breaks a rule (night contact, a burst of calls, contact after a
  stop request) so that compliance checks have something real to find;
* **outcomes**: texts are delivered; calls connect (by bucket, product and
  hour), reach the right party, last some seconds, end in a promise;
* **repayment**: a daily hazard, ``1 - exp(-rate * exp(eta))``, where ``eta``
  adds each channel's stimulus times its effect for the account's bucket and
  balance band. Stimuli decay day by day and each further contact adds less
  (diminishing returns). Payments are full or partial;
* **complaints**: each contact carries a small hazard, higher for calls,
  growing with contacts in the trailing 7 days, at night and after a stop
  request; categories follow the drivers; some are escalated to a regulator;
  stop requests (opt-outs) follow conversations and texts;
* **after the contact days**: contacts stop at ``horizon_days`` (30) and
  repayment goes on to ``long_horizon.days`` (90) with the no-contact hazard
  times ``long_horizon.hazard_multiplier``, the decaying carry-over of the
  last contacts (dropped once it adds less than 1% to the hazard) and any
  promise still open; those payments are written too. At the long horizon an
  account is cured, still delinquent (paid part) or rolled (paid nothing),
  and its expected loss is its remaining balance times the scenario's loss
  rate of the stage it reached.

``truth.json`` always holds ``no_contact``, the counterfactual of no contact
at all, simulated with the same random numbers as every other strategy,
whether or not the scenario holds accounts out in it.

The package, one module per job:

* ``_streams``: the counter-based random numbers;
* ``_model``: the scenario's settings as arrays (plans, effects, segments);
* ``_population``: the accounts and their assignment to strategies;
* ``_simulate``: the day-by-day simulation, a state with one step per action;
* ``_breaches``: contact-rule breaches, injected and counted;
* ``_write``: local time to UTC, the Parquet files and ``manifest.json``;
* ``_truth``: the expected outcomes of every strategy (``truth.json``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.data import folders
from analysis.data.scenario import Scenario, load_scenario

from ._breaches import rule_violations
from ._model import Model
from ._population import draw_population
from ._simulate import simulate
from ._streams import Rand
from ._truth import TruthAccumulator, parameters_entry, rule_violations_entry, simulate_truth, truth_header
from ._write import ParquetFiles, check_room, manifest, scenario_sha256
from ._write import write_chunk as _write_chunk
from ._write import write_json as _write_json

__all__ = ["generate", "GenerateResult", "simulate_truth", "scenario_sha256"]

# ``generate`` looks up ``_write_chunk`` and ``_write_json`` here, at call time, so that a test can
# replace them (a full disk, a failed write) with ``monkeypatch.setattr(synth, "_write_json", ...)``.


@dataclass(frozen=True)
class GenerateResult:
    """What :func:`generate` wrote."""

    path: Path
    row_counts: dict
    truth: dict
    manifest: dict


def _check_arguments(n_total, accounts, seed, chunk_size, truth_accounts) -> None:
    """Raise a ValueError naming the first argument of :func:`generate` that is not a whole number in range."""
    if isinstance(n_total, bool) or not isinstance(n_total, (int, np.integer)) or n_total < 1:
        raise ValueError(f"accounts must be a whole number >= 1, got {accounts!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")
    if isinstance(truth_accounts, bool) or not isinstance(truth_accounts, (int, np.integer)) or truth_accounts < 1:
        raise ValueError(f"truth_accounts must be a whole number >= 1, got {truth_accounts!r}")


def generate(
    *,
    scenario: Scenario | str = "cn_default",
    accounts: int | None = None,
    seed: int = 0,
    out: str | Path,
    chunk_size: int = 200_000,
    truth_accounts: int = 100_000,
    overwrite: bool = False,
    progress: bool | None = None,
    overrides: dict | None = None,
) -> GenerateResult:
    """Generate a synthetic dataset that satisfies the data contract.

    Writes ``accounts``, ``contacts``, ``payments``, ``complaints`` and
    ``opt_outs`` as Parquet, plus ``truth.json`` and ``manifest.json``, into
    ``out``. Files are written to a temporary folder beside ``out`` and moved
    into place only when complete, so a failed run leaves nothing behind.

    Args:
        scenario: a scenario name in ``data/scenarios``, a TOML path, or a
            loaded :class:`Scenario`.
        accounts: number of accounts; default the scenario's ``accounts``.
        seed: the seed; same seed and scenario give identical files.
        out: the folder to write.
        chunk_size: accounts simulated at a time (bounds memory).
        truth_accounts: accounts (the first ones) re-simulated under every
            strategy to compute ``truth.json``.
        overwrite: replace ``out`` if it exists.
        progress: show a progress bar (default: when stderr is a terminal).
        overrides: nested scenario keys to replace (checked like the file).

    Example:
        >>> generate(scenario="cn_default", accounts=10_000, seed=1, out="data/generated/demo")  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides=overrides)
    n_total = sc["scenario"]["accounts"] if accounts is None else accounts
    _check_arguments(n_total, accounts, seed, chunk_size, truth_accounts)
    out = folders.check_target(out, "dataset", replace=overwrite)
    check_room(out, n_total)
    tmp = folders.make_temp(out, "dataset")
    try:
        m = Model(sc)
        rand = Rand(int(seed))
        files = ParquetFiles(tmp, m, write=_write_chunk)
        truth_n = min(truth_accounts, n_total)
        acc = TruthAccumulator(m)
        violations: dict[str, int] = {}
        bar = tqdm(
            total=n_total, unit="acct", desc=f"generate {sc.name}", disable=None if progress is None else not progress
        )
        for lo in range(0, n_total, chunk_size):
            hi = min(n_total, lo + chunk_size)
            p = draw_population(m, rand, np.arange(lo + 1, hi + 1, dtype=np.uint64))
            acc.count_population(p.segment)
            _, ev = simulate(m, rand, p, p.strategy, record=True)
            assert ev is not None  # recorded
            for rule, v in rule_violations(m, ev, len(p)).items():
                violations[rule] = violations.get(rule, 0) + v
            files.add(p, ev)
            del ev
            if lo < truth_n:
                acc.add_strategies(rand, p.head(min(hi, truth_n) - lo))
            bar.update(hi - lo)
        bar.close()
        files.close()
        truth = {
            **truth_header(sc, m, seed, truth_n, n_total),
            **acc.to_json(),
            "rule_violations": rule_violations_entry(violations),
            "parameters": parameters_entry(sc),
        }
        _write_json(tmp / "truth.json", truth)
        man = manifest(sc, m, tmp, seed=seed, accounts=n_total, chunk_size=chunk_size, rows=files.rows)
        _write_json(tmp / "manifest.json", man)
        folders.replace_with(tmp, out, "dataset")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return GenerateResult(out, files.rows, truth, man)
