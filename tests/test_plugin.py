"""The pytest plugin as SDK suites use it: each run here is a separate pytest process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support import start_serve

from mockattr import VENDOR_IDS
from mockattr.contract import load_contract

EXAMPLES = str(Path(__file__).parent / "examples")
EXAMPLE_COUNT = 10


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A pytest run in its own process (needed for xdist workers and a clean TLS / CA environment)."""
    return pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", "-p", "no:schemathesis", timeout=120)


def run_inline(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A pytest run in this process: much quicker to start."""
    return pytester.runpytest_inprocess(*args, "-p", "no:cacheprovider")


WORKER_NOTES = """
import os, pathlib
import pytest

@pytest.fixture(autouse=True)
def note_my_server(mockattr_server, request):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
    pathlib.Path(f"{worker}-{abs(hash(request.node.nodeid))}.url").write_text(mockattr_server.url)
"""
WORKER_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_uses_the_mock(mockattr, n):
    assert mockattr.health()["status"] == "ok"
"""


def test_examples_pass_over_tls_with_two_xdist_workers_each_on_its_own_server(pytester: pytest.Pytester) -> None:
    """Nothing skipped (the retry example needs TLS); coverage merged from both workers."""
    pytester.makepyfile(worker_notes=WORKER_NOTES)  # a plugin, so that every test on either worker notes its server
    notes = pytester.makepyfile(WORKER_TESTS)
    report = pytester.path / "report.json"
    result = run(
        pytester, EXAMPLES, str(notes), "-n", "2", "-p", "worker_notes", "--mockattr-tls", f"--mockattr-report={report}"
    )
    result.assert_outcomes(passed=EXAMPLE_COUNT + 6)
    result.stdout.fnmatch_lines(["mockattr: *chartmogul */10 operations, */11 error statuses (injected: 403, 429)*"])
    chartmogul = json.loads(report.read_text())["chartmogul"]
    assert {"retrieve", "update", "customer_get"} <= set(chartmogul["operations_called"]), "workers' coverage merged"
    assert {403, 429} <= set(chartmogul["injected_error_statuses"]), "faults' statuses, counted apart"
    assert not {403, 429} & set(chartmogul["error_statuses_seen"]), "the mock itself answered neither"
    by_worker: dict[str, set[str]] = {}
    for note in pytester.path.glob("gw*.url"):
        by_worker.setdefault(note.name.split("-")[0], set()).add(note.read_text())
    assert len(by_worker) == 2, by_worker
    assert all(len(urls) == 1 for urls in by_worker.values()), "one server per worker for the session"
    assert len(set.union(*by_worker.values())) == 2, "the workers' servers differ"


@pytest.fixture
def served() -> Iterator[tuple[str, str | None]]:
    process, urls = start_serve("--tls")
    yield urls["base"], urls["CA certificate"]
    process.terminate()
    process.wait(10)


def test_examples_drive_an_external_tls_server(pytester: pytest.Pytester, served: tuple[str, str]) -> None:
    url, ca = served
    result = run(pytester, EXAMPLES, f"--mockattr-base-url={url}", f"--mockattr-ca-bundle={ca}")
    result.assert_outcomes(passed=EXAMPLE_COUNT)


def test_tls_option_with_an_external_server_is_a_usage_error(
    pytester: pytest.Pytester, served: tuple[str, str]
) -> None:
    pytester.makepyfile("def test_x(mockattr): pass")
    result = run_inline(pytester, f"--mockattr-base-url={served[0]}", "--mockattr-tls")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*start that one with `mockattr serve --tls`*"])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--mockattr-base-url=127.0.0.1:12111"], "*is not an http:// or https:// URL*"),
        (["--mockattr-ca-bundle=ca.pem"], "*go with --mockattr-base-url*"),
        (["--mockattr-admin-token=t"], "*go with --mockattr-base-url*"),
    ],
)
def test_options_that_cannot_work_are_usage_errors_at_start(
    pytester: pytest.Pytester, args: list[str], says: str
) -> None:
    pytester.makepyfile("def test_x(mockattr): pass")
    result = run_inline(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([says])


FRESH_STRICT = """
import requests
from hypothesis import given, strategies as st

URL = "/v1/customers/cus_de305d54-75b4-431b-adb2-eb6b9e546012/attributes/custom"

@given(st.just(["not", "an", "object"]))
def test_sdk_with_a_bug(mockattr_server, custom):
    with mockattr_server.fresh() as mock:
        requests.put(mock.url("chartmogul") + URL, json={"custom": custom}, auth=("k", ""), timeout=5)

@given(st.just(["not", "an", "object"]))
def test_sdk_error_handling(mockattr_server, custom):
    with mockattr_server.fresh(expect_rejections=True) as mock:
        answer = requests.put(mock.url("chartmogul") + URL, json={"custom": custom}, auth=("k", ""), timeout=5)
        assert answer.status_code == 400
"""


def test_strict_mode_holds_in_fresh_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FRESH_STRICT)
    result = run_inline(pytester, "--mockattr-strict")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*mockattr strict: requests broke the contract:*"])


