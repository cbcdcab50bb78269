"""Molecule datasets: ``qm9`` and any SMILES file (``data.name=smiles``, ``data.path=FILE``).

QM9 (Ramakrishnan et al. 2014) is looked up in ``data.data_dir``, ``$GANFORGE_DATA`` and the user
cache (:func:`qm9_files`), in one of two layouts, first found wins:

1. the canonical figshare files: ``qm9/dsgdb9nsd.xyz.tar.bz2`` (one xyz file per molecule, its
   GDB-17 SMILES the first field of the second-last line) and ``qm9/uncharacterized.txt`` (the
   3,054 molecules whose calculations failed, left out as is customary);
2. ``qm9/qm9_smiles.csv.gz``: columns ``index,smiles``, the 130,831 characterised molecules'
   SMILES. This is the copy that offline machines (CI, ``$GANFORGE_DATA``) carry; it was extracted
   from another package's QM9 copy, so its bytes are not any canonical download's, but its SMILES
   are the GDB-17 SMILES of the original xyz files.

Molecules become graphs of the vocabulary ``data.atoms`` with at most ``data.max_atoms`` heavy
atoms (:mod:`ganforge.molecules.graphs`); what does not fit is dropped and reported in one line
(:class:`ganforge.molecules.smiles.ReadReport`).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections import Counter
from pathlib import Path

import torch

from ganforge.data import MOLECULE_DATASETS, sources
from ganforge.errors import ConfigError, DataError


class MoleculeGraphs:
    """Training molecules as integer graphs: ``adj`` (M, N, N) bond types, ``nodes`` (M, N) atom
    types (0 = none), their canonical ``smiles`` and the reading ``report``."""

    def __init__(self, adj: torch.Tensor, nodes: torch.Tensor, smiles: list[str], vocab, name: str, report,
                 source_hash: str = ""):
        self.adj, self.nodes, self.smiles, self.vocab = adj, nodes, smiles, vocab
        self.name, self.report, self.source_hash = name, report, source_hash
        self.labels = None

    def __len__(self) -> int:
        return len(self.smiles)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Graphs ``index`` (B,): (adj (B, N, N), nodes (B, N)), int64 (the stream's (x, y) pair)."""
        return self.adj[index].long(), self.nodes[index].long()


def qm9_smiles_from_archive(archive: Path, uncharacterized: Path | None) -> list[str]:
    """The GDB-17 SMILES of the canonical ``dsgdb9nsd.xyz.tar.bz2``, in molecule order, without
    the indices listed in ``uncharacterized.txt``."""
    skip = set()
    if uncharacterized is not None:
        for line in uncharacterized.read_text().splitlines():
            fields = line.split()
            if fields and fields[0].isdigit():  # header and footer lines are words
                skip.add(int(fields[0]))
    out = []
    try:
        with tarfile.open(archive, "r:bz2") as tar:
            for member in sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name):
                tail = Path(member.name).stem.rpartition("_")[2]  # dsgdb9nsd_000123 -> 000123
                index = int(tail) if tail.isdigit() else 0
                if index in skip:
                    continue
                lines = tar.extractfile(member).read().decode("utf-8", "replace").splitlines()
                lines = [line for line in lines if line.strip()]
                if len(lines) < 3:
                    raise DataError(f"{archive}: {member.name} is not a QM9 xyz file (too few lines)")
                out.append(lines[-2].split()[0])
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:
        raise DataError(f"{archive} is not the QM9 xyz archive ({e}); delete it and download it again") from None
    return out


def load_molecules(cfg):
    """The molecule dataset ``cfg`` (a DataConfig) names, as :class:`MoleculeGraphs`."""
    from ganforge.molecules.graphs import Vocabulary
    from ganforge.molecules.smiles import graphs_from_smiles, read_smiles_lines

    vocab = Vocabulary.from_string(cfg.atoms, cfg.max_atoms)
    if cfg.name == "smiles":
        if not cfg.path:
            raise ConfigError("data.name=smiles needs data.path: a SMILES file (one per line, or a CSV with a "
                              "'smiles' column)")
        path = Path(cfg.path).expanduser()
        if not path.is_file():
            raise DataError(f"SMILES file {path} does not exist")
        files = [path]
    else:
        files = qm9_files(cfg.data_dir)
        path = files[0]
    # reading 130,000 SMILES with RDKit takes a minute: the graphs are cached by the files' bytes
    key = _cache_key(files, vocab, cfg.limit)
    cached = _cache_load(key)
    if cached is not None:
        adj, nodes, canon, report = cached
    else:
        smiles = read_smiles_lines(path) if cfg.name == "smiles" else qm9_smiles(files)
        adj, nodes, canon, report = graphs_from_smiles(smiles, vocab, str(path), cfg.limit)
        if report.kept:
            _cache_save(key, adj, nodes, canon, report)
    if report.kept == 0:
        raise DataError(f"no molecule fits the model: {report.summary()} (data.atoms {','.join(vocab.atoms)}, "
                        f"data.max_atoms {vocab.max_atoms})")
    if report.dropped:
        print(report.summary())  # the user should see what was left out, not only the count
    digest = hashlib.sha256("\n".join(canon).encode()).hexdigest()
    return MoleculeGraphs(adj, nodes, canon, vocab, cfg.name, report, digest)


