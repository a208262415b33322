"""A package or release folder from someone else is untrusted input.

validate, diff, card and publish fetch nothing (a real HTTP server on 127.0.0.1, also set as
the HTTP(S) proxy so that any request, even to datapackage.org, reaches it, counts every
request), read nothing outside the package folder (links, absolute and ``..`` paths, FIFOs),
and turn every malformed descriptor or document into a problem (validate) or one error line
(diff, card), never a traceback. Release folders written by the real ``publish`` are read,
validated and compared like JSON lines packages.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuspack.card import render
from corpuspack.document import arrow_schema, text_sha256, to_arrow
from corpuspack.errors import CorpusError, UsageError
from corpuspack.publish import publish
from corpuspack.reader import open_package
from corpuspack.stats import CorpusStats
from corpuspack.validate import ValidationReport, validate_package
from corpuspack.versions import diff

SECRET = "ATTACKER-SERVED-VALUE-7d41"
OUTSIDE = "OUTSIDE-THE-PACKAGE-c93e"
ENV = {**os.environ, "CI": "1"}


# --- a counting HTTP server -------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def _any(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        body = json.dumps({"fields": [{"name": SECRET, "type": "string"}], "title": SECRET,
                           "id": SECRET, "text": SECRET, "required": ["name"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_PUT = do_CONNECT = _any

    def log_message(self, *args: object) -> None:
        return None


class Server:
    def __init__(self) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.seen = []  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return list(self.httpd.seen)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The counting server, also the proxy of every HTTP(S) request made in this process."""
    srv = Server()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, srv.url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    yield srv
    srv.close()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail (TimeoutError) instead of hanging, e.g. on a FIFO opened for reading."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- packages -----------------------------------------------------------------------------


@pytest.fixture()
def pkg(built, tmp_path: Path) -> Path:
    """A copy of a real built package (every source format), with a secret file beside it."""
    config, _ = built
    copy_ = tmp_path / "pkg"
    shutil.copytree(config.package_dir, copy_)
    (tmp_path / "secret.jsonl").write_text(
        json.dumps({"id": OUTSIDE, "text": OUTSIDE}) + "\n", encoding="utf-8")
    (tmp_path / "secret.json").write_text(json.dumps({"files_seen": OUTSIDE}), encoding="utf-8")
    return copy_


def load(package: Path) -> dict[str, Any]:
    return json.loads((package / "datapackage.json").read_text(encoding="utf-8"))


def save(package: Path, desc: Any) -> None:
    (package / "datapackage.json").write_text(json.dumps(desc), encoding="utf-8")


def codes(report: ValidationReport) -> set[str]:
    return {p.code for p in report.problems}


def everything_said(report: ValidationReport) -> str:
    return orjson.dumps(report.to_dict()).decode()


def refused_by_all(package: Path, reference: Path | None = None) -> list[str]:
    """diff and card on ``package``: each must raise CorpusError; their messages."""
    messages = []
    with pytest.raises(CorpusError) as caught:
        diff(open_package(reference or package), open_package(package))
    messages.append(str(caught.value))
    with pytest.raises(CorpusError) as caught:
        render(open_package(package), None)
    messages.append(str(caught.value))
    return messages


# each: (how to make the descriptor hostile, the problem code validate must give)
def _set(path: tuple[Any, ...], value: Any) -> Any:
    def apply(desc: dict[str, Any], url: str) -> None:
        target: Any = desc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value.replace("URL", url) if isinstance(value, str) else value
    return apply


