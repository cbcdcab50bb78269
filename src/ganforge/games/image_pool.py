"""A history of generated images for D's updates (Shrivastava et al. 2017, sec. 2.3; CycleGAN,
Zhu et al. 2017, sec. 4).

D is updated on a mix of G's newest fakes and fakes G made in earlier rounds, so that it keeps
rejecting what G produced before and G cannot escape by oscillating between old modes. The rule,
per image, as in CycleGAN's reference implementation:

* while the pool holds fewer than ``size`` images, store the new fake and return it;
* once it is full, with probability 1/2 return a stored fake chosen uniformly and put the new one
  in its place; otherwise return the new fake and leave the pool as it is.

Every random draw comes from the ``torch.Generator`` passed to :meth:`ImagePool.query`, and the
pool's whole state (its images and their count) is in :meth:`ImagePool.state_dict` as tensors, so
a checkpoint (safetensors for tensors, JSON for the rest) holds it and a resumed run draws exactly
the fakes the uninterrupted run would have drawn.
"""

from __future__ import annotations

import torch

from ganforge.errors import CheckpointError

Tensor = torch.Tensor

POOL_SIZE = 50  # CycleGAN's history of 50 images


class ImagePool:
    """A pool of up to ``size`` past fakes; ``size`` 0 turns it off (query returns its input)."""

    def __init__(self, size: int = POOL_SIZE):
        if size < 0:
            raise ValueError(f"image pool size must be >= 0, got {size}")
        self.size = size
        self.count = 0  # images stored so far, at most size
        self._images: Tensor | None = None  # (size, C, H, W), allocated on the first query

    def __len__(self) -> int:
        return self.count

    def query(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """Fakes for D: (B, C, H, W) new fakes -> (B, C, H, W), each new or from the pool.

        The result is detached (it is for D's update); ``generator`` is a CPU generator.
        """
        images = images.detach()
        if self.size == 0:
            return images
        if self._images is None:
            self._images = images.new_empty((self.size, *images.shape[1:]))
        elif self._images.shape[1:] != images.shape[1:]:
            raise ValueError(f"image pool holds images of shape {tuple(self._images.shape[1:])}; "
                             f"got a batch of {tuple(images.shape[1:])}")
        self._images = self._images.to(device=images.device, dtype=images.dtype)
        n_fill = min(images.shape[0], self.size - self.count)  # these go in while the pool fills
        n_rest = images.shape[0] - n_fill
        # Draws only for the images that arrive when the pool is full, all at once: a coin each,
        # and the slot a stored fake would come from (used only when the coin says "stored").
        use_stored = torch.rand(n_rest, generator=generator) < 0.5  # (n_rest,)
        slots = torch.randint(self.size, (n_rest,), generator=generator)  # (n_rest,)
        out = images.clone()
        if n_fill:
            self._images[self.count:self.count + n_fill] = images[:n_fill]
            self.count += n_fill
        for k in range(n_rest):  # in order, so two picks of one slot see each other's swap
            if use_stored[k]:
                i, slot = n_fill + k, int(slots[k])
                out[i] = self._images[slot]
                self._images[slot] = images[i]
        return out

    def state_dict(self) -> dict[str, Tensor]:
        """``images`` (count, C, H, W) (shape (0,) before the first query) and ``count`` (int64)."""
        stored = self._images[:self.count].clone() if self._images is not None else torch.zeros(0)
        return {"images": stored, "count": torch.tensor(self.count, dtype=torch.int64)}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restore what :meth:`state_dict` returned; a pool that does not fit raises CheckpointError."""
        try:
            images, count = state["images"], int(state["count"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"image pool state needs tensors 'images' and 'count' ({e})") from None
        if count > self.size:
            raise CheckpointError(f"image pool state holds {count} images; this pool holds at most {self.size}")
        if count == 0:
            self.count, self._images = 0, None
            return
        if images.ndim < 2 or images.shape[0] != count:
            raise CheckpointError(f"image pool state has count {count} but images of shape {tuple(images.shape)}")
        self._images = images.new_empty((self.size, *images.shape[1:]))
        self._images[:count] = images
        self.count = count
