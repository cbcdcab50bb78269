"""What a game's networks need beyond the model settings, saved in every checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

from ganforge.errors import CheckpointError


@dataclass
class NetworkSpec:
    """What the networks' constructors need beyond the model settings (saved in every checkpoint)."""

    data_shape: tuple[int, ...]  # one sample: (dim,) for points, (C, H, W) for images
    n_classes: int = 0  # classes of a conditional model (0: unconditional)
    class_prior: list[float] | None = None  # class frequencies of the training data (conditional models)
    # what G takes besides (or instead of) noise; data_shape is then the output: one input image
    # (C_in, H, W) for translators, the conditional vector (cond_dim,) for the tabular GAN
    input_shape: tuple[int, ...] | None = None

    @property
    def is_points(self) -> bool:
        return len(self.data_shape) == 1

    def to_dict(self) -> dict:
        return {"data_shape": list(self.data_shape), "n_classes": self.n_classes, "class_prior": self.class_prior,
                "input_shape": list(self.input_shape) if self.input_shape else None}

    @classmethod
    def from_dict(cls, d, where: str = "checkpoint") -> "NetworkSpec":
        try:
            shape = tuple(int(v) for v in d["data_shape"])
            n_classes = int(d.get("n_classes", 0))
            prior = d.get("class_prior")
            prior = [float(v) for v in prior] if prior is not None else None
            inputs = d.get("input_shape")
            inputs = tuple(int(v) for v in inputs) if inputs else None
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{where}: the network description in state.json is malformed") from None
        if not shape or any(s < 1 for s in shape) or n_classes < 0 or (prior is not None and len(prior) != n_classes):
            raise CheckpointError(f"{where}: the network description in state.json is malformed")
        return cls(shape, n_classes, prior, inputs)