REMOTE = [
    ("resource path", _set(("resources", 0, "path"), "URL/data.jsonl"), "unsafe-path"),
    ("schema url", _set(("resources", 0, "schema"), "URL/schema.json"), "unsafe-path"),
    ("dialect url", _set(("resources", 0, "dialect"), "URL/dialect.json"), "unsafe-path"),
    ("package profile", _set(("profile",), "URL/profile.json"), "unsafe-profile"),
    ("package profiles", _set(("profiles",), ["URL/profile.json"]), "unsafe-profile"),
    ("fiscal profile", _set(("profile",), "fiscal-data-package"), "unsafe-profile"),
    ("resource profile", _set(("resources", 0, "profile"), "URL/r.json"), "unsafe-profile"),
    ("standard profile url as profile", _set(
        ("profile",), "https://specs.frictionlessdata.io/schemas/data-package.json"),
     "unsafe-profile"),
    ("package $schema", _set(("$schema",), "URL/dp.json"), "unsafe-profile"),
    ("resource $schema", _set(("resources", 0, "$schema"), "URL/dr.json"), "unsafe-profile"),
    ("extrapaths", _set(("resources", 0, "extrapaths"), ["URL/more.jsonl"]),
     "unsupported-resource"),
    ("remote scheme", _set(("resources", 0, "scheme"), "https"), "unsupported-resource"),
    ("report url", _set(("corpuspack", "report"), "URL/report.json"), "unsafe-path"),
]


@pytest.mark.parametrize("how", [r[1] for r in REMOTE], ids=[r[0] for r in REMOTE])
def test_remote_references_are_refused_and_nothing_is_fetched(pkg: Path, server: Server,
                                                              how: Any) -> None:
    expected = dict((id(r[1]), r[2]) for r in REMOTE)[id(how)]
    desc = load(pkg)
    how(desc, server.url)
    save(pkg, desc)
    report = validate_package(pkg)
    assert not report.valid and expected in codes(report), report.problems
    assert SECRET not in everything_said(report)
    for message in refused_by_all(pkg):
        assert SECRET not in message
    assert server.requests == []


def test_a_schema_inside_the_resource_with_a_remote_schema_is_refused(pkg: Path,
                                                                       server: Server) -> None:
    desc = load(pkg)
    schema = json.loads((pkg / desc["resources"][0]["schema"]).read_text())
    desc["resources"][0]["schema"] = {**schema, "$schema": server.url + "/ts.json"}
    save(pkg, desc)
    report = validate_package(pkg)
    assert "unsafe-profile" in codes(report)
    assert server.requests == []


def test_the_server_sees_what_frictionless_alone_fetches(pkg: Path, server: Server) -> None:
    """The control: the same descriptor handed to frictionless directly is fetched, so a
    count of 0 above means corpuspack refused it, not that the server saw nothing."""
    import frictionless

    desc = load(pkg)
    desc["profile"] = server.url + "/profile.json"
    frictionless.validate(desc, type="package", basepath=str(pkg))
    assert server.requests and server.requests[0].endswith("/profile.json")


def test_standard_profiles_are_not_fetched(pkg: Path, server: Server) -> None:
    desc = load(pkg)
    for schema in ("https://datapackage.org/profiles/2.0/datapackage.json",
                   "https://datapackage.org/profiles/1.0/datapackage.json"):
        desc["$schema"] = schema
        desc["profile"] = "tabular-data-package"
        desc["resources"][0]["profile"] = "tabular-data-resource"
        desc["resources"][0]["$schema"] = "https://datapackage.org/profiles/2.0/dataresource.json"
        save(pkg, desc)
        report = validate_package(pkg)
        assert report.valid, report.problems
    assert server.requests == []  # not even a CONNECT to datapackage.org through the proxy


def test_a_release_fetches_nothing(release: Path, server: Server) -> None:
    report = validate_package(release)
    assert report.valid, report.problems
    render(open_package(release), None)
    diff(open_package(release), open_package(release))
    assert server.requests == []


# --- paths outside the package --------------------------------------------------------------


