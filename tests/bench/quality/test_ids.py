"""The unit and cell id formats: records, baselines and run folders already hold these strings."""
from nlpbench.quality import ids
from nlpbench.quality.trained import checkpoint_path
from nlpbench.quality.units import Unit


def test_ids_keep_their_format():
    assert ids.unit_id("sst2", "bert") == "quality/sst2/bert"
    assert ids.unit_id("sst2", "bert", 3) == "quality/sst2/bert/seed3"
    assert ids.cell_id("sst2", "bert", "test") == "quality/sst2/bert/test"
    assert ids.cell_id("sst2", "bert", "test", 0) == "quality/sst2/bert/test/seed0"
    assert ids.file_stem("sst2", "bert", 1) == "sst2-bert-seed1"
    assert checkpoint_path("/r", "sst2", "bert").as_posix() == "/r/checkpoints/sst2-bert.pt"


def test_a_cell_maps_back_to_its_unit():
    assert ids.unit_of("quality/t/m/test/seed1") == "quality/t/m/seed1"
    assert ids.unit_of("quality/t/m/test/seed1", seed=False) == "quality/t/m"
    assert ids.unit_of("perf/t/forward/fp32/b1/s32") == "perf/t/forward/fp32/b1/s32"


def test_log_names_are_one_file_even_when_a_label_has_a_slash():
    unit = Unit(0, 0, 1, 1, (), (), ids.unit_id("t", "org/m", 1))
    assert unit.file_stem == "t-org-m-seed1"
    assert ids.log_stem(ids.unit_id("t", "m")) == "t-m" == ids.file_stem("t", "m")
