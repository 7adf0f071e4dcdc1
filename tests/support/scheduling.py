"""How pytest-xdist shares the suite out: test by test, except tests that share something expensive.

A module whose tests share a module-scoped fixture (a trained desk, a running API server) runs on
one worker, so the fixture is built once; every module that uses the session's Dask cluster runs
on one worker, so one cluster serves them all. Everything else goes out one test at a time. The
largest groups go first, then the tests of costly modules (marked `slow` or `browser`, starting
processes, or running pages in Streamlit's AppTest), then the rest: a long test that starts last
would end the run alone while the other workers idle, where many short ones at the end even them out.

Groups are read from the test modules' source (the controller does not collect tests): a module
with `scope="module"` is a group, one that names the `dask_client` or `on_cluster` fixture joins
the cluster's group. A module the rule misses still runs correctly, only with its fixture built on
each worker. (pytest-xdist's own `--dist loadgroup` reads groups back from node ids, which
pytest 9.2 no longer lets a plugin rewrite, so its groups are silently ignored there.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

DASK_GROUP = "dask-cluster"
_USES_CLUSTER = re.compile(r"\b(dask_client|on_cluster)\b")
_MODULE_FIXTURE = re.compile(r"scope\s*=\s*[\"']module[\"']")
Unit = tuple[str, dict[str, bool]]  # a scope and its tests (loadscope's work unit)
_COSTLY = re.compile(r"\bmark\.(slow|browser)\b|\b(subprocess|multiprocessing|AppTest)\b")


def _source(root: Path, module: str) -> str:
    try:
        return (root / module).read_text()
    except OSError:
        return ""


@functools.cache
def group_of(root: Path, module: str) -> str | None:
    """The group of the tests in `module` (a path relative to `root`), or None to spread them."""
    source = _source(root, module)
    if _USES_CLUSTER.search(source):
        return DASK_GROUP
    if _MODULE_FIXTURE.search(source):
        return module
    return None


@functools.cache
def is_costly(root: Path, module: str) -> bool:
    """Whether `module`'s tests train, drive a browser, run pages or start processes (from its source)."""
    return bool(_COSTLY.search(_source(root, module)))


def work_order(root: Path, units: Iterable[Unit]) -> list[Unit]:
    """Groups by size, then single tests of costly modules, then the rest, each in suite order."""

    def rank(unit: Unit) -> tuple[int, int]:
        scope, tests = unit
        if len(tests) > 1:
            return (0, -len(tests))
        return (1, 0) if is_costly(root, scope.split("::", 1)[0]) else (2, 0)

    return sorted(units, key=rank)  # stable: suite order within a rank


class SharedFixtureScheduling(LoadScopeScheduling):
    """`--dist load` with the groups above kept whole (largest units first, as loadscope does)."""

    def __init__(self, config: pytest.Config, log: object = None) -> None:
        super().__init__(config, log)  # type: ignore[arg-type]
        self._root = config.rootpath

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return group_of(self._root, module) or nodeid

    def schedule(self) -> None:
        """Share out as loadscope does (each worker has already been sent one of the largest
        groups), then put what waits in `work_order`."""
        super().schedule()
        units = work_order(self._root, self.workqueue.items())
        self.workqueue.clear()
        self.workqueue.update(units)