OUTSIDE_PATHS = [
    ("absolute", ("resources", 0, "path"), "/etc/passwd"),
    ("up", ("resources", 0, "path"), "../secret.jsonl"),
    ("up inside", ("resources", 0, "path"), "data/../../secret.jsonl"),
    ("file url", ("resources", 0, "path"), "file:///etc/passwd"),
    ("backslash", ("resources", 0, "path"), "..\\secret.jsonl"),
    ("schema up", ("resources", 0, "schema"), "../secret.json"),
    ("schema absolute", ("resources", 0, "schema"), "/etc/passwd"),
    ("dialect up", ("resources", 0, "dialect"), "../secret.json"),
    ("report up", ("corpuspack", "report"), "../secret.json"),
    ("report absolute", ("corpuspack", "report"), "/etc/passwd"),
]


@pytest.mark.parametrize("where,value", [(w, v) for _, w, v in OUTSIDE_PATHS],
                         ids=[n for n, _, _ in OUTSIDE_PATHS])
def test_paths_outside_the_package_are_refused(pkg: Path, where: tuple[Any, ...],
                                               value: str) -> None:
    desc = load(pkg)
    _set(where, value)(desc, "")
    save(pkg, desc)
    report = validate_package(pkg)
    assert "unsafe-path" in codes(report), report.problems
    said = everything_said(report)
    assert OUTSIDE not in said and "root:x:0:0" not in said
    for message in refused_by_all(pkg):
        assert OUTSIDE not in message and "root:x:0:0" not in message


@pytest.mark.parametrize("target", ["/etc/passwd", "secret.jsonl"])
def test_a_data_file_linked_outside_is_refused_unread(pkg: Path, target: str) -> None:
    desc = load(pkg)
    shard = pkg / desc["resources"][0]["path"]
    shard.unlink()
    os.symlink(target if target.startswith("/") else pkg.parent / target, shard)
    report = validate_package(pkg)
    assert not report.valid
    assert [p.code for p in report.problems if p.resource == desc["resources"][0]["name"]] == [
        "unsafe-path"]
    said = everything_said(report)
    assert "root:x:0:0" not in said and OUTSIDE not in said
    assert report.documents == 0
    for message in refused_by_all(pkg):
        assert "outside" in message


def test_a_report_and_a_schema_linked_outside_are_refused(pkg: Path) -> None:
    desc = load(pkg)
    report_path = pkg / desc["corpuspack"]["report"]
    report_path.unlink()
    os.symlink(pkg.parent / "secret.json", report_path)
    with pytest.raises(CorpusError, match="outside"):
        render(open_package(pkg), None)
    schema = pkg / desc["resources"][0]["schema"]
    schema.unlink()
    os.symlink(pkg.parent / "secret.json", schema)
    report = validate_package(pkg)
    assert "unsafe-path" in codes(report) and OUTSIDE not in everything_said(report)


def test_a_descriptor_linked_outside_is_refused(pkg: Path, tmp_path: Path) -> None:
    (pkg / "datapackage.json").rename(tmp_path / "elsewhere.json")
    os.symlink(tmp_path / "elsewhere.json", pkg / "datapackage.json")
    report = validate_package(pkg)
    assert [p.code for p in report.problems] == ["unsafe-path"]
    with pytest.raises(CorpusError, match="outside"):
        open_package(pkg)


def test_fifos_never_hang(pkg: Path) -> None:
    desc = load(pkg)
    shard = pkg / desc["resources"][0]["path"]
    shard.unlink()
    os.mkfifo(shard)
    report_path = pkg / desc["corpuspack"]["report"]
    report_path.unlink()
    os.mkfifo(report_path)
    with deadline(60):
        report = validate_package(pkg)
        assert "unsafe-path" in codes(report)
        assert any("not a regular file" in p.message for p in report.problems)
        for message in refused_by_all(pkg):
            assert "regular file" in message
    schema = pkg / desc["resources"][0]["schema"]
    schema.unlink()
    os.mkfifo(schema)
    with deadline(60):
        assert "unsafe-path" in codes(validate_package(pkg))
    (pkg / "datapackage.json").unlink()
    os.mkfifo(pkg / "datapackage.json")
    with deadline(60), pytest.raises(UsageError, match="no datapackage.json"):
        validate_package(pkg)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=cwd, check=True, capture_output=True)


