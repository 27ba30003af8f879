"""The defaults of the operations' options and the package's version, in one light module.

The command line shows them in its help and the packages use them. Keeping them here, rather
than in the modules that use them (which load pandas, Arrow or Ibis), lets `opmetrics --help`
and the light commands start without loading anything that computes.
"""

from __future__ import annotations

from typing import Literal

# compute: requests (succeeded + failed) a party needs in a month to be ranked and to set the
# industry best.
DEFAULT_MIN_VOLUME = 1_000

# compute: the environment variable holding the key of the party pseudonyms.
ENV_KEY = "OPMETRICS_ANON_KEY"

# ingest-duis: seconds to wait for a request's final response (none within it = failure), and
# where a request's sent time comes from.
DEFAULT_WAIT_SECONDS = 86_400.0
SentTime = Literal["auto", "prefix", "mtime"]
SENT_TIME_MODES: tuple[SentTime, ...] = ("auto", "prefix", "mtime")

# generate: a synthetic month.
GENERATE_MONTH = "2021-04"
GENERATE_REQUESTS = 1_000_000
GENERATE_SEED = 0

# demo: the month it generates and runs end to end.
DEMO_MONTH = "2021-04"
DEMO_REQUESTS = 1_000_000
DEMO_SEED = 1


def package_version() -> str:
    """The installed opmetrics version (manifest.json, ingest.json, `opmetrics --version`)."""
    from importlib.metadata import version

    return version("opmetrics")
