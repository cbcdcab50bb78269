"""Molecule metrics on hand-made sets, and the chemistry scores on known molecules."""

from __future__ import annotations

import math
import sys

import pytest

pytest.importorskip("rdkit")

from ganforge.molecules import chem
from ganforge.molecules.metrics import (
    INVALID,
    fcd_distance,
    internal_diversity,
    molecule_metrics,
    novelty,
    uniqueness,
    validity,
    wasserstein_1d,
)


def test_validity_counts_invalid_disconnected_and_empty_entries():
    smiles = ["CCO", INVALID, None, "C1CC", "CC.O", "c1ccccc1", "", "XYZ"]
    assert validity(smiles) == 2 / 8  # unclosed ring, two fragments, empty, garbage: all invalid


def test_duplicates_lower_uniqueness_exactly():
    assert uniqueness(["CCO", "CCN", "CCC", "CO"]) == 1.0
    assert uniqueness(["CCO", "OCC", "C(O)C", "CCN"]) == 2 / 4  # three spellings of ethanol count once
    assert uniqueness(["CCO", "CCO", INVALID]) == 1 / 2  # among valid molecules only
    assert math.isnan(uniqueness([INVALID]))


def test_training_molecules_have_novelty_zero():
    training = {"CCO", "c1ccccc1", "CC#N"}
    assert novelty(["OCC", "C1=CC=CC=C1", "N#CC"], training) == 0.0  # other spellings are the same molecules
    assert novelty(["CCO", "CCCO"], training) == 0.5
    assert novelty(["CCCO", INVALID], training) == 1.0


def test_internal_diversity():
    assert math.isnan(internal_diversity(["CCO", "OCC"]))  # one distinct molecule: no pair
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    a, b = (gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in ("CCCO", "CCCN"))
    expected = 1.0 - DataStructs.TanimotoSimilarity(a, b)
    assert 0 < expected < 1
    assert internal_diversity(["CCCO", "CCCN", "OCCC"]) == pytest.approx(expected)


def test_wasserstein_1d_known_values():
    assert wasserstein_1d([0.0, 1.0], [1.0, 2.0]) == pytest.approx(1.0)  # a shift by 1
    assert wasserstein_1d([0.0, 0.0, 3.0], [0.0, 0.0, 3.0]) == 0.0
    assert wasserstein_1d([0.0], [0.0, 1.0]) == pytest.approx(0.5)
    assert wasserstein_1d([float("nan"), 2.0], [1.0]) == pytest.approx(1.0)  # NaN (invalid) ignored
    assert math.isnan(wasserstein_1d([], [1.0]))


def test_chemistry_scores_of_known_molecules():
    from rdkit import Chem

    ethanol, benzene, aspirin = (Chem.MolFromSmiles(s) for s in ("CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O"))
    assert chem.logp(ethanol) == pytest.approx(-0.0014, abs=1e-4)  # Crippen contributions
    assert chem.qed(benzene) == pytest.approx(0.443, abs=1e-3)
    # RDKit's contrib SA_Score: both are easy to make (1 easy .. 10 hard); a caged, bridged
    # polycycle with stereocentres scores far harder
    assert chem.sa(ethanol) == pytest.approx(1.980, abs=1e-3) and chem.sa(aspirin) == pytest.approx(1.580, abs=1e-3)
    assert chem.sa(Chem.MolFromSmiles("C[C@H]1C[C@@]23CC[C@H]4[C@@](C)(CC[C@@H]5O[C@]45C)[C@@H]2C[C@@H]13")) > 4.5
    assert chem.reward(None, "qed") == 0.0
    assert chem.reward(ethanol, "logp") == pytest.approx((-0.0014 + 2.12178879609) / (6.0429063424 + 2.12178879609),
                                                         abs=1e-4)
    assert chem.reward(ethanol, "sa") == pytest.approx((chem.sa(ethanol) - 5.0) / (1.5 - 5.0))  # SA 5 -> 0, 1.5 -> 1


def test_molecule_metrics_together_and_fcd_marked_absent(monkeypatch):
    generated = ["CCO", "CCO", "CCN", INVALID]
    out = molecule_metrics(generated, training={"CCO"}, reference=["CCO", "CCN", "CCC"], fcd=False)
    assert out["validity"] == 0.75 and out["uniqueness"] == pytest.approx(2 / 3)
    assert out["novelty"] == pytest.approx(1 / 3) and out["n_valid"] == 3
    assert out["qed_w1"] >= 0 and out["logp_w1"] >= 0 and out["sa_w1"] >= 0
    monkeypatch.setitem(sys.modules, "fcd_torch", None)  # as if the package were not installed
    out = molecule_metrics(generated, training={"CCO"}, reference=["CCO", "CCN", "CCC"])
    assert out["fcd"] is None and "fcd_torch is not installed" in out["fcd_absent"]
    assert fcd_distance(["CCO"] * 3, ["CCN"] * 3)[0] is None


def test_fcd_is_zero_on_the_same_set_and_grows_with_the_difference():
    pytest.importorskip("fcd_torch")
    small = ["CCO", "CCN", "CC(=O)O", "c1ccccc1", "CC#N", "OCC(O)CO", "CN(C)C", "C1CC1", "CC(C)O", "NC(=O)N"]
    near = ["CCCO", "CCCN", "CCC(=O)O", "Cc1ccccc1", "CCC#N", "OCC(O)C", "CCN(C)C", "C1CCC1", "CC(C)CO", "CNC(=O)N"]
    far = ["C" * n for n in range(12, 22)]  # long alkanes: nothing like the small polar molecules
    same, why = fcd_distance(small, small)
    assert why is None and same == pytest.approx(0.0, abs=1e-3)
    assert 0.5 < fcd_distance(near, small)[0] < fcd_distance(far, small)[0]