@pytest.mark.parametrize("path", ["../outside.jsonl", "/etc/passwd", "data/../../x.jsonl"])
def test_a_git_revision_never_reads_outside_its_tree(tmp_path: Path, path: str) -> None:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    desc = {"name": "x", "version": "1.0.0",
            "resources": [{"name": "documents-00000-of-00001", "path": path,
                           "format": "jsonl"}]}
    (repo / "datapackage.json").write_text(json.dumps(desc))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hostile")
    with pytest.raises(UsageError) as caught:
        open_package("HEAD", repo)
    assert "goes up" in str(caught.value) or "absolute" in str(caught.value)
    with pytest.raises(UsageError):
        open_package("--output=x", repo)
    assert not (repo / "x").exists()


# --- malformed descriptors -------------------------------------------------------------------


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"k": [value]}
    return value


MALFORMED: list[tuple[str, Any, str]] = [
    ("resources not a list", _set(("resources",), {"path": "x"}), "invalid-descriptor"),
    ("resource not an object", _set(("resources", 0), "data/x.jsonl"), "invalid-descriptor"),
    ("resource a list", _set(("resources", 0), [1, 2]), "invalid-descriptor"),
    ("path not a string", _set(("resources", 0, "path"), ["a", "b"]), "unsafe-path"),
    ("path a number", _set(("resources", 0, "path"), 7), "unsafe-path"),
    ("name not a string", _set(("resources", 0, "name"), {"n": 1}), "invalid-descriptor"),
    ("format unknown", _set(("resources", 0, "format"), "xlsx"), "unsupported-resource"),
    ("compression zip", _set(("resources", 0, "compression"), "zip"), "unsupported-resource"),
    ("inline data", _set(("resources", 0, "data"), [{"id": "x"}]), "unsupported-resource"),
    ("schema a number", _set(("resources", 0, "schema"), 3), "invalid-descriptor"),
    ("statistics a list", _set(("corpuspack", "statistics"), [1]), "invalid-descriptor"),
    ("documents a string", _set(("corpuspack", "statistics", "documents"), "many"),
     "invalid-descriptor"),
    ("documents huge", _set(("corpuspack", "statistics", "documents"), 2**70),
     "invalid-descriptor"),
    ("documents negative", _set(("corpuspack", "statistics", "documents"), -1),
     "invalid-descriptor"),
    ("languages a list", _set(("corpuspack", "statistics", "languages"), ["en"]),
     "invalid-descriptor"),
    ("language count a string", _set(("corpuspack", "statistics", "languages"), {"en": "1"}),
     "invalid-descriptor"),
    ("corpuspack a string", _set(("corpuspack",), "x"), "invalid-descriptor"),
    ("rows a list", _set(("corpuspack", "rows"), [1]), "invalid-descriptor"),
    ("report a number", _set(("corpuspack", "report"), 5), "unsafe-path"),
    ("text quality a list", _set(("corpuspack", "text_quality"), []), "invalid-descriptor"),
    ("near dedup a string", _set(("corpuspack", "text_quality", "near_dedup"), "on"),
     "invalid-descriptor"),
    ("licenses strings", _set(("licenses",), ["MIT"]), "invalid-descriptor"),
    ("sources an object", _set(("sources",), {"title": "x"}), "invalid-descriptor"),
    ("keywords a string", _set(("keywords",), "news"), "invalid-descriptor"),
    ("title a list", _set(("title",), ["a"]), "invalid-descriptor"),
    ("version a number", _set(("version",), 1.5), "invalid-descriptor"),
    ("deep", _set(("meta",), _deep(300)), "invalid-descriptor"),
    ("two resources one name", lambda d, u: d["resources"].append(dict(d["resources"][0])),
     "invalid-descriptor"),
]


