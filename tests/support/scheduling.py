"""How pytest-xdist shares the suite out: test by test, except tests that share something expensive.

A module whose tests share a module-scoped fixture (a trained desk, a running API server) runs on
one worker, so the fixture is built once; every module that uses the session's Dask cluster runs
on one worker, so one cluster serves them all. Everything else goes out one test at a time, the
largest groups first, so a long group never ends the run alone.

Groups are read from the test modules' source (the controller does not collect tests): a module
with `scope="module"` is a group, one that names the `dask_client` or `on_cluster` fixture joins
the cluster's group. A module the rule misses still runs correctly, only with its fixture built on
each worker. (pytest-xdist's own `--dist loadgroup` reads groups back from node ids, which
pytest 9.2 no longer lets a plugin rewrite, so its groups are silently ignored there.)
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

DASK_GROUP = "dask-cluster"
_USES_CLUSTER = re.compile(r"\b(dask_client|on_cluster)\b")
_MODULE_FIXTURE = re.compile(r"scope\s*=\s*[\"']module[\"']")


@functools.cache
def group_of(root: Path, module: str) -> str | None:
    """The group of the tests in `module` (a path relative to `root`), or None to spread them."""
    try:
        source = (root / module).read_text()
    except OSError:
        return None
    if _USES_CLUSTER.search(source):
        return DASK_GROUP
    if _MODULE_FIXTURE.search(source):
        return module
    return None


class SharedFixtureScheduling(LoadScopeScheduling):
    """`--dist load` with the groups above kept whole (largest units first, as loadscope does)."""

    def __init__(self, config: pytest.Config, log: object = None) -> None:
        super().__init__(config, log)  # type: ignore[arg-type]
        self._root = config.rootpath

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return group_of(self._root, module) or nodeid