DELAYED_TESTS = """
import time
import pytest
import requests

URL = "/customers/061d2feb-81c2-4694-a74a-13cecbe7d2ce/attributes"

def test_a_times_out(mockattr):
    mockattr.fail("invisible_collector", "attributes_set", delay=1.0)
    with pytest.raises(requests.Timeout):
        requests.post(mockattr.url("invisible_collector") + URL, json={"leaked": "yes"},
                      headers={"Authorization": "Bearer k"}, timeout=0.2)

def test_b_is_not_touched_by_it(mockattr):
    time.sleep(1.5)
    assert mockattr.requests() == []
    answer = requests.get(mockattr.url("invisible_collector") + URL, headers={"Authorization": "Bearer k"})
    assert "leaked" not in answer.json()
"""


def test_a_request_delayed_across_tests_does_not_reach_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DELAYED_TESTS)
    run_inline(pytester).assert_outcomes(passed=2)


LEAK_TESTS = """
import requests

URL = "/v1/customers/cus_de305d54-75b4-431b-adb2-eb6b9e546012/attributes"

def test_a_changes_state(mockattr):
    mockattr.fail("chartmogul", "retrieve", 503, times=5)
    mockattr.seed("chartmogul", {"attribute_definitions": {"leak": "String"}})
    r = requests.put(mockattr.url("chartmogul") + URL + "/custom", json={"custom": {"salesRep": "X"}},
                     auth=("k", ""))
    assert r.status_code == 200

def test_b_sees_the_fixtures_again(mockattr):
    r = requests.get(mockattr.url("chartmogul") + URL, auth=("k", ""))
    assert r.status_code == 200, "no fault left over"
    assert r.json()["custom"]["salesRep"] == "Gabi"
    assert "leak" not in mockattr.state("chartmogul")["attribute_definitions"]
    assert [e.operation for e in mockattr.requests()] == ["retrieve"]
"""


def test_state_does_not_leak_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LEAK_TESTS)
    run_inline(pytester).assert_outcomes(passed=2)


BAD_REQUEST_TESTS = """
import pytest
import requests

URL = "/v1/customers/cus_de305d54-75b4-431b-adb2-eb6b9e546012/attributes/custom"

def send_bad(mockattr):
    return requests.put(mockattr.url("chartmogul") + URL, data="{", auth=("k", ""))

def test_plain(mockattr):
    assert send_bad(mockattr).status_code == 400

@pytest.mark.mockattr(strict=False)
def test_opted_out(mockattr):
    assert send_bad(mockattr).status_code == 400

@pytest.mark.mockattr(expect_rejections=True)
def test_expects_it(mockattr):
    assert send_bad(mockattr).status_code == 400

@pytest.mark.mockattr(expect_rejections=True)
class TestMarkersCombine:
    @pytest.mark.mockattr(strict=True)
    def test_class_marker_still_applies(self, mockattr):
        assert send_bad(mockattr).status_code == 400

def test_good(mockattr):
    assert requests.get(mockattr.url("chartmogul") + URL[:-7], auth=("k", "")).status_code == 200
"""