@pytest.mark.parametrize("how,code", [(m[1], m[2]) for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_descriptors_are_problems_or_one_line(pkg: Path, how: Any, code: str) -> None:
    reference = pkg.parent / "reference"
    shutil.copytree(pkg, reference)
    desc = load(pkg)
    how(desc, "")
    save(pkg, desc)
    report = validate_package(pkg)
    assert not report.valid and code in codes(report), report.problems
    for message in refused_by_all(pkg, reference):
        assert "\n" not in message


@pytest.mark.parametrize("data,what", [
    (b"\xff\xfe not utf-8", "not JSON"),
    (b'{"resources": [], "version": 1e400}', "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b"", "not JSON"),
    (b'{"a": "\\ud800"}', "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "depth limit"),
    (b'{"a":' * 1000 + b"1" + b"}" * 1000, "more than 64 deep"),
])
def test_unparseable_descriptors(pkg: Path, data: bytes, what: str) -> None:
    (pkg / "datapackage.json").write_bytes(data)
    report = validate_package(pkg)
    assert [p.code for p in report.problems] == ["invalid-descriptor"]
    assert what in report.problems[0].message
    for message in refused_by_all(pkg):
        assert "\n" not in message


def test_a_huge_descriptor_is_refused_unread(pkg: Path) -> None:
    with open(pkg / "datapackage.json", "wb") as fh:
        fh.truncate(65 << 20)  # sparse: 65 MB of NULs
    report = validate_package(pkg)
    assert [p.code for p in report.problems] == ["unsafe-path"]
    assert "exceeds the limit" in report.problems[0].message


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=ENV, timeout=300)


def test_the_commands_answer_in_one_line(pkg: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(pkg, reference)
    card = pkg / "DATA_CARD.md"
    card.write_text("# Hand-written\n", encoding="utf-8")
    desc = load(pkg)
    desc["resources"][0]["path"] = "../secret.jsonl"
    desc["corpuspack"]["statistics"] = "lots"
    save(pkg, desc)
    done = cli(tmp_path, "validate", str(pkg))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "unsafe-path" in done.stdout and "invalid-descriptor" in done.stdout
    assert OUTSIDE not in done.stdout
    for args in (("diff", str(reference), str(pkg)), ("card", str(pkg))):
        done = cli(tmp_path, *args)
        assert done.returncode == 2, done
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error:"), done.stderr
        assert OUTSIDE not in done.stderr + done.stdout
    assert card.read_text(encoding="utf-8") == "# Hand-written\n"  # not rewritten


# --- fuzzing ---------------------------------------------------------------------------------


_SPECIAL = st.sampled_from([
    "data/schema.json", "../secret.json", "/etc/passwd", "http://127.0.0.1:9/x", "jsonl",
    "parquet", "gz", "tabular-data-package", "data-resource", "", "\n## 9.9.9\n",
    "<!-- corpuspack:end summary -->", "$\\frac{1}{0}$", "https://datapackage.org/profiles/2.0/x",
])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**65), max_value=2**65)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20) | _SPECIAL,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=8) | _SPECIAL, inner, max_size=4),
    max_leaves=12)
KEYS = [(k,) for k in ("name", "title", "description", "version", "keywords", "licenses",
                       "sources", "contributors", "$schema", "profile", "resources",
                       "corpuspack", "homepage")]
KEYS += [("resources", 0, k) for k in ("name", "path", "format", "schema", "dialect",
                                        "compression", "bytes", "hash", "encoding", "profile",
                                        "scheme", "$schema", "type")]
KEYS += [("corpuspack", k) for k in ("statistics", "rows", "report", "files", "text_quality",
                                     "options", "generator")]
KEYS += [("corpuspack", "statistics", k) for k in (
    "documents", "words", "chars", "text_bytes", "languages", "formats", "encodings",
    "licenses", "date_min", "date_max")]
KEYS += [("corpuspack", "text_quality", k) for k in ("near_dedup", "quality", "boilerplate",
                                                     "pii")]
KEYS += [("corpuspack", "options", "language_sample_chars"),
         ("corpuspack", "text_quality", "near_dedup", "shingle_words")]


