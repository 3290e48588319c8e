import numpy as np

from assistant.whole_file import save_arrays


def test_arrays_are_written_whole_and_read_back(tmp_path):
    target = tmp_path / "kept" / "matrix.npz"
    assert save_arrays(target, data=np.arange(5), size=5)
    with np.load(target) as kept:
        assert kept["data"].tolist() == [0, 1, 2, 3, 4] and int(kept["size"]) == 5
    assert [p.name for p in target.parent.iterdir()] == ["matrix.npz"]     # no temporary file left


def test_a_folder_that_cannot_be_made_writes_nothing(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    assert not save_arrays(blocker / "matrix.npz", data=np.arange(3))
    assert blocker.read_text() == "a file where the folder should be"
