"""The training monitor: reads the stats stream and raises named alerts with explanations.

``Monitor.observe(stats)`` is called once per round with that round's stats dict (the keys of
``stats.jsonl``: d_loss, g_loss, value, d_real, d_fake, real_logit, fake_logit, d_acc, grad norms).
It keeps a sliding window and returns the alerts that are new this round; each is written to
``alerts.jsonl`` (when given a run directory) and to the console. ``check_samples`` adds the
sample-based mode-collapse checks. Repeats of an alert are suppressed for ``cooldown`` rounds.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ganforge.diagnostics.callback import MonitorCallback
from ganforge.diagnostics.catalog import ALERTS
from ganforge.diagnostics.collapse import class_balance, sample_diversity
from ganforge.fileio import append_json_line
from ganforge.metrics.modes import mode_coverage
from ganforge.objectives import EQUILIBRIUM_VALUE

LOG4 = -EQUILIBRIUM_VALUE  # log 4: V(D, G) at equilibrium is -LOG4
# "the game's D reads equilibrium": the window's equilibrium distance below this (minimax: D(x) and
# D(G(z)) within about 0.15 of 1/2 with V near -log 4; hinge and least squares: D's accuracy
# within 40-60 %)
MATCHED_D_DISTANCE = {"minimax": 0.15, "hinge": 0.2, "least-squares": 0.2}
# "a fresh classifier separates real from fake well": p < C2ST_ALPHA and the interval's lower end
# at or above C2ST_AT_LEAST (so a significant but modest edge, e.g. 53 % or 65 %, does not count)
C2ST_AT_LEAST = 0.7
C2ST_ALPHA = 1e-3
SEVERITIES = ("info", "warning", "error")
FAMILIES = ("minimax", "wasserstein", "hinge", "least-squares")
# stats that must stay finite; NaN anywhere (value included) is divergence
_FINITE_KEYS = ("d_loss", "g_loss", "real_logit", "fake_logit", "g_grad_norm", "d_grad_norm", "gp", "r1",
                "g_weight_norm", "d_weight_norm")
_EXPLODE_KEYS = ("d_loss", "g_loss", "real_logit", "fake_logit", "g_grad_norm", "d_grad_norm",
                 "g_weight_norm", "d_weight_norm")


@dataclass
class Alert:
    name: str  # one of diagnostics.catalog.ALERTS
    step: int  # training round at which it fired
    severity: str  # "info" | "warning" | "error"
    message: str  # what is happening, in plain words, with the numbers
    suggestion: str  # what to try
    details: dict = field(default_factory=dict)  # the numbers behind the message

    def to_dict(self) -> dict:
        return asdict(self)

    def format(self) -> str:
        """Two console lines: the alert and the suggested fix."""
        return f"[{self.severity}] step {self.step} {self.name}: {self.message}\n    try: {self.suggestion}"


def make_alert(name: str, step: int, severity: str | None = None, **numbers) -> Alert:
    """An :class:`Alert` from the catalogue entry ``name`` with its template filled by ``numbers``."""
    default_severity, template, suggestion = ALERTS[name]
    return Alert(name, int(step), severity or default_severity, template.format(**numbers), suggestion,
                 {k: v for k, v in numbers.items() if isinstance(v, (int, float, str, list))})


def _mean(xs) -> float:
    xs = [float(x) for x in xs]
    return sum(xs) / len(xs) if xs else float("nan")


def _median(xs) -> float:
    xs = sorted(float(x) for x in xs)
    n = len(xs)
    return (xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])) if n else float("nan")


def _series(window, key) -> list[float]:
    return [float(s[key]) for s in window if key in s and s[key] is not None and math.isfinite(float(s[key]))]


def equilibrium_distance(stats_window, family: str = "minimax") -> float:
    """How far the game is from its equilibrium, from a window of stats dicts (0 = at equilibrium).

    minimax family: 1/2 (|D(x) - 1/2| + |D(G(z)) - 1/2|) + 1/2 |V + log 4| / log 4 on the window
    means; 0 at equilibrium (D = 1/2 everywhere, V = -log 4, Goodfellow et al. 2014), 1 for a
    perfect D (D(x) = 1, D(G(z)) = 0, V = 0), above 1 when G fools D.
    hinge and least-squares: 2 |accuracy - 1/2|, 0 when D is at chance, 1 when it is perfect.
    wasserstein: the critic's estimate E[D(x)] - E[D(G(z))] of the distance (0 at equilibrium;
    in the critic's units, so compare it only within a run).
    """
    window = list(stats_window)
    if not window:
        return float("nan")
    if family == "minimax":
        dr, df, v = _mean(_series(window, "d_real")), _mean(_series(window, "d_fake")), _mean(_series(window, "value"))
        return 0.5 * (abs(dr - 0.5) + abs(df - 0.5)) + 0.5 * abs(v + LOG4) / LOG4
    if family == "wasserstein":
        return abs(_mean(_series(window, "real_logit")) - _mean(_series(window, "fake_logit")))
    return 2.0 * abs(_mean(_series(window, "d_acc")) - 0.5)


def _detrended(y: list[float]) -> torch.Tensor:
    """``y`` minus its least-squares line (float64)."""
    t = torch.arange(len(y), dtype=torch.float64)
    v = torch.tensor(y, dtype=torch.float64)
    a = torch.stack([t, torch.ones_like(t)], 1)  # (n, 2) linear trend
    coef = torch.linalg.lstsq(a, v.unsqueeze(1)).solution  # (2, 1)
    return v - (a @ coef).squeeze(1)  # (n,) residual


def periodicity(y: list[float], max_lag: int) -> tuple[float, float, int]:
    """Strongest cycle of the detrended series ``y``: (autocorrelation at half period L, at full
    period 2L, L), with L the lag in 1..max_lag of the most negative autocorrelation.

    A cycle shows as a strong negative correlation at half its period and a positive one at its
    full period; noisy but non-periodic series rarely have both. Autocorrelations are normalised
    per pair (mean of r_t r_t+l over the mean of r_t^2).
    """
    r = _detrended(y)
    n = r.numel()
    power = float((r * r).mean())
    if power <= 1e-24:
        return 0.0, 0.0, 1

    def ac(lag):
        return float((r[:-lag] * r[lag:]).mean()) / power

    best, best_lag = 1.0, 1
    for lag in range(1, min(max_lag, (n - 1) // 2) + 1):
        c = ac(lag)
        if c < best:
            best, best_lag = c, lag
    return best, ac(2 * best_lag), best_lag


class Monitor:
    """Watches the stats stream of one run and raises named alerts (see :mod:`diagnostics.catalog`).

    family: the objective's family ("minimax" for minimax and non-saturating, "wasserstein",
    "hinge", "least-squares"); it decides which signals mean what.
    window: rounds in the sliding window; warmup: rounds before the balance checks start (early
    rounds are lopsided in any run); cooldown: rounds before the same alert may fire again;
    check_every: rounds between the window checks (divergence is checked every round).
    """

    def __init__(
        self,
        family: str,
        run_dir: str | Path | None = None,
        console: bool = True,
        window: int = 100,
        warmup: int = 200,
        cooldown: int = 500,
        check_every: int = 10,
    ):
        if family not in FAMILIES:
            raise ValueError(f"unknown objective family {family!r}; valid: {', '.join(FAMILIES)}")
        self.family = family
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.console = console
        self.window: deque[dict] = deque(maxlen=window)
        self._long: deque[dict] = deque(maxlen=3 * window)  # three windows, for growth of oscillations
        self.warmup = warmup
        self.cooldown = cooldown
        self.check_every = max(1, int(check_every))
        self.alerts: list[Alert] = []  # every alert emitted so far
        self.last_sample_check: dict = {}  # numbers of the latest check_samples call
        self.last_c2st: dict = {}  # the latest check_equilibrium: both readings, side by side
        self._last_fired: dict[str, int] = {}
        self._rounds = 0
        self._g_grad_peak = 0.0
        # equilibrium means something only after D has once told real from fake; before that,
        # D(x) = D(G(z)) = 1/2 just says D has not learned anything yet
        self._d_has_separated = False
        if self.run_dir is not None:  # an empty alerts.jsonl says "watched, nothing found"
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "alerts.jsonl").touch()

    # ---------------------------------------------------------------- output

    def _emit(self, candidates: list[Alert]) -> list[Alert]:
        new = []
        for a in candidates:
            last = self._last_fired.get(a.name)
            if last is not None and a.step - last < self.cooldown:
                continue
            self._last_fired[a.name] = a.step
            new.append(a)
        if not new:
            return new
        self.alerts.extend(new)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for a in new:  # NaN/inf numbers become null, as in every file of a run
                append_json_line(self.run_dir / "alerts.jsonl", a.to_dict())
        if self.console:
            for a in new:
                _console(a.format())
        return new

    # ---------------------------------------------------------------- the stats stream

    def observe(self, stats: dict) -> list[Alert]:
        """Take one round's stats; return the alerts that are new this round."""
        self._rounds += 1
        step = int(stats.get("step", self._rounds))
        self.window.append(dict(stats))
        self._long.append(self.window[-1])
        g = stats.get("g_grad_norm")
        if g is not None and math.isfinite(float(g)):
            self._g_grad_peak = max(self._g_grad_peak, float(g))
        found = self._check_divergence(stats, step)
        due = self._rounds % self.check_every == 0  # window checks every few rounds keep observe() cheap
        if not found and due and self._rounds >= self.warmup and len(self.window) == self.window.maxlen:
            found += self._check_balance(step)
            found += self._check_oscillation(step)
        return self._emit(found)

    def equilibrium_distance(self, stats_window=None) -> float:
        """:func:`equilibrium_distance` of ``stats_window`` (default: the current window) for this family."""
        return equilibrium_distance(self.window if stats_window is None else stats_window, self.family)

    def _check_divergence(self, stats: dict, step: int) -> list[Alert]:
        for key, value in stats.items():
            if isinstance(value, float) and math.isnan(value):
                return [make_alert("divergence", step, what=f"{key} is NaN at step {step}")]
        for key in _FINITE_KEYS:
            if key in stats and stats[key] is not None and not math.isfinite(float(stats[key])):
                return [make_alert("divergence", step, what=f"{key} is {stats[key]} at step {step}")]
        bounded = self.family != "wasserstein"  # these losses live on O(1) scales
        limits = {"d_loss": 100.0, "g_loss": 100.0, "real_logit": 1e3, "fake_logit": 1e3} if bounded else {}
        for key, limit in limits.items():
            if key in stats and abs(float(stats[key])) > limit:
                return [make_alert("divergence", step,
                                   what=f"{key} = {float(stats[key]):.3g} exceeds {limit:g} at step {step}")]
        history = list(self.window)[:-10]  # the baseline: the window minus the latest rounds
        if len(history) >= 20:
            for key in _EXPLODE_KEYS:
                base = _median(abs(v) for v in _series(history, key))
                if key in stats and base == base:
                    now = abs(float(stats[key]))
                    if now > 10.0 and now > 1000.0 * max(base, 1e-3):
                        return [make_alert("divergence", step,
                                           what=f"{key} exploded from about {base:.3g} to {now:.3g}")]
        return []

    def _check_balance(self, step: int) -> list[Alert]:
        w = list(self.window)
        n = len(w)
        out = []
        minimax = self.family == "minimax"
        if minimax:
            dist = self.equilibrium_distance(w)
            dr, df, v = _mean(_series(w, "d_real")), _mean(_series(w, "d_fake")), _mean(_series(w, "value"))
            if dr - df >= 0.1:
                self._d_has_separated = True
            # a fresh classifier that still tells real from fake overrules D's reading (check_equilibrium)
            if dist < 0.1 and self._d_has_separated and not self.last_c2st.get("separates"):
                out.append(make_alert("equilibrium", step, d_real=dr, d_fake=df, value=v, distance=dist,
                                      fresh=self._fresh_edge()))
        acc = _series(w, "d_acc")
        recent_g = _mean(_series(w, "g_grad_norm"))
        fading = self._g_grad_peak > 0 and recent_g == recent_g and recent_g < 0.1 * self._g_grad_peak
        vanished = (fading and recent_g <= 1e-4 * self._g_grad_peak
                    and self.equilibrium_distance(w) > 0.2)  # a zero gradient at equilibrium is fine
        mean_acc = _mean(acc) if len(acc) == n else float("nan")
        dr = _mean(_series(w, "d_real")) if minimax else _mean(_series(w, "real_logit"))
        df = _mean(_series(w, "d_fake")) if minimax else _mean(_series(w, "fake_logit"))
        # accuracy by the sign of the score means nothing for a Wasserstein critic (its offset is free)
        winning = (self.family != "wasserstein" and mean_acc >= 0.9
                   and (dr - df >= 0.6 if minimax else mean_acc >= 0.95))
        if winning or vanished:
            grad_note = ""
            if fading:
                grad_note = (f"; G's gradient norm fell to {recent_g:.2g} from a peak of {self._g_grad_peak:.2g}, "
                             f"so G no longer learns")
            acc_text = f": it classifies {mean_acc:.1%} of samples correctly" if mean_acc == mean_acc else ""
            out.append(make_alert("discriminator-overpowering", step, d_acc=mean_acc, n=n, acc_text=acc_text,
                                  d_real=dr, d_fake=df, grad_note=grad_note))
        real_key, fake_key = ("d_real", "d_fake") if minimax else ("real_logit", "fake_logit")
        pairs = [(float(s[real_key]), float(s[fake_key])) for s in w if real_key in s and fake_key in s]
        if len(pairs) == n:
            frac = sum(f > r for r, f in pairs) / n
            real, fake = _mean(p[0] for p in pairs), _mean(p[1] for p in pairs)
            margin = 0.05 if minimax else 0.0
            if frac >= 0.9 and fake - real > margin:
                out.append(make_alert("generator-winning", step, frac=frac, n=n, real=real, fake=fake))
        return out

    def _check_oscillation(self, step: int) -> list[Alert]:
        """A cycle (see :func:`periodicity`) in the last window whose amplitude at least doubled
        from each of the three last windows to the next, or (minimax family) a cycle of D(x) with
        a swing of more than +-0.2. Growth over a single window happens in healthy runs
        while G starts to learn; sustained growth is the instability of Mescheder et al. 2018."""
        w = list(self._long)
        n = self.window.maxlen
        if len(w) < 3 * n:
            return []
        for key in ("d_loss", "g_loss", "d_real"):
            y = _series(w, key)
            if len(y) < 3 * n:
                continue
            recent = y[-n:]
            half, full, lag = periodicity(recent, n // 4)
            if half > -0.5 or full < 0.3:
                continue
            a1, a2, a3 = (float(_detrended(y[i * n : (i + 1) * n]).std()) for i in range(3))
            growth = a3 / max(a1, 1e-12)
            significant = a3 > 0.02 * (abs(_mean(recent)) + 1.0)
            growing = a2 > 2.0 * a1 and a3 > 2.0 * a2
            big_swing = key == "d_real" and self.family == "minimax" and a3 > 0.2
            if significant and (growing or big_swing):
                return [make_alert("oscillation", step, signal=key, autocorr=half, lag=lag, period=2 * lag,
                                   growth=growth, half=n)]
        return []

    # ---------------------------------------------------------------- a fresh classifier's reading

    def _fresh_edge(self) -> str:
        """A sentence for the equilibrium note when the last fresh classifier still beats chance
        significantly, though not by enough for ``matched-discriminator``; else ''."""
        c = self.last_c2st
        if not c or not c.get("p_value", 1.0) < C2ST_ALPHA:
            return ""
        return (f" A fresh classifier still tells real from generated apart {c['accuracy']:.1%} of the time "
                f"(95% interval {c['ci_low']:.1%} to {c['ci_high']:.1%}, {c['n_test']} held-out samples, "
                f"round {c['step']}): G's samples are close to the data, not yet indistinguishable from it.")

    def check_equilibrium(self, result, step: int | None = None) -> list[Alert]:
        """Compare the game's D with a fresh classifier's verdict ``result`` (a
        :class:`ganforge.metrics.c2st.C2ST` on real against generated samples of this round).

        Fires ``matched-discriminator`` when D reads equilibrium over the window (its equilibrium
        distance below :data:`MATCHED_D_DISTANCE`) while the fresh classifier separates the samples
        (p < :data:`C2ST_ALPHA`, interval at or above :data:`C2ST_AT_LEAST`). A Wasserstein critic
        has no "1/2" to read, so only the numbers are kept for it. Returns the new alerts.
        """
        step = int(step if step is not None else self._rounds)
        w = list(self.window)
        dist = self.equilibrium_distance(w) if w else float("nan")
        separates = result.separates(C2ST_AT_LEAST, C2ST_ALPHA)
        self.last_c2st = {"step": step, "accuracy": result.accuracy, "ci_low": result.ci_low,
                          "ci_high": result.ci_high, "p_value": result.p_value, "n_test": result.n_test,
                          "classifier": result.classifier, "d_distance": dist, "separates": separates}
        limit = MATCHED_D_DISTANCE.get(self.family)
        full = len(w) == self.window.maxlen
        if limit is None or not full or not separates or not dist < limit:
            return []
        if self.family == "minimax":
            dr, df = _mean(_series(w, "d_real")), _mean(_series(w, "d_fake"))
            reading = f"mean D(x) = {dr:.2f} and D(G(z)) = {df:.2f} over the last {len(w)} rounds"
        else:
            reading = f"D classifies {_mean(_series(w, 'd_acc')):.0%} of samples correctly over the last {len(w)} rounds"
        return self._emit([make_alert("matched-discriminator", step, reading=reading, distance=dist,
                                      accuracy=result.accuracy, ci_low=result.ci_low, ci_high=result.ci_high,
                                      p_value=result.p_value, n_test=result.n_test)])

    # ---------------------------------------------------------------- samples

    def check_samples(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        centers: torch.Tensor | None = None,
        std: float | None = None,
        step: int | None = None,
        real_labels: torch.Tensor | None = None,
        fake_labels: torch.Tensor | None = None,
        n_classes: int | None = None,
    ) -> list[Alert]:
        """Mode-collapse checks on a real batch and a fake batch (same shapes after the batch axis).

        Uses mode coverage when ``centers``/``std`` are known (fakes vs reals of the same size),
        the class histograms when ``real_labels``/``fake_labels`` (predicted classes) and
        ``n_classes`` are given, and sample diversity always. Returns the new alerts.
        """
        step = int(step if step is not None else self._rounds)
        evidence, severity, info = [], None, []
        numbers: dict = {"step": step}
        div = sample_diversity(real, fake)
        numbers["diversity"] = div.to_dict()
        if div.ratio < 0.1:
            evidence.append(f"fake samples are {div.ratio:.0%} as spread out as real ones (mean pairwise distance)")
            severity = "error"
        elif div.ratio < 0.5:
            evidence.append(f"fake samples are only {div.ratio:.0%} as spread out as real ones")
        if div.fake_dup_rate > 0.5 and div.fake_dup_rate > 5 * div.real_dup_rate:
            evidence.append(f"{div.fake_dup_rate:.0%} of fakes have a near-duplicate (reals: {div.real_dup_rate:.0%})")
        if centers is not None and std is not None:
            cf = mode_coverage(fake.flatten(1), centers, std)
            cr = mode_coverage(real.flatten(1), centers, std)
            numbers["modes_fake"], numbers["modes_real"] = cf.to_dict(), cr.to_dict()
            if cf.modes_captured < 0.75 * cr.modes_captured:
                evidence.append(f"{cf.modes_captured} of {cf.n_modes} modes captured "
                                f"(real samples of the same size capture {cr.modes_captured})")
                if cf.modes_captured <= 0.25 * cr.modes_captured:
                    severity = "error"
            elif cf.modes_captured < cr.modes_captured:
                info.append(f"{cf.modes_captured} of {cf.n_modes} modes captured "
                            f"(real samples of the same size capture {cr.modes_captured})")
        if fake_labels is not None and n_classes:
            bf = class_balance(fake_labels, n_classes)
            br = class_balance(real_labels, n_classes) if real_labels is not None else None
            numbers["classes_fake"] = bf.to_dict()
            ref_cov = br.covered if br else n_classes
            ref_kl = br.kl_to_uniform if br else 0.0
            if bf.covered < 0.75 * ref_cov or bf.kl_to_uniform > ref_kl + 0.5:
                evidence.append(f"generated classes cover {bf.covered} of {n_classes} with KL to uniform "
                                f"{bf.kl_to_uniform:.2f} nats (reals: {ref_cov} classes, KL {ref_kl:.2f})")
        self.last_sample_check = numbers
        found = []
        if evidence:
            found.append(make_alert("mode-collapse", step, severity, evidence="; ".join(evidence)))
        elif info:
            found.append(make_alert("modes-missing", step, evidence="; ".join(info)))
        return self._emit(found)

    def callback(self, **kwargs) -> MonitorCallback:
        """A Trainer callback that feeds this monitor (see :class:`MonitorCallback`)."""
        return MonitorCallback(self, **kwargs)


def _console(text: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stderr)
    except ImportError:  # tqdm is a dependency, but the monitor does not need it
        print(text, file=sys.stderr)


def read_alerts(run_dir: str | Path) -> list[dict]:
    """The alerts recorded in ``run_dir/alerts.jsonl`` (empty when there are none)."""
    from ganforge.viz import read_jsonl  # tolerates a torn last line from a killed process

    return read_jsonl(Path(run_dir) / "alerts.jsonl")