_QM9_BASE = "https://springernature.figshare.com/ndownloader/files/"
# QM9's layouts, most preferred first. No checksum of the figshare files is recorded here, so (as
# for facades) they live outside the verified-download table of ganforge.data.sources and a fetch
# is not verified.
QM9_SOURCE = sources.DatasetSource(
    "qm9",
    (sources.Layout("qm9-xyz-archive", (
        sources.KnownFile("qm9/dsgdb9nsd.xyz.tar.bz2", urls=(_QM9_BASE + "3195389",)),
        sources.KnownFile("qm9/uncharacterized.txt", urls=(_QM9_BASE + "3195404",)),
    ), "qm9/dsgdb9nsd.xyz.tar.bz2 and qm9/uncharacterized.txt (figshare)"),
     sources.Layout("qm9-smiles-csv", (sources.KnownFile("qm9/qm9_smiles.csv.gz"),),
                    "qm9/qm9_smiles.csv.gz (SMILES copy, columns index,smiles)")),
    "https://doi.org/10.6084/m9.figshare.c.978904.v5",
)


def qm9_files(data_dir=None) -> list[Path]:
    """The files of the first QM9 layout found in ``data_dir``, ``$GANFORGE_DATA`` or the user
    cache: [archive, uncharacterized.txt] or [SMILES csv]; else one DataError line."""
    looked = []
    for root, where in sources.search_dirs(data_dir):
        for layout in QM9_SOURCE.layouts:
            paths = [root / f.path for f in layout.files]
            if all(p.exists() for p in paths):
                return paths
        looked.append(f"{root} ({where})")
    wanted = " or ".join(layout.describe for layout in QM9_SOURCE.layouts)
    raise DataError(f"qm9 not found: it needs {wanted}; looked in {', '.join(looked)}; get it with "
                    f"`ganforge data fetch qm9 [--data-dir DIR]`")


def fetch_qm9(data_dir=None, *, progress: bool = False) -> list[Path]:
    """Download the canonical QM9 files into ``data_dir`` (default: the user cache data dir).

    Each file appears only once it is complete; existing files are kept. No checksum is recorded
    for them, so their contents are not verified.
    """
    root = Path(data_dir).expanduser() if data_dir else sources.user_data_dir()
    return [sources.download_file(known, root / known.path, progress=progress)
            for known in QM9_SOURCE.layouts[0].files]


def qm9_smiles(files: list[Path]) -> list[str]:
    """QM9's SMILES from :func:`qm9_files`' files."""
    from ganforge.molecules.smiles import read_smiles_lines

    if files[0].name.endswith(".tar.bz2"):
        return qm9_smiles_from_archive(files[0], files[1] if len(files) > 1 else None)
    return read_smiles_lines(files[0])


def _cache_key(files: list[Path], vocab, limit: int) -> str:
    h = hashlib.sha256(f"v1|{','.join(vocab.atoms)}|{vocab.max_atoms}|{limit}".encode())
    for f in files:
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()[:32]


def _cache_path(key: str) -> Path:
    from ganforge.data.sources import cache_root

    return cache_root() / "molecules" / f"graphs-{key}.safetensors"


def _cache_load(key: str):
    """(adj, nodes, smiles, report) from the cache, or None (absent or unreadable: rebuilt)."""
    from safetensors import SafetensorError, safe_open

    from ganforge.molecules.smiles import ReadReport

    path = _cache_path(key)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads(f.metadata()["ganforge.molecules"])
            adj, nodes = f.get_tensor("adj"), f.get_tensor("nodes")
        smiles = meta["smiles"]
        r = meta["report"]
        report = ReadReport(r["path"], r["lines"], r["kept"], Counter(r["dropped"]), Counter(r["unknown_atoms"]))
    except (SafetensorError, OSError, KeyError, ValueError, TypeError):
        return None
    if len(smiles) != len(adj) or len(adj) != len(nodes):
        return None
    return adj, nodes, smiles, report


def _cache_save(key: str, adj, nodes, smiles, report) -> None:
    from safetensors.torch import save_file

    from ganforge.fileio import atomic_path

    meta = json.dumps({"smiles": smiles, "report": report.to_dict()})
    try:
        with atomic_path(_cache_path(key)) as tmp:
            save_file({"adj": adj.contiguous(), "nodes": nodes.contiguous()}, str(tmp), metadata={"ganforge.molecules": meta})
    except OSError:
        pass  # a cache that cannot be written only costs the next run the reading time


__all__ = ["MOLECULE_DATASETS", "QM9_SOURCE", "MoleculeGraphs", "fetch_qm9", "load_molecules", "qm9_files",
           "qm9_smiles_from_archive"]