def test_strict_option_fails_tests_that_broke_the_contract(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(BAD_REQUEST_TESTS)
    run_inline(pytester).assert_outcomes(passed=5)
    strict = run_inline(pytester, "--mockattr-strict")
    strict.assert_outcomes(passed=4, failed=1)
    strict.stdout.fnmatch_lines(["*FAILED*test_plain*"])
    strict.stdout.fnmatch_lines(["*PUT /chartmogul/v1/customers/*/attributes/custom -> 400: body: not valid JSON*"])


def test_summary_names_what_the_suite_never_touched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LEAK_TESTS)
    report = pytester.path / "coverage.json"
    result = run_inline(pytester, f"--mockattr-report={report}")
    data = json.loads(report.read_text())
    assert sorted(data) == sorted(VENDOR_IDS)
    for vendor, counts in data.items():
        index = load_contract(vendor).index
        assert counts["operations_total"] == len(index["operations"])
        assert len(counts["operations_called"]) == (2 if vendor == "chartmogul" else 0)
        assert counts["error_statuses_total"] > 0 and counts["error_statuses_seen"] == []
    result.stdout.fnmatch_lines(
        [
            "mockattr: "
            + "; ".join(
                f"{vendor} {len(c['operations_called'])}/{c['operations_total']} operations, "
                f"0/{c['error_statuses_total']} error statuses"
                for vendor, c in sorted(data.items())
            )
        ]
    )
    assert data["chartmogul"]["operations_called"] == ["update", "retrieve"]
    assert data["chartmogul"]["error_statuses_seen"] == [], "the 503 planned in test_a never fired"
    assert "add" in data["chartmogul"]["operations_not_called"]


def test_the_property_example_runs_at_hypothesis_default_settings(pytester: pytest.Pytester) -> None:
    """The README's property test, copied where no conftest changes Hypothesis's settings: no health
    check suppressed, the default deadline and number of examples."""
    pytester.makepyfile(test_property=(Path(EXAMPLES) / "test_property_sdk.py").read_text(encoding="utf-8"))
    result = run(pytester, "--hypothesis-show-statistics")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*100 passing*"])
    assert "FailedHealthCheck" not in result.stdout.str()


TRUST_TESTS = """
import os, ssl, urllib.request
import requests

def test_requests_trusts_the_mock_with_no_code(mockattr):
    answer = requests.get(mockattr.base_url + "/__mockattr/health", timeout=5)
    assert answer.status_code == 200
    assert os.environ["REQUESTS_CA_BUNDLE"] == os.environ["SSL_CERT_FILE"] == os.environ["NODE_EXTRA_CA_CERTS"]

def test_the_standard_library_too(mockattr):
    context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    with urllib.request.urlopen(mockattr.base_url + "/__mockattr/health", context=context) as answer:
        assert answer.status == 200

def test_the_cas_trusted_before_are_still_trusted(mockattr):
    bundle = open(os.environ["REQUESTS_CA_BUNDLE"]).read()
    assert open(os.environ["MOCKATTR_TEST_PRESET"]).read().strip() in bundle
    assert os.environ["MOCKATTR_TEST_EXTRA"] in bundle, "and those of a folder SSL_CERT_FILE names"
"""


