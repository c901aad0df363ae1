"""Channel-choice analytics for consumer-credit collections: SMS, phone, or both.

Layers, each importing only those below it (checked by ``make lint``):

    analysis.__main__  -- the command line (generate, validate, compare, recommend, calibrate, build, import)
    analysis.report    -- display, plots, notebook helpers, the live what-if, the build of reports and slides
    analysis.decide    -- economics, the decision, the channel-mix programme, the comparison, the claims
    analysis.measures  -- costs, response, complaints, compliance, causal effects
    analysis.engine    -- per-account outcomes and per-cell sufficient statistics, in the query engine;
                          analysis.engine.spark connects a Spark session
    analysis.data      -- the contract, its clock, scenarios, synthetic data, loading, importing, output folders
    analysis.stats     -- intervals, tests, pooled moments and power on counts and sums (pure functions)
    analysis.checks    -- the argument checks every layer shares

``analysis.data`` and ``analysis.stats`` are independent of each other.
"""

__all__ = ["versions"]

__version__ = "0.1.0"


def versions(*packages: str, missing: str | None = "not installed") -> dict[str, str | None]:
    """The versions of Python, this package and each of ``packages`` (distribution names), in that order.

    A package that is not installed gets ``missing``. The reports' versions table, the build's record and
    cache keys, and the generator's manifest all read versions here.

    >>> list(versions("numpy"))
    ['python', 'analysis', 'numpy']
    >>> versions("no-such-package-here")["no-such-package-here"]
    'not installed'
    """
    import platform
    from importlib import metadata

    found: dict[str, str | None] = {"python": platform.python_version(), "analysis": __version__}
    for name in packages:
        if name in found:
            continue
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = missing
    return found
