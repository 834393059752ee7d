import sys
import textwrap

import pytest

from nlpbench import registry
from nlpbench.errors import BadInput


def test_lookup_error_suggests_and_lists():
    with pytest.raises(BadInput) as e:
        registry.get_adapter("lstmm")
    assert e.value.problems[0].startswith("unknown adapter 'lstmm' — did you mean 'lstm'? available: ")
    assert "dummy" in e.value.problems[0]


def test_third_party_adapter_through_entry_point(tmp_path, monkeypatch):
    """A package outside this repo adds an adapter via the `nlpbench.adapters` entry-point group."""
    (tmp_path / "thirdparty_nlp.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from nlpbench.models.dummy import DummyAdapter

        @dataclass
        class Cfg:
            width: int = 3

        class Plugin(DummyAdapter):
            Config = Cfg
    '''))
    dist = tmp_path / "thirdparty_nlp-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-nlp\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nlpbench.adapters]\nplugin = thirdparty_nlp:Plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))
    cls = registry.get_adapter("plugin")
    assert cls.name == "plugin" and cls.Config().width == 3
    sys.modules.pop("thirdparty_nlp", None)


def test_registering_a_name_twice_is_refused(monkeypatch):
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))
    registry.get_adapter("dummy")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_adapter("dummy")(type("Other", (), {}))


def test_adapter_named_by_module_and_class_in_a_suite(tmp_path, monkeypatch, write_suite, capsys):
    """`adapter: mymod:MyAdapter` needs no registration: imported at validate, contract-checked, trained."""
    from nlpbench.cli import main
    from tests.conftest import tiny_suite

    (tmp_path / "my_bow.py").write_text(textwrap.dedent('''
        from nlpbench.models.dummy import DummyAdapter

        class Bow(DummyAdapter):
            pass

        class NotAnAdapter:
            pass
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    suite = tiny_suite()
    suite["tasks"][0]["models"] = [{"adapter": "my_bow:Bow", "name": "bow", "train": {"epochs": 1}}]
    assert main(["run", str(write_suite(suite)), "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert registry.get_adapter("my_bow:Bow").name == "my_bow:Bow"  # not the parent's 'dummy'
    bad = [{"adapter": "my_bow:NotAnAdapter"}, {"adapter": "my_bow:Missing"}, {"adapter": "no_such_mod:X"}]
    suite["tasks"][0]["models"] = [{**m, "name": f"m{i}"} for i, m in enumerate(bad)]
    capsys.readouterr()
    assert main(["validate", str(write_suite(suite))]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and "breaks the adapter contract" in err[0]
    assert "has no class 'Missing'" in err[1] and "cannot import module 'no_such_mod'" in err[2]
