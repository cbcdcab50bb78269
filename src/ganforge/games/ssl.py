"""Semi-supervised GAN (Salimans et al. 2016, "Improved techniques for training GANs", sec. 5).

D is a (K+1)-class classifier: K real classes and "generated". Its last layer gives only K logits
l_1..l_K; the generated class's logit is fixed at 0 (the softmax is unchanged by subtracting one
logit from all, so nothing is lost). With Z = sum_k exp(l_k):

    p(y = k | x)      = exp(l_k) / (Z + 1)          p(generated | x) = 1 / (Z + 1)
    D(x) = p(real | x) = Z / (Z + 1) = sigmoid(logsumexp_k l_k)

so logsumexp(l) is an ordinary real/fake logit, and the classes among real data are the softmax
of l alone. D's loss is the cross-entropy on the labelled stream plus ``loss.unsup_weight`` times
the real/fake terms on the unlabelled stream and on G's fakes, halved as in the paper's code:

    L_D = CE(l(x_lab), y) + w * 0.5 * (-log D(x_unl) - log(1 - D(G(z))))

G is trained by feature matching (sec. 3.1): the squared distance between the batch means of D's
last hidden layer on real and generated images, which is what made the semi-supervised results.
The trained D (its moving average when kept) is the classifier: ``ganforge eval RUN --metrics
accuracy`` scores it on the test split, ``ganforge export RUN --classifier`` writes it out.

Networks (``model.arch``): ``dcgan``, a small DCGAN G and D (:mod:`ganforge.nets.dcgan`), or
``mlp``, the paper's MNIST MLPs (:mod:`ganforge.nets.ssl_mlp`: weight-normalised D with Gaussian
noise on every layer's input, noise drawn from the run's seeded noise generator).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError
from ganforge.games.base import Game, Terms
from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.nets.spec import NetworkSpec
from ganforge.nets.ssl_mlp import SSLMLPDiscriminator, SSLMLPGenerator


def real_logit(class_logits: torch.Tensor) -> torch.Tensor:
    """(B, K) class logits -> (B,) real/fake logit logsumexp(l): sigmoid of it is Z / (Z + 1)."""
    return torch.logsumexp(class_logits, dim=1)


def ssl_d_losses(labelled_logits: torch.Tensor, labels: torch.Tensor, unlabelled_logits: torch.Tensor,
                 fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(supervised, unsupervised) D losses of the (K+1)-class D with the generated logit fixed at 0.

    labelled_logits (B_l, K) with labels (B_l,); unlabelled_logits (B_u, K); fake_logits (B_f, K).
    supervised = CE over the K real classes; unsupervised = 0.5 * (mean -log D(x) + mean -log(1 - D(G(z)))),
    with -log D(x) = softplus(s) - s and -log(1 - D) = softplus(s), s = logsumexp(l).
    """
    supervised = F.cross_entropy(labelled_logits, labels)
    s_real, s_fake = real_logit(unlabelled_logits), real_logit(fake_logits)  # (B_u,), (B_f,)
    unsupervised = 0.5 * ((F.softplus(s_real) - s_real).mean() + F.softplus(s_fake).mean())
    return supervised, unsupervised