def test_tls_is_trusted_even_when_requests_ca_bundle_is_already_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI image or a company laptop sets REQUESTS_CA_BUNDLE to its own CAs; requests then ignores
    Session.verify. The plugin's bundle holds those CAs and the mock's, and the variables come back."""
    import certifi

    preset = pytester.path / "company-cas.pem"
    preset.write_text(Path(certifi.where()).read_text(encoding="utf-8"), encoding="utf-8")
    folder = pytester.path / "more-cas"  # requests also takes a folder of CA files
    folder.mkdir()
    from mockattr.serving.tls import generate

    extra = generate(pytester.path / "another-ca").ca_bundle.read_text(encoding="utf-8")
    (folder / "extra.pem").write_text(extra, encoding="utf-8")
    monkeypatch.setenv("MOCKATTR_TEST_EXTRA", extra.strip())
    monkeypatch.setenv("SSL_CERT_FILE", str(folder))
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, str(preset))
    monkeypatch.delenv("NODE_EXTRA_CA_CERTS", raising=False)
    monkeypatch.setenv("MOCKATTR_TEST_PRESET", str(preset))
    pytester.makepyfile(TRUST_TESTS)
    pytester.makeconftest(
        "import os, json\n"
        "def pytest_unconfigure(config):\n"
        "    names = ('REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS')\n"
        "    open('after.json', 'w').write(json.dumps({n: os.environ.get(n) for n in names}))\n"
    )
    run(pytester, "--mockattr-tls").assert_outcomes(passed=3)
    after = json.loads((pytester.path / "after.json").read_text())
    assert after == {
        "REQUESTS_CA_BUNDLE": str(preset),
        "SSL_CERT_FILE": str(folder),
        "CURL_CA_BUNDLE": str(preset),
        "NODE_EXTRA_CA_CERTS": None,
    }, "restored after the session"


QUIET_TESTS = """
import requests

def test_fails_after_calls(mockattr):
    requests.get(mockattr.url("bunce") + "/v1/attributes", headers={"X-Authorization": "k"}, timeout=5)
    mockattr.fail("bunce", "attribute_list", 500)
    assert False, "a failure whose report we read"
"""


def test_a_failing_tests_captured_log_has_no_access_lines(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(QUIET_TESTS)
    result = run_inline(pytester, "--log-level=DEBUG", "-rA")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "a failure whose report we read" in output
    assert "werkzeug" not in output and "\x1b[" not in output, "no access lines (urllib3's own DEBUG lines stay)"
    assert "/__mockattr/faults" not in output, "nor the plugin's own admin calls"


SHARED_SERVER_TESTS = """
import os, pathlib, time
import requests

URL = "/v1/customers/cus_de305d54-75b4-431b-adb2-eb6b9e546012/attributes"

def test_same_key_at_the_same_moment(mockattr):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert f"/__ns/pytest-{worker}-" in mockattr.url("chartmogul")
    mockattr.fail("chartmogul", "retrieve", 503, times=1)  # each worker's first read fails: its own fault
    put = requests.put(mockattr.url("chartmogul") + URL + "/custom", json={"custom": {"salesRep": worker}},
                       auth=("hard-coded-key", ""), timeout=5)
    assert put.status_code == 200
    pathlib.Path(f"ready-{worker}").touch()
    deadline = time.monotonic() + 20
    while len(list(pathlib.Path().glob("ready-*"))) < 2:  # both workers have written before either reads
        assert time.monotonic() < deadline, "the other worker never came"
        time.sleep(0.05)
    first = requests.get(mockattr.url("chartmogul") + URL, auth=("hard-coded-key", ""), timeout=5)
    second = requests.get(mockattr.url("chartmogul") + URL, auth=("hard-coded-key", ""), timeout=5)
    assert first.status_code == 503 and second.json()["custom"]["salesRep"] == worker
    assert [e.operation for e in mockattr.requests()] == ["update", "retrieve", "retrieve"]
"""


def test_two_workers_share_one_serve_with_the_same_credential(pytester: pytest.Pytester, servers) -> None:
    """`--mockattr-base-url` with `-n 2`: each worker in a namespace of its own, removed at the end."""
    _, urls = servers.start()
    pytester.makepyfile(SHARED_SERVER_TESTS)
    result = run(pytester, "-n", "2", "--dist", "each", f"--mockattr-base-url={urls['base']}")
    result.assert_outcomes(passed=2)
    assert requests.get(urls["admin"] + "/namespaces", timeout=5).json() == {"namespaces": []}
    assert requests.get(urls["admin"] + "/requests", timeout=5).json() == {"requests": [], "next": None}


def test_a_tls_session_leaves_nothing_in_the_temporary_directory(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = pytester.path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    pytester.makepyfile("def test_x(mockattr):\n    assert mockattr.ca_bundle\n")
    run(pytester, "--mockattr-tls", "-p", "no:tmpdir").assert_outcomes(passed=1)
    assert list(temporary.iterdir()) == []