def _assert_contained(pkg: Path, reference: Path) -> None:
    report = validate_package(pkg)
    assert isinstance(report, ValidationReport)
    orjson.dumps(report.to_dict())
    try:
        package = open_package(pkg)
    except CorpusError:
        return
    for step in (lambda: diff(open_package(reference), package), lambda: render(package, None)):
        try:
            step()
        except CorpusError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                  HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(KEYS), JSON | st.just(KeyError)),
                      min_size=1, max_size=3))
def test_fuzzed_descriptors(pkg: Path, server: Server,
                            edits: list[tuple[tuple[Any, ...], Any]]) -> None:
    reference = pkg.parent / "reference"
    if not reference.exists():
        shutil.copytree(pkg, reference)
    desc = load(reference)
    for path, value in edits:
        target: Any = desc
        try:
            for key in path[:-1]:
                target = target[key]
            if value is KeyError:
                del target[path[-1]]
            else:
                target[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue
    save(pkg, desc)
    _assert_contained(pkg, reference)
    assert server.requests == []


COLUMN_NAMES = ["id", "source", "format", "title", "date", "language", "language_score",
                "license", "n_chars", "n_words", "sha256", "meta", "text", "publisher"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                  HealthCheck.too_slow])
@given(line=st.integers(min_value=0, max_value=20), column=st.sampled_from(COLUMN_NAMES),
       value=JSON | st.just(KeyError))
def test_fuzzed_documents(pkg: Path, line: int, column: str, value: Any) -> None:
    reference = pkg.parent / "reference"
    if not reference.exists():
        shutil.copytree(pkg, reference)
    rel = load(reference)["resources"][0]["path"]
    lines = (reference / rel).read_bytes().splitlines(keepends=True)
    doc = json.loads(lines[line % len(lines)])
    if value is KeyError:
        doc.pop(column, None)
    else:
        doc[column] = value
    lines[line % len(lines)] = json.dumps(doc).encode() + b"\n"
    (pkg / rel).write_bytes(b"".join(lines))
    _assert_contained(pkg, reference)


# --- release folders ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def release(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config, _ = built
    package = open_package(config.package_dir)
    out = tmp_path_factory.mktemp("dist") / "release"
    publish(package, out, changes=diff(None, package))
    return out


@pytest.fixture()
def rel(release: Path, tmp_path: Path) -> Path:
    copy_ = tmp_path / "release"
    shutil.copytree(release, copy_, symlinks=True)
    return copy_


def parquet_of(release: Path) -> Path:
    return next((release / "data").glob("*.parquet"))


def reseal(release: Path) -> None:
    """Make SHA256SUMS and corpuspack.files true again, so only the other checks object."""
    desc = load(release)
    for name in desc["corpuspack"]["files"]:
        data = (release / name).read_bytes()
        desc["corpuspack"]["files"][name] = {"bytes": len(data),
                                             "sha256": hashlib.sha256(data).hexdigest()}
    (release / "datapackage.json").write_text(json.dumps(desc), encoding="utf-8")
    lines = []
    for path in sorted(release.rglob("*")):
        rel_ = path.relative_to(release).as_posix()
        if path.is_file() and rel_ not in ("SHA256SUMS", "corpuspack-files.json"):
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {rel_}\n")
    (release / "SHA256SUMS").write_text("".join(lines), encoding="utf-8")


def rewrite_parquet(release: Path, fn: Any, schema: pa.Schema | None = None) -> None:
    path = parquet_of(release)
    table = pq.read_table(path)
    rows = fn(table.to_pylist())
    pq.write_table(pa.Table.from_pylist(rows, schema=schema or table.schema), path)


