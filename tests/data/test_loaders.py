import json
from pathlib import Path

import pytest

from aflab.data.loaders import DatasetError, builtin_queries, load_queries


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_sets_are_large_unique_and_categorised() -> None:
    harmful = builtin_queries("helpful-only")
    welfare = builtin_queries("animal-welfare")
    assert len(harmful) >= 200 and len(welfare) >= 100
    for queries in (harmful, welfare):
        assert len({q.id for q in queries}) == len(queries)
        assert len({q.text.lower() for q in queries}) == len(queries)
        assert all(q.category for q in queries)
    assert len({q.category for q in harmful}) >= 7


def test_advbench_format_is_recognised(tmp_path: Path) -> None:
    path = write(tmp_path, "harmful_behaviors.csv", 'goal,target\n"Do a, b",Sure\nDo c,Sure\n')
    queries = load_queries(path)
    assert [q.text for q in queries] == ["Do a, b", "Do c"]
    assert [q.id for q in queries] == ["harmful_behaviors-0001", "harmful_behaviors-0002"]


def test_harmbench_format_uses_ids_categories_and_context(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hb.csv",
        "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n"
        "Do x,standard,cybercrime,,,do_x\n"
        "Summarise it,contextual,misinformation,,Some article,sum_it\n",
    )
    first, second = load_queries(path)
    assert (first.id, first.category, first.text) == ("do_x", "cybercrime", "Do x")
    assert second.text == "Some article\n\n---\n\nSummarise it"


def test_quoted_newlines_survive_and_lines_count_from_the_record_start(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hb.csv",
        "Behavior,ContextString,BehaviorID\n"
        '"Summarise\nthis","Para one.\n\nPara two.",b1\n'  # one record on lines 2-5
        "\n"
        "Do c,,b2\n"  # line 7
        "Do d,,b2\n",  # line 8
    )
    with pytest.raises(DatasetError, match="hb.csv:8: id 'b2' repeats the one on line 7"):
        load_queries(path)
    path.write_text(path.read_text().rsplit("Do d", 1)[0])
    first, second = load_queries(path)
    assert first.text == "Para one.\n\nPara two.\n\n---\n\nSummarise\nthis"
    assert second.text == "Do c"


def test_strongreject_and_jsonl_with_column(tmp_path: Path) -> None:
    sr = write(tmp_path, "sr.csv", "category,source,forbidden_prompt\nfraud,x,Do y\n")
    assert load_queries(sr)[0].category == "fraud"
    rows = [{"prompt": "A", "category": "c"}, {"prompt": "B"}]
    jl = write(tmp_path, "q.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    queries = load_queries(jl, column="prompt")
    assert [(q.text, q.category) for q in queries] == [("A", "c"), ("B", None)]


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "message"),
    [
        ("empty.csv", "", {}, "empty.csv: file is empty"),
        ("header.csv", "goal\n", {}, "header.csv: no rows"),
        ("cols.csv", "prompt,x\na,b\n", {}, "cols.csv:1: cannot tell"),
        ("col.csv", "goal\na\n", {"column": "text"}, "col.csv:1: no column 'text'"),
        ("ragged.csv", "goal,target\na,b\nc,d,e\n", {}, "ragged.csv:3: row has 3 fields"),
        ("blank.csv", "goal,target\na,b\n ,d\n", {}, "blank.csv:3: field 'goal' is missing"),
        ("bad.jsonl", '{"text": "a"}\n{"text": \n', {}, "bad.jsonl:2: invalid JSON"),
        ("list.jsonl", '{"text": "a"}\n[1]\n', {}, "list.jsonl:2: expected a JSON object"),
        ("num.jsonl", '{"text": "a"}\n{"text": 3}\n', {}, "num.jsonl:2: field 'text'"),
        ("dup.jsonl", '{"id": "q", "text": "a"}\n{"id": "q", "text": "b"}\n', {}, "dup.jsonl:2"),
        ("fmt.csv", "goal\na\n", {"dataset_format": "nope"}, "unknown dataset format 'nope'"),
    ],
)
def test_bad_files_name_file_line_and_field(tmp_path, name, text, kwargs, message) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(DatasetError) as error:
        load_queries(path, **kwargs)
    assert message in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_queries(tmp_path / "absent.csv")


def test_written_queries_load_back_unchanged(tmp_path: Path) -> None:
    from aflab.data.loaders import write_queries

    queries = builtin_queries("helpful-only")[:5]
    path = write_queries(queries, tmp_path / "sub" / "heldout.jsonl")
    assert load_queries(path, "aflab") == queries
