"""Suite documents within budgets (bench/suite/budget.py): alias bombs, deep nesting, size; one line, exit 2."""
import time

import pytest
import yaml

from nlpbench.cli import main
from nlpbench.errors import BadInput
from nlpbench.suite import budget
from nlpbench.suite.schema import read_suite
from tests.conftest import tiny_suite

LOL = '["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
# The 391-byte "billion laughs": 9 levels of 9 aliases, 9^9 values once expanded, under a typed key.
BOMB = "x: &a " + LOL + "\n" + "".join(
    f"{k}: &{k} [{','.join(['*' + p] * 9)}]\n" for p, k in zip("abcdefgh", "bcdefghi")
) + "name: x\ntasks: *i\n"


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nlpbench: ") and "Traceback" not in err[0], err
    return err[0]


def test_the_alias_bomb_is_refused_at_once_in_one_line(tmp_path, capsys):
    assert len(BOMB) < 400
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    assert main(["validate", str(path)]) == 2
    line = one_line(capsys)
    assert "expands to more than 100000 values" in line and f"{path}: line " in line
    t0 = time.perf_counter()
    with pytest.raises(BadInput):
        read_suite(str(path))
    assert time.perf_counter() - t0 < 2  # before: validation walked 9^9 values (hung)


def test_a_bomb_in_an_override_value_is_refused(write_suite, capsys):
    levels = ["&a [1,1,1,1,1,1,1,1,1,1]"] + [f"&{k} [{','.join(['*' + p] * 10)}]" for p, k in zip("abcd", "bcde")]
    value = "[" + ", ".join(levels + ["[" + ",".join(["*e"] * 10) + "]"]) + "]"
    assert main(["validate", str(write_suite(tiny_suite())), f"seed={value}"]) == 2
    line = one_line(capsys)
    assert "expands to more than" in line and len(line) < 300  # before: a 3.5 MB line (the value printed)


def test_deep_nesting_is_refused_not_a_recursion_error(write_suite, tmp_path, capsys):
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: x\ndescription: " + "[" * 5000 + "]" * 5000 + "\n")
    assert main(["validate", str(deep)]) == 2
    assert "line 2: nested more than 32 levels deep" in one_line(capsys)
    suite = str(write_suite(tiny_suite()))
    assert main(["validate", suite, "seed=" + "[" * 5000 + "]" * 5000]) == 2
    assert "nested more than 32 levels deep" in one_line(capsys)
    assert main(["validate", suite, ".".join(["a"] * 5000) + "=1"]) == 2  # the key path, too
    assert "5000 keys deep; a suite nests at most 32" in one_line(capsys)


def test_size_and_unbuildable_values(write_suite, tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_text("name: big\n" + ("#" * 1000 + "\n") * 1100)
    assert main(["validate", str(big)]) == 2
    assert "a suite document may hold at most 1048576" in one_line(capsys)
    assert main(["validate", str(write_suite(tiny_suite())), "seed=" + "9" * 5000]) == 2  # past int()'s digit limit
    assert "a value YAML can't build" in one_line(capsys)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: x\ndescription: caf\xe9\n")
    assert main(["validate", str(latin)]) == 2
    assert "line 2 is not UTF-8 text" in one_line(capsys)


def test_ordinary_documents_and_anchors_pass():
    shared = "train: &t {epochs: 1, lr: 0.01}\nmodels: [{adapter: dummy, train: *t}, {adapter: lstm, train: *t}]\n"
    assert budget.load(shared, "suite")["models"][1]["train"] == {"epochs": 1, "lr": 0.01}
    assert budget.load(yaml.safe_dump(tiny_suite()), "suite") == tiny_suite()
    with pytest.raises(yaml.YAMLError):  # syntax errors stay the caller's to word
        budget.load("a: [", "suite")
    with pytest.raises(BadInput, match="nested more than 32"):
        budget.check("[" * 33 + "]" * 33, "x")
    budget.check("[" * 32 + "]" * 32, "x")


def test_given_values_are_echoed_bounded(write_suite, capsys):
    huge, suite = "x" * 100_000, str(write_suite(tiny_suite()))
    for override, said in [(f"tasks.0.models.0.adapter={huge}", "unknown adapter 'xxxx"), (f"{huge}=1", "unknown key 'xxxx"),
                           (f"seed={huge}", "Input should be a valid integer"), (f"tasks.{huge}=1", "list index")]:
        assert main(["validate", suite, override]) == 2
        line = one_line(capsys)
        assert said in line and len(line) < 500, (said, len(line))  # before: the whole value, 100 kB a line
