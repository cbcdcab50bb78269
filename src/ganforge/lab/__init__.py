"""The lab: a local web page that trains a small GAN with the engine and shows it learning, live.

``ganforge lab`` serves it (:func:`ganforge.lab.server.serve`); see ``docs/lab.md``.
"""

# Defaults of the saved-experiments quota (:class:`ganforge.lab.experiments.Quota`), kept here so
# that the command line can show them without importing torch.
DEFAULT_MAX_EXPERIMENTS = 64  # experiments the workspace may hold
DEFAULT_MAX_BYTES = 512 * 2**20  # bytes the workspace may hold (the largest lab networks take ~10 MB a save)
