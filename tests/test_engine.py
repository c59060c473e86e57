"""The engine package's structure and its record: modules import alone, in an order without
cycles, never importing the plugins; the record's schema is documented where the docs say."""
import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shouxie.engine import records as records_module
from shouxie.engine.records import JSON_FIELDS, Record, Status, schema_markdown
from shouxie.engine.timing import Timing

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.stem for p in (ROOT / "engine").glob("*.py") if p.stem != "__init__")


def _runtime_imports(module: str) -> set[str]:
    """The engine modules ``module`` imports when it runs (``if TYPE_CHECKING:`` blocks excluded)."""
    tree = ast.parse((ROOT / "engine" / f"{module}.py").read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and id(node) not in typing_only:
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif (node.module or "").startswith("shouxie.engine."):
                found.add(node.module.split(".")[2])
    return found


def test_engine_imports_have_no_cycle():
    graph = {m: _runtime_imports(m) for m in MODULES}
    assert all(deps <= set(MODULES) for deps in graph.values()), graph
    done: set[str] = set()
    while len(done) < len(graph):  # peel off modules whose imports are all done; a cycle stalls
        ready = {m for m, deps in graph.items() if m not in done and deps <= done}
        assert ready, f"import cycle among {sorted(set(graph) - done)}"
        done |= ready


@pytest.mark.parametrize("module", MODULES)
def test_each_engine_module_imports_alone_without_the_plugins(module):
    code = (f"import sys; import shouxie.engine.{module}; "
            "bad = sorted(m for m in sys.modules if m.startswith(('shouxie.plugins', 'shouxie.runner'))); "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("doc", ["README.md", "docs/hooks.md"])
def test_record_schema_is_documented_from_the_dataclass(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    start = text.index("<!-- record fields:")
    block = text[text.index("\n", start) + 1: text.index("<!-- end of record fields -->")]
    assert block == schema_markdown(), f"{doc}: regenerate with `python -m shouxie.engine.records`"


def test_record_docs_name_every_timing_key_and_status():
    docs = {f.name: f.metadata["doc"] for f in dataclasses.fields(Record) if f.name in JSON_FIELDS}
    assert all(f"`{key}`" in docs["time_s"] for key in Timing.__annotations__)
    assert all(f"`{status.value}`" in docs["status"] for status in Status)


def _record(**changes):
    fields = dict(experiment="e", run_id="abc", point={"n": 3}, point_index=0, seed=1, step="s",
                  op="t.op", plugin="p", status="ok")
    return Record(**{**fields, **changes})


def test_record_reads_as_the_dict_it_used_to_be():
    record = _record(status="error", error="ValueError: x", traceback="Traceback ...")
    assert record["status"] == "error" == record.status and record.status is Status.ERROR
    assert f"{record.status}" == "error" and str(record.status) == "error"
    assert record.get("time_s") is None and record.get("nothing", 5) == 5 and "op" in record
    assert list(record) == [*JSON_FIELDS, "traceback"] and len(record) == 18
    assert "traceback" not in _record() and list(_record()) == list(JSON_FIELDS)
    with pytest.raises(KeyError):
        record["nothing"]


def test_record_json_round_trip_keeps_key_order_and_drops_the_traceback():
    record = _record(status="mismatch", time_s={"median": 1.0}, traceback="tb")
    line = json.dumps(record.to_json())
    assert list(json.loads(line)) == list(JSON_FIELDS) and "traceback" not in line
    again = Record.from_json(json.loads(line))
    assert again == dataclasses.replace(record, traceback=None)
    with pytest.raises(ValueError, match="not a record"):
        Record.from_json({"step": "s"})


def test_load_records_ignores_only_a_cut_last_line(tmp_path):
    path = tmp_path / "results.jsonl"
    line = json.dumps(_record().to_json())
    path.write_text(line + "\n" + line[:40])
    assert records_module.load_records(path) == [_record()]
    path.write_text(line[:40] + "\n" + line + "\n")
    with pytest.raises(Exception, match="line 1 is not valid JSON"):
        records_module.load_records(path)


@pytest.mark.parametrize("name", ["../x", "/tmp/shouxie-escape", "a/b", "..", "."])
def test_run_dir_is_always_inside_out(tmp_path, name):
    import datetime

    from shouxie.engine.rundir import RunDir, UnsafeRunDir

    with pytest.raises(UnsafeRunDir):
        RunDir.create(tmp_path / "out", name, datetime.datetime(2026, 1, 2, 3, 4, 5))
    assert not (tmp_path / "out").exists() and not Path("/tmp/shouxie-escape").exists()
    made = RunDir.create(tmp_path / "out", "fine", datetime.datetime(2026, 1, 2, 3, 4, 5), "abcd1234")
    assert made.path == tmp_path / "out" / "fine" / "20260102-030405-abcd1234" and made.path.is_dir()
    assert made.run_id == "abcd1234" and made.out == tmp_path / "out"
