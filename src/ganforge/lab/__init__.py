"""The lab: a local web page that trains a small GAN with the engine and shows it learning, live.

``ganforge lab`` serves it (:func:`ganforge.lab.server.serve`); see ``docs/lab.md``.
"""
