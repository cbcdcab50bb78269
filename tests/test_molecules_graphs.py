"""Molecular graphs: graph <-> molecule <-> SMILES, SMILES files with their drop report, QM9."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
import torch

pytest.importorskip("rdkit")

from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.data.molecules import qm9_smiles_from_archive
from ganforge.errors import ConfigError, DataError
from ganforge.molecules.graphs import (
    GraphError,
    Vocabulary,
    flat_to_graphs,
    graph_to_smiles,
    one_hot_flat,
    smiles_to_graph,
)
from ganforge.molecules.smiles import read_smiles_file

QM9 = Vocabulary.from_string("C,N,O,F", 9)
CHARGED = Vocabulary.from_string("C,N,O,F,N+,O-", 9)


@pytest.mark.parametrize("smiles,canonical,vocab", [
    ("C1=CC=CC=C1", "c1ccccc1", QM9),  # benzene, kekulised in the graph, aromatic again in SMILES
    ("OCC", "CCO", QM9),  # ethanol
    ("[NH3+]CC([O-])=O", "[NH3+]CC(=O)[O-]", CHARGED),  # glycine zwitterion: charges survive
    ("N#CC1(O)CC1", "N#CC1(O)CC1", QM9),
])
def test_round_trip_known_molecules(smiles, canonical, vocab):
    adj, nodes = smiles_to_graph(smiles, vocab)
    assert torch.equal(adj, adj.T) and adj.diagonal().eq(0).all()
    assert graph_to_smiles(adj, nodes, vocab) == canonical


def test_benzene_graph_is_kekule_with_six_carbons():
    adj, nodes = smiles_to_graph("c1ccccc1", QM9)
    assert nodes.tolist() == [1] * 6 + [0] * 3  # six C (index 1), three empty nodes
    bonds = adj.triu(1)
    assert (bonds == 1).sum() == 3 and (bonds == 2).sum() == 3  # alternating single and double


def test_one_hot_flat_round_trip():
    adj, nodes = smiles_to_graph("CC(=O)N", QM9)
    flat = one_hot_flat(adj[None], nodes[None], QM9)
    assert flat.shape == (1, QM9.flat_dim) and flat.sum() == 9 * 9 + 9  # one class per pair and per node
    a, x = flat_to_graphs(flat, QM9)
    assert torch.equal(a[0], adj) and torch.equal(x[0], nodes)


def test_not_molecules_are_none():
    adj = torch.zeros(9, 9, dtype=torch.int64)
    nodes = torch.zeros(9, dtype=torch.int64)
    assert graph_to_smiles(adj, nodes, QM9) is None  # no atoms
    nodes[:2] = torch.tensor([1, 1])
    assert graph_to_smiles(adj, nodes, QM9) is None  # two carbons, no bond: two fragments
    adj[0, 1] = adj[1, 0] = 3
    assert graph_to_smiles(adj, nodes, QM9) == "C#C"
    nodes[0] = 4  # fluorine with a triple bond: valence broken
    assert graph_to_smiles(adj, nodes, QM9) is None


def test_graph_errors_name_the_reason():
    with pytest.raises(GraphError, match="too many atoms"):
        smiles_to_graph("CCCCCCCCCC", QM9)
    with pytest.raises(GraphError, match="outside the vocabulary: Cl"):
        smiles_to_graph("CCl", QM9)
    with pytest.raises(GraphError, match="outside the vocabulary: N\\+"):
        smiles_to_graph("C[NH3+]", QM9)


def test_smiles_file_reports_what_was_dropped(tmp_path):
    path = tmp_path / "mols.smi"
    path.write_text("smiles\nCCO\nnot-a-smiles\nCCCCCCCCCCC\nCCl\nClCCl\nc1ccccc1 benzene\n\n")
    adj, nodes, canon, report = read_smiles_file(path, QM9)
    assert canon == ["CCO", "c1ccccc1"] and adj.shape == (2, 9, 9) and nodes.shape == (2, 9)
    assert report.lines == 6 and report.kept == 2
    assert dict(report.dropped) == {"failed parsing": 1, "too many atoms": 1, "atom type outside the vocabulary": 2}
    assert report.summary() == (f"kept 2 of 6 molecules from {path}; dropped: 2 atom type outside the vocabulary "
                                f"(Cl: 2), 1 failed parsing, 1 too many atoms")


def test_csv_with_smiles_column_gzipped(tmp_path):
    path = tmp_path / "m.csv.gz"
    path.write_bytes(gzip.compress(b"index,smiles\n1,C\n2,N\n3,O=C=O\n"))
    _, _, canon, report = read_smiles_file(path, QM9)
    assert canon == ["C", "N", "O=C=O"] and not report.dropped


def test_bad_files_are_one_line(tmp_path):
    empty = tmp_path / "empty.smi"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match="holds no SMILES"):
        read_smiles_file(empty, QM9)
    none_fit = tmp_path / "big.smi"
    none_fit.write_text("CCl\nCCCCCCCCCCCC\n")
    with pytest.raises(DataError, match="no molecule of .* fits the model") as e:
        read_smiles_file(none_fit, QM9)
    assert "\n" not in str(e.value)
    with pytest.raises(DataError, match="does not exist"):
        read_smiles_file(tmp_path / "missing.smi", QM9)


def test_vocabulary_settings_are_checked():
    with pytest.raises(ConfigError, match="data.atoms must be comma-separated atom types"):
        Config().with_overrides({"data.atoms": "C;N"})
    with pytest.raises(ConfigError, match="lists an atom type twice"):
        Vocabulary.from_string("C,N,C", 9)
    with pytest.raises(ConfigError, match="model.game 'molgan' goes with model.arch 'molgan'"):
        Config().with_overrides({"model.game": "molgan"})


def test_smiles_dataset_through_the_data_registry(tmp_path):
    path = tmp_path / "m.smi"
    path.write_text("CCO\nCCN\nCCl\n")
    cfg = Config().with_overrides({"data.name": "smiles", "data.path": str(path)}).data
    data = load_dataset(cfg)
    assert len(data) == 2 and data.report.dropped["atom type outside the vocabulary"] == 1
    adj, nodes = data.batch(torch.tensor([1, 0]))
    assert adj.dtype == torch.int64 and nodes[0, :3].tolist() == [1, 1, 2]  # CCN: C, C, N
    again = load_dataset(cfg)  # from the graph cache now: the same graphs and report
    assert torch.equal(again.adj, data.adj) and again.smiles == data.smiles and again.report.kept == 2
    with pytest.raises(ConfigError, match="needs data.path"):
        load_dataset(Config().with_overrides({"data.name": "smiles"}).data)


def _xyz(smiles: str) -> bytes:
    return f"1\ngdb 1\nC 0 0 0 0\n1 2 3\n{smiles}\t{smiles}\nInChI=1S/x\tInChI=1S/x\n".encode()


def test_canonical_qm9_archive_reader(tmp_path):
    archive = tmp_path / "dsgdb9nsd.xyz.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tar:
        for i, s in ((1, "C"), (2, "N"), (3, "CC#N")):
            data = _xyz(s)
            info = tarfile.TarInfo(f"dsgdb9nsd_{i:06d}.xyz")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    excluded = tmp_path / "uncharacterized.txt"
    excluded.write_text("Index list of uncharacterized molecules\n   Index\n       2   CCC\n")
    assert qm9_smiles_from_archive(archive, excluded) == ["C", "CC#N"]
    archive.write_bytes(b"not bzip2")
    with pytest.raises(DataError, match="is not the QM9 xyz archive"):
        qm9_smiles_from_archive(archive, None)


@pytest.mark.data
def test_qm9_shared_copy(shared_data):
    cfg = Config().with_overrides({"data.name": "qm9", "data.data_dir": str(shared_data), "data.limit": 300}).data
    data = load_dataset(cfg)
    assert len(data) == 300 and data.smiles[:3] == ["C", "N", "O"]  # QM9 starts with methane, ammonia, water
    assert int(data.nodes.bool().sum(1).max()) <= 9


def test_molecule_grid_png(tmp_path):
    from PIL import Image

    from ganforge.molecules.draw import save_molecule_grid

    path = save_molecule_grid(["CCO", None, "c1ccccc1", "INVALID", "CC#N"], tmp_path / "g.png", per_row=3, cell=100)
    with Image.open(path) as im:
        assert im.size == (300, 200)  # 3 per row, 2 rows of 100 px cells
    assert list(tmp_path.iterdir()) == [path]  # written atomically: no temporary file left


def test_missing_rdkit_is_one_line_naming_the_extra(monkeypatch):
    import sys

    from ganforge.molecules import require_rdkit

    monkeypatch.setitem(sys.modules, "rdkit", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"molecules need RDKit, which is not installed: `pip install ganforge\[molecules\]`"):
        require_rdkit()


def test_qm9_lookup_prefers_the_canonical_archive(tmp_path, monkeypatch):
    from ganforge.data.molecules import qm9_files

    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    (tmp_path / "qm9").mkdir()
    (tmp_path / "qm9" / "qm9_smiles.csv.gz").write_bytes(gzip.compress(b"index,smiles\n1,C\n"))
    assert qm9_files(tmp_path) == [tmp_path / "qm9" / "qm9_smiles.csv.gz"]
    (tmp_path / "qm9" / "dsgdb9nsd.xyz.tar.bz2").write_bytes(b"")
    assert qm9_files(tmp_path) == [tmp_path / "qm9" / "qm9_smiles.csv.gz"]  # the archive alone is not complete
    (tmp_path / "qm9" / "uncharacterized.txt").write_text("")
    assert qm9_files(tmp_path) == [tmp_path / "qm9" / "dsgdb9nsd.xyz.tar.bz2", tmp_path / "qm9" / "uncharacterized.txt"]
    with pytest.raises(DataError, match="qm9 not found: .* `ganforge data fetch qm9"):
        qm9_files(tmp_path / "elsewhere")
