
import pytest
import torch
from safetensors.torch import save_file

from datadistill import load, random_real
from datadistill.errors import ArtifactError
from datadistill.synthetic import ARTIFACT_NAME, SyntheticSet, artifact_target, resolve_artifact


def test_round_trip_is_exact(tmp_path, digits):
    syn = random_real(digits, 3, seed=1)
    syn.lrs = torch.tensor([0.02, 0.03])
    syn.schedule = {"steps": 2, "epochs": 1}
    syn.evaluations.append({"protocol": "x", "model": "convnet", "accs": [1.0], "mean": 1.0})
    path = syn.save(tmp_path / "s.safetensors")
    back = load(path)
    assert torch.equal(back.images, syn.images) and torch.equal(back.labels, syn.labels)
    assert torch.equal(back.lrs, syn.lrs)
    assert back.info == syn.info and back.metadata() == syn.metadata()
    ds = back.to_dataset()
    assert len(ds) == 30 and ds[0][0].shape == (1, 8, 8)


def test_exports(tmp_path, digits):
    syn = random_real(digits, 2, seed=0)
    grid = syn.export_png(tmp_path / "g.png", scale=2)
    import matplotlib.image as mpimg

    img = mpimg.imread(grid)
    assert img.shape[0] == (8 + 1) * 10 * 2 + 2 and img.shape[1] == (8 + 1) * 2 * 2 + 2
    folder = syn.export_folder(tmp_path / "folder")
    assert len(list(folder.rglob("*.png"))) == 20 and len(list(folder.iterdir())) == 10


def test_foreign_or_corrupt_file_is_one_line_error(tmp_path):
    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ArtifactError, match="no datadistill metadata"):
        SyntheticSet.load(tmp_path / "other.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ArtifactError) as e:
        SyntheticSet.load(tmp_path / "bad.safetensors")
    assert "\n" not in str(e.value)
    with pytest.raises(ArtifactError, match="no distilled set"):
        SyntheticSet.load(tmp_path / "missing")


def test_a_target_without_the_suffix_is_a_run_folder(tmp_path, digits):
    assert artifact_target(tmp_path / "s.safetensors") == tmp_path / "s.safetensors"
    folder = artifact_target(tmp_path / "runs" / "kc")
    assert folder == tmp_path / "runs" / "kc" / ARTIFACT_NAME
    random_real(digits, 1, seed=0).save(folder)
    assert resolve_artifact(tmp_path / "runs" / "kc") == folder  # read back from the folder
