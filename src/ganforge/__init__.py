"""ganforge: Generative Adversarial Networks you can watch, train, trust and use."""

__version__ = "0.1.0"
