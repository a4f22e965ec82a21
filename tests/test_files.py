import json

from eznas.files import write_atomic
from eznas.gp.checkpoint import LOG, read_log, trim_log


def test_write_atomic_replaces_whole_file(tmp_path):
    path = tmp_path / "a.json"
    write_atomic(path, "old")
    write_atomic(path, json.dumps({"x": 1}))
    assert json.loads(path.read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_log_line_cut_by_kill_is_ignored_and_trimmed(tmp_path):
    lines = [json.dumps({"generation": g, "best": 0.1 * g}) for g in range(3)]
    (tmp_path / LOG).write_text("\n".join(lines) + "\n" + '{"generation": 3, "be')
    assert [e["generation"] for e in read_log(tmp_path)] == [0, 1, 2]
    trim_log(tmp_path, 1)
    assert [e["generation"] for e in read_log(tmp_path)] == [0, 1]
    assert (tmp_path / LOG).read_text().endswith("\n")
