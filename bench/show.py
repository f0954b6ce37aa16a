"""The tables of a run, from its details: printed at the end of ``python -m bench``, and again
from a results file with ``python -m bench.show bench/results/<stamp>.json``."""

from __future__ import annotations

import json
import sys
from typing import Any

from bench import figures, targets
from bench.config import Config
from bench.report import Row, table


def tables(details: dict[str, Any], config: Config) -> tuple[list[Row], str]:
    """The rows of the main table and every table as text; the targets are put in ``details``."""
    details["targets"] = targets.evaluate(details, config)
    rows = figures.rows(details, config)
    text = "\n\n".join([table(rows), figures.request_table(details, config),
                        targets.table(details["targets"])])
    return rows, text


def config_of(details: dict[str, Any]) -> Config:
    found = dict(details["config"])
    for name, value in found.items():
        if isinstance(value, list):
            found[name] = tuple(value)
    return Config(**found)


def main() -> None:
    with open(sys.argv[1]) as file:
        details = json.load(file)
    print(tables(details, config_of(details))[1])


if __name__ == "__main__":
    main()
