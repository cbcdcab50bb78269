"""Plain-language texts of the lab: the guided walk through one round, and short explanations
shown next to the view when the diagnostics recognise a situation.
"""

from __future__ import annotations

# Guided mode: one round of adversarial training cut into three steps. ``highlight`` names the
# parts of the page the step changes (the page outlines them).
GUIDED_STEPS: list[dict] = [
    {
        "title": "1. G makes a batch of fakes",
        "text": (
            "The generator G takes a batch of random noise z and turns each z into a point: the orange fakes. "
            "Nothing has been trained yet in this round; G just shows what it can do now."
        ),
        "changed": "A fresh batch of orange points appeared. The mesh shows where G sends the whole noise space.",
        "highlight": ["fake", "mesh"],
    },
    {
        "title": "2. D looks at real and fake, and is updated",
        "text": (
            "The discriminator D is shown the real points (black) and the fakes (orange) and takes one step to "
            "score reals higher and fakes lower."
        ),
        "changed": (
            "D's verdict moved: on the heat map green is where D now says 'real' and purple 'fake' (in the 1D view, "
            "the blue D(x) curve). Mean D(x) went up and D(G(z)) went down."
        ),
        "highlight": ["heat", "d-chart"],
    },
    {
        "title": "3. G is updated against the new D",
        "text": (
            "G takes one step so that its fakes score higher under the D it just faced. Each fake moves along its "
            "arrow, towards the region D calls real."
        ),
        "changed": "The orange points moved along their arrows and the mesh bent with them. D(G(z)) went up.",
        "highlight": ["fake", "arrows", "mesh"],
    },
]

ROUND_DONE_TEXT = (
    "That was one full round. Press Next step to go through another, or Fast motion to watch the same "
    "three steps run on their own."
)

FAST_MOTION_TEXT = (
    "The same three steps in fast motion: fakes, D update, G update, again and again. "
    "Press Play to train at full speed, or Stop guide to leave."
)

# Explanations keyed by words that occur in the diagnostics' alert names.
EXPLANATIONS: dict[str, dict] = {
    "collapse": {
        "title": "Mode collapse",
        "text": (
            "G is putting most of its samples on a few modes of the data and ignoring the rest. It found outputs "
            "that fool D and has no reason to spread out: D only judges each sample, not the variety of the batch. "
            "Remedies: a Wasserstein or hinge objective with a gradient penalty, PacGAN packing (D judges several "
            "samples at once), or a lower G learning rate."
        ),
    },
    "equilibrium": {
        "title": "Equilibrium",
        "text": (
            "D can no longer tell real from fake: mean D(x) and D(G(z)) both sit near 1/2 and V(D, G) is near "
            "-log 4. This is the point the game is designed to reach: G's distribution matches the data's and "
            "the best possible D answers 1/2 everywhere."
        ),
    },
    "matched": {
        "title": "D is matched to G, not beaten by it",
        "text": (
            "The game's D answers about 1/2, which looks like equilibrium, but a fresh classifier trained on real "
            "against fake points still tells them apart (see its accuracy under Diagnostics). D is at 1/2 because "
            "it cannot keep up with this G, not because G matches the data. Give D more width or more steps per "
            "round, change the ratio of the learning rates, or train longer."
        ),
    },
    "overpower": {
        "title": "D is winning too easily",
        "text": (
            "D separates real from fake almost perfectly, so with the saturating loss G receives vanishing gradients "
            "and stops improving. Lower D's learning rate or steps, use the non-saturating or Wasserstein objective, "
            "or regularise D (spectral norm, gradient penalty)."
        ),
    },
}


def explanation_for(alert_name: str) -> dict | None:
    """The explanation that matches an alert name, or None."""
    low = alert_name.lower()
    for key, value in EXPLANATIONS.items():
        if key in low:
            return {"key": key, **value}
    if "strong" in low or "vanish" in low or "saturat" in low:
        return {"key": "overpower", **EXPLANATIONS["overpower"]}
    return None