def mean_feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Salimans et al. 2016 eq. (sec. 3.1): mean over units of (E f(x) - E f(G(z)))^2, batch means.

    real_features (B, F) are taken as constants; fake_features (B', F) carry G's gradient.
    """
    return (real_features.detach().mean(0) - fake_features.mean(0)).pow(2).mean()


class SSLGame(Game):
    name = "ssl"
    ema = ("G", "D")  # D's moving average is the classifier that eval and export use when kept

    def __init__(self, cfg, data=None):
        super().__init__(cfg, data)
        self.labelled = self.labelled_stream = None
        self._real = None  # the last D update's unlabelled batch, matched by the G update
        if data is not None:
            from ganforge.data.labelled import LabelledStream, labelled_subset

            self._check_data(data)
            self.labelled = labelled_subset(data, cfg.data.labels_per_class, cfg.data.label_seed)
            self.labelled_stream = LabelledStream(self.labelled, cfg.train.seed + 6)

    def _check_data(self, data) -> None:
        from ganforge.data.base import ImageDataset
        from ganforge.errors import DataError

        if not isinstance(data, ImageDataset):
            raise ConfigError(f"model.game 'ssl' classifies images; {self.cfg.data.name!r} is not an image dataset")
        if data.labels is None or data.n_classes < 2:
            raise DataError(f"model.game 'ssl' needs a labelled dataset with at least 2 classes; "
                            f"{self.cfg.data.name!r} has no labels (mnist, fashion-mnist, cifar10, digits or a "
                            f"folder with one sub-folder per class)")
        if self.cfg.data.clusters:
            raise ConfigError("model.game 'ssl' learns the dataset's own labels; set data.clusters=0")

    def spec(self) -> NetworkSpec:
        """Image shape and K, the real classes (D's outputs); G is unconditional (no class prior)."""
        return NetworkSpec(tuple(self.data.shape), self.data.n_classes, None)

    def build(self, spec):
        m = self.cfg.model
        if m.arch == "mlp":  # Salimans et al.'s MNIST networks; D adds its own noise (loss.d_input_noise on the image)
            G = SSLMLPGenerator(m.z_dim, spec.data_shape)
            D = SSLMLPDiscriminator(math.prod(spec.data_shape), spec.n_classes, self.cfg.loss.d_input_noise)
            if self.data is not None:  # weight norm's data-dependent initialisation on 500 training images, as
                # their code; its own seeded generator (a resumed run loads the weights it set)
                g = torch.Generator().manual_seed(self.cfg.train.seed + 9)
                pick = torch.randperm(len(self.data), generator=g)[:500]
                D.init_from(self.data.batch(pick)[0], g)
            return {"G": G, "D": D}
        c, r, _ = spec.data_shape
        G = DCGANGenerator(m.z_dim, c, r, m.g_channels, 0)
        D = DCGANDiscriminator(c, r, m.d_channels, m.spectral_norm, 1, 0, n_outputs=spec.n_classes)
        return {"G": G, "D": D}

    def _noise_kwargs(self, tr) -> dict:
        """The MLP D draws its layers' noise from the run's noise generator (resume stays bit-exact)."""
        return {"generator": tr.noise_gen} if self.cfg.model.arch == "mlp" else {}

    def _noisy(self, tr, x: torch.Tensor) -> torch.Tensor:
        """D's input with Gaussian noise of std loss.d_input_noise (Salimans et al.'s MNIST D: 0.3);
        the MLP D adds it itself, on every layer."""
        std = tr.cfg.loss.d_input_noise
        if std == 0 or self.cfg.model.arch == "mlp":
            return x
        return x + std * torch.randn(x.shape, generator=tr.noise_gen, device=tr.noise_gen.device).to(x.device)

    def d_loss(self, tr) -> Terms:
        B, shard = tr.cfg.train.batch_size, tr.dist.shard
        real, _ = tr.real_batch(B)  # the unlabelled stream: the whole train split, labels unused
        x_lab, y_lab = self.labelled_stream.next(B)
        real, x_lab, y_lab = shard(real), shard(x_lab.to(tr.device)), shard(y_lab.to(tr.device))
        z = shard(tr.sample_z(B))
        with torch.no_grad():
            fake = tr.G(z).float()
        self._real = real
        n_lab, n_real = len(x_lab), len(real)
        # one forward over the three batches (D has no batch norm, so this equals three calls)
        # DiffAugment / ADA (tr.augment, the identity when off) on all three batches alike
        both = torch.cat([tr.augment(x_lab), tr.augment(real), tr.augment(fake)])
        logits = tr.D_train(self._noisy(tr, both), **self._noise_kwargs(tr)).float()  # (B_l + 2B, K)
        lab_logits, real_logits, fake_logits = logits.split([n_lab, n_real, len(fake)])
        tr.augment.observe(real_logit(real_logits))  # ADA's r_t = E[sign(D(real))] on the unlabelled batch
        supervised, unsupervised = ssl_d_losses(lab_logits, y_lab, real_logits, fake_logits)
        terms = Terms()
        terms.add("d_sup", supervised)
        terms.add("d_unsup", unsupervised, tr.cfg.loss.unsup_weight)
        with torch.no_grad():
            s_real, s_fake = real_logit(real_logits), real_logit(fake_logits)
            terms.note("d_loss", supervised + tr.cfg.loss.unsup_weight * unsupervised)
            terms.note("d_real", torch.sigmoid(s_real).mean())
            terms.note("d_fake", torch.sigmoid(s_fake).mean())
            terms.note("real_logit", s_real.mean())
            terms.note("fake_logit", s_fake.mean())
            terms.note("d_acc", 0.5 * ((s_real > 0).float().mean() + (s_fake < 0).float().mean()))
            terms.note("train_acc", (lab_logits.argmax(1) == y_lab).float().mean())  # on the labelled batch
        return terms

    def g_loss(self, tr) -> Terms:
        B, shard = tr.cfg.train.batch_size, tr.dist.shard
        real = self._real if self._real is not None else shard(tr.real_batch(B)[0])
        self._real = None
        fake = tr.G_train(shard(tr.sample_z(B))).float()
        noise = self._noise_kwargs(tr)
        with torch.no_grad():
            real_features = tr.D.features(tr.augment(real), **noise).float()  # (B, F): D's last hidden layer
        fake_features = tr.D.features(tr.augment(fake), **noise).float()
        terms = Terms()
        terms.add("g_loss", mean_feature_matching(real_features, fake_features))
        with torch.no_grad():
            terms.note("d_fake_g", torch.sigmoid(real_logit(tr.D.out(fake_features.detach(), **noise).float())).mean())
        return terms

    def save_samples(self, tr, path, n: int = 64):
        """A grid of G's images from the same latent noise at every round."""
        from ganforge.viz import save_image_grid

        fixed = torch.Generator(tr.device).manual_seed(tr.cfg.train.seed + 3)
        return save_image_grid(tr.generate(n, generator=fixed), path)

    def state_dict(self) -> dict:
        return {"labelled": self.labelled_stream.state_dict()} if self.labelled_stream is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.labelled_stream is not None and "labelled" in state:
            self.labelled_stream.load_state_dict(state["labelled"])
