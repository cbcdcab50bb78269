"""MoFlow's valency correction of drawn graphs: what it repairs, what it leaves alone, and the sample flag."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("rdkit")

from ganforge.cli import main
from ganforge.molecules.correct import allowed_valences, correct_graph, correct_graphs
from ganforge.molecules.graphs import Vocabulary, graph_to_smiles, smiles_to_graph

QM9 = Vocabulary.from_string("C,N,O,F", 9)
CHARGED = Vocabulary.from_string("C,N,O,F,N+,O-", 9)


def test_allowed_valences_follow_the_element_and_its_charge():
    assert allowed_valences(QM9) == [4, 3, 2, 1]
    assert allowed_valences(CHARGED)[4:] == [4, 1]  # N+ bonds like C, O- like F


@pytest.mark.parametrize("smiles", ["CCO", "c1ccccc1", "N#CC1(O)CC1", "OC1COC1C#N", "FC(F)(F)C=O"])
def test_a_valid_molecule_is_left_unchanged(smiles):
    adj, nodes = smiles_to_graph(smiles, QM9)
    fixed_adj, fixed_nodes = correct_graph(adj, nodes, QM9)
    assert torch.equal(fixed_adj, adj) and torch.equal(fixed_nodes, nodes)


def test_an_over_valent_carbon_loses_orders_from_its_highest_bond():
    adj, nodes = smiles_to_graph("CC(=O)O", QM9)  # atoms C0 C1 O2 O3; C1 has valence 4
    assert graph_to_smiles(adj, nodes, QM9) == "CC(=O)O"
    adj[0, 1] = adj[1, 0] = 3  # C0#C1: C1 at 3 + 2 + 1 = 6
    assert graph_to_smiles(adj, nodes, QM9) is None
    fixed_adj, _ = correct_graph(adj, nodes, QM9)
    assert fixed_adj[0, 1] == 1 and fixed_adj[1, 2] == 2  # the triple bond went down two orders
    assert graph_to_smiles(fixed_adj, nodes, QM9) == "CC(=O)O"


def test_fluorine_with_two_bonds_keeps_one_and_the_largest_fragment_is_kept():
    nodes = torch.tensor([1, 1, 4, 1, 0, 3, 3, 1, 0])  # C C F C - O O C -
    adj = torch.zeros(9, 9, dtype=torch.int64)
    # C0-C1-F2-C3-C7 (F bonded twice), O5-O6 apart, and a bond to the "no atom" node 4
    for i, j, order in [(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 7, 1), (5, 6, 1), (0, 4, 2)]:
        adj[i, j] = adj[j, i] = order
    fixed_adj, fixed_nodes = correct_graph(adj, nodes, QM9)
    assert fixed_adj[4].eq(0).all()  # the bond to "no atom" is dropped
    assert fixed_adj[2, 1] == 0 and fixed_adj[2, 3] == 1  # fluorine keeps one bond (the later one)
    # fragments C0-C1 (2 atoms), F2-C3-C7 (3), O5-O6 (2): the largest is kept
    assert graph_to_smiles(fixed_adj, fixed_nodes, QM9) == "CCF"
    assert fixed_nodes.gt(0).nonzero().flatten().tolist() == [2, 3, 7]


def test_the_batch_form_matches_one_by_one_and_leaves_its_input_alone():
    graphs = [smiles_to_graph(s, QM9) for s in ["CCO", "CC(=O)O", "C#N"]]
    adj, nodes = torch.stack([a for a, _ in graphs]), torch.stack([x for _, x in graphs])
    adj[1, 0, 1] = adj[1, 1, 0] = 3
    before = adj.clone()
    fixed_adj, fixed_nodes = correct_graphs(adj, nodes, QM9)
    assert torch.equal(adj, before)
    for k in range(3):
        a, x = correct_graph(adj[k], nodes[k], QM9)
        assert torch.equal(fixed_adj[k], a) and torch.equal(fixed_nodes[k], x)
    assert [graph_to_smiles(a, x, QM9) for a, x in zip(fixed_adj, fixed_nodes)] == ["CCO", "CC(=O)O", "C#N"]


def test_random_graphs_become_molecules():
    g = torch.Generator().manual_seed(0)
    nodes = torch.randint(0, 5, (200, 9), generator=g)
    upper = torch.randint(0, 4, (200, 9, 9), generator=g).triu(1)
    adj = upper + upper.transpose(1, 2)
    drawn = [graph_to_smiles(a, x, QM9) for a, x in zip(adj, nodes)]
    fixed = [graph_to_smiles(a, x, QM9) for a, x in zip(*correct_graphs(adj, nodes, QM9))]
    assert sum(s is not None for s in drawn) < 20
    # every graph with an atom becomes one molecule
    assert all(s is not None for s, x in zip(fixed, nodes) if x.gt(0).any())


def test_correct_flag_of_sample_is_for_molecule_runs(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--preset", "ring8", "--out", str(run), "--steps", "2", "--no-report",
                 "--set", "train.progress=false"]) == 0
    assert main(["sample", str(run), "-n", "4", "--out", str(tmp_path / "x.png"), "--correct"]) == 1
    assert "molecule runs" in capsys.readouterr().err
