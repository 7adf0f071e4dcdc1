"""The suite's own machinery: ports never handed out twice, a dead server reported with its log,
shared fixtures kept on one worker."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support import servers
from tests.support.scheduling import DASK_GROUP, SharedFixtureScheduling, group_of, is_costly, work_order


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = [servers.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_server_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    script = "import sys; print('cannot open the database'); sys.exit(3)"
    with (
        pytest.raises(RuntimeError, match=r"(?s)the fake exited with 3.*cannot open the database"),
        servers.serve(
            [sys.executable, "-c", script], ready=lambda: False, log=tmp_path / "x.log", name="the fake"
        ),
    ):
        pass


def test_a_server_is_stopped_when_the_block_ends(tmp_path: Path) -> None:
    port = servers.free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}/"
    with servers.serve(
        command, ready=lambda: servers.answers(url), log=tmp_path / "h.log", name="http"
    ) as proc:
        assert servers.answers(url)
    assert proc.poll() is not None and not servers.answers(url)


def test_wait_until_returns_the_value_or_says_what_it_waited_for() -> None:
    calls = iter([0, 0, 7])
    assert servers.wait_until(lambda: next(calls), timeout=5, interval=0.01) == 7
    with pytest.raises(AssertionError, match=r"waited 0\.05 s in vain for the job to end"):
        servers.wait_until(lambda: False, timeout=0.05, interval=0.01, message="the job to end")


def test_tests_sharing_the_cluster_or_a_module_fixture_stay_on_one_worker() -> None:
    scheduling = SharedFixtureScheduling.__new__(SharedFixtureScheduling)
    scheduling._root = REPO
    scope = scheduling._split_scope
    fanout, faults = "tests/jobs/dask/test_fanout.py", "tests/jobs/dask/test_faults.py"
    assert scope(f"{fanout}::test_a[sqlite]") == scope(f"{faults}::test_b") == DASK_GROUP
    auth = "tests/api/test_auth.py"
    assert scope(f"{auth}::test_a") == scope(f"{auth}::test_b") == auth  # its API server, built once
    settings = "tests/project/test_settings.py::test_defaults"
    assert scope(settings) == settings  # nothing shared: goes out on its own
    assert group_of(REPO, "tests/no_such_module.py") is None


def test_groups_then_costly_single_tests_then_the_rest_go_out() -> None:
    power, settings = "tests/training/test_power.py", "tests/project/test_settings.py"
    assert is_costly(REPO, power) and not is_costly(REPO, settings)
    units = [
        (f"{settings}::test_a", {f"{settings}::test_a": False}),
        (f"{power}::test_b[2]", {f"{power}::test_b[2]": False}),
        ("small-group", {"x": False, "y": False}),
        (f"{settings}::test_c", {f"{settings}::test_c": False}),
        ("large-group", {"x": False, "y": False, "z": False}),
        (f"{power}::test_b[3]", {f"{power}::test_b[3]": False}),
    ]
    assert [scope for scope, _ in work_order(REPO, units)] == [
        "large-group",
        "small-group",
        f"{power}::test_b[2]",
        f"{power}::test_b[3]",
        f"{settings}::test_a",
        f"{settings}::test_c",
    ]
