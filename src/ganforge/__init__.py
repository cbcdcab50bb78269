"""ganforge: Generative Adversarial Networks you can watch, train, trust and use.

``ganforge.load_generator(run_or_checkpoint)`` gives a trained generator as a plain ``nn.Module``
(see :mod:`ganforge.engine.generator`); the training API is :class:`ganforge.engine.Trainer`.
"""

__version__ = "0.1.0"

__all__ = ["load_generator", "load_discriminator"]


def __getattr__(name: str):
    # imported on first use, so that `import ganforge` (and the CLI's start) does not load torch
    if name in __all__:
        from ganforge.engine import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'ganforge' has no attribute {name!r}")