def test_a_release_is_read_like_its_package(built, release: Path) -> None:
    config, _ = built
    package, published = open_package(config.package_dir), open_package(release)
    assert published.is_release and not package.is_release
    assert list(published.iter_documents()) == list(package.iter_documents())
    changes = diff(package, published)
    assert changes.counts["changed"] == changes.counts["added"] == 0
    assert changes.counts["removed"] == 0
    assert changes.counts["unchanged"] == published.statistics["documents"]
    report = validate_package(release)
    assert report.valid and report.problems == [], report.problems
    assert report.documents == published.statistics["documents"]
    assert any("a release" in note for note in report.notes)
    card = render(published, None)
    assert f"| documents | {published.statistics['documents']:,} |" in card.text


def test_card_and_diff_of_a_release_on_the_command_line(built, rel: Path,
                                                        tmp_path: Path) -> None:
    config, _ = built
    done = cli(tmp_path, "diff", str(config.package_dir), str(rel))
    assert done.returncode == 0, done.stderr
    assert "0 added, 0 removed, 0 changed" in done.stdout
    done = cli(tmp_path, "validate", str(rel))
    assert done.returncode == 0, done.stdout + done.stderr
    done = cli(tmp_path, "card", str(rel))  # publish writes a release whole: not into it
    assert done.returncode == 2 and "--out" in done.stderr
    assert not (rel / "DATA_CARD.md").exists()
    done = cli(tmp_path, "card", str(rel), "--out", str(tmp_path / "card"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "card" / "DATA_CARD.md").read_text().count(
        "<!-- corpuspack:begin ") == 7


def test_a_changed_byte_breaks_checksums_and_the_record(rel: Path) -> None:
    path = parquet_of(rel)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    found = codes(validate_package(rel))
    assert {"checksum-mismatch", "wrong-file-record"} <= found


def test_unlisted_links_and_fifos_in_a_release(rel: Path, tmp_path: Path) -> None:
    (rel / "extra.txt").write_text("not listed")
    lines = (rel / "SHA256SUMS").read_text().splitlines(keepends=True)
    (rel / "SHA256SUMS").write_text("".join(line for line in lines
                                            if not line.endswith(" LICENSE.md\n")))
    (tmp_path / "outside.md").write_text(OUTSIDE)
    (rel / "CHANGELOG.md").unlink()
    os.symlink(tmp_path / "outside.md", rel / "CHANGELOG.md")
    os.mkfifo(rel / "card" / "fifo")
    with deadline(60):
        report = validate_package(rel)
    unlisted = {p.message.split("'")[1] for p in report.problems if p.code == "unlisted-file"}
    assert unlisted == {"extra.txt", "LICENSE.md", "card/fifo"}
    assert any(p.code == "unsafe-path" and "CHANGELOG.md" in p.message for p in report.problems)
    assert OUTSIDE not in everything_said(report)


@pytest.mark.parametrize("sums,code", [
    (None, "missing-checksums"),
    ("not a checksum line\n", "invalid-checksums"),
    ("0" * 64 + "  ../outside.md\n", "unsafe-path"),
    ("0" * 64 + "  missing.txt\n", "missing-file"),
])
def test_broken_checksum_files(rel: Path, sums: str | None, code: str) -> None:
    if sums is None:
        (rel / "SHA256SUMS").unlink()
    else:
        with open(rel / "SHA256SUMS", "a", encoding="utf-8") as fh:
            fh.write(sums)
    assert code in codes(validate_package(rel))


def test_a_parquet_file_of_another_schema(rel: Path) -> None:
    schema = arrow_schema()
    narrower = pa.schema([f for f in schema if f.name != "cluster"])
    rewrite_parquet(rel, lambda rows: [{k: v for k, v in r.items() if k != "cluster"}
                                       for r in rows], narrower)
    reseal(rel)
    report = validate_package(rel)
    assert "wrong-parquet-schema" in codes(report)
    with pytest.raises(UsageError, match="cluster|columns"):
        list(open_package(rel).iter_documents())


def test_values_in_a_release_are_checked_like_frictionless_would(rel: Path) -> None:
    def tamper(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[0]["language"] = "english"  # pattern ^[a-z]{2,3}$
        rows[0]["format"] = "xls"  # enum
        rows[0]["language_score"] = 2.0  # maximum 1
        return rows

    rewrite_parquet(rel, tamper)
    reseal(rel)
    report = validate_package(rel)
    wrong = {p.field for p in report.problems if p.code == "constraint"}
    assert wrong == {"language", "format", "language_score"}


def test_ids_and_hashes_in_a_release(rel: Path) -> None:
    def tamper(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[0], rows[1] = rows[1], rows[0]
        rows[2]["text"] = rows[2]["text"] + " more"
        rows[3]["meta"] = "[1, 2]"
        return rows

    rewrite_parquet(rel, tamper)
    reseal(rel)
    found = codes(validate_package(rel))
    assert {"id-order", "wrong-value", "unreadable-document"} <= found
    with pytest.raises(UsageError):
        diff(open_package(rel), open_package(rel))


def test_not_parquet_at_all(rel: Path) -> None:
    parquet_of(rel).write_bytes(b"PAR1 but not really")
    reseal(rel)
    report = validate_package(rel)
    assert "unreadable-parquet" in codes(report)
    with pytest.raises(UsageError, match="not a readable Parquet"):
        render(open_package(rel), None)


def test_a_release_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """20,000 documents (26 MB of text) in row groups of 500 rows: reading them back never
    holds more than a few row groups in Arrow memory."""
    folder = tmp_path / "release"
    (folder / "data").mkdir(parents=True)
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do".split()
    stats = CorpusStats()
    path = folder / "data" / "train-00000-of-00001.parquet"
    writer = pq.ParquetWriter(path, arrow_schema())
    total = 20_000
    for start in range(0, total, 500):
        docs = []
        for i in range(start, start + 500):
            text = " ".join(words[(i + k) % len(words)] for k in range(220)) + f" {i}."
            docs.append({"id": f"{i:016x}", "source": f"d/{i}.txt", "format": "text",
                         "encoding": "utf-8", "n_chars": len(text), "n_words": len(text.split()),
                         "sha256": text_sha256(text), "meta": {"n": i}, "text": text})
            stats.add(docs[-1])
        writer.write_batch(to_arrow(docs), row_group_size=500)
    writer.close()
    whole = pq.read_table(path).nbytes
    desc = {"name": "big", "version": "1.0.0",
            "resources": [{"name": "train-00000-of-00001", "type": "table",
                           "path": "data/train-00000-of-00001.parquet", "format": "parquet"}],
            "corpuspack": {"statistics": stats.to_dict()}}
    (folder / "datapackage.json").write_text(json.dumps(desc))
    package = open_package(folder)
    peak, count, last = 0, 0, {}
    for doc in package.iter_documents():
        count, last = count + 1, doc
        if count % 100 == 0:
            peak = max(peak, pa.total_allocated_bytes())
    assert count == total and last["meta"] == {"n": total - 1}
    assert peak < whole / 5, (peak, whole)


def test_publish_fetches_nothing_and_reads_nothing_outside(pkg: Path, server: Server,
                                                           tmp_path: Path) -> None:
    desc = load(pkg)
    desc["homepage"] = server.url + "/home"
    desc["licenses"] = [{"name": "CC-BY-4.0", "path": server.url + "/licence",
                         "title": "CC BY 4.0"}]
    desc["sources"] = [{"title": "site", "path": server.url + "/source"}]
    desc["keywords"] = ["news"]
    save(pkg, desc)
    release = publish(open_package(pkg), tmp_path / "out")
    assert release.documents == desc["corpuspack"]["statistics"]["documents"]
    assert validate_package(tmp_path / "out").valid
    assert server.requests == []
    desc["resources"][0]["path"] = "../secret.jsonl"
    save(pkg, desc)
    with pytest.raises(CorpusError):
        publish(open_package(pkg), tmp_path / "out2")
    assert not (tmp_path / "out2").exists() and server.requests == []
