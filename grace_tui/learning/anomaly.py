"""Streaming anomaly detector for one metric series (standard library only).

Method
------
Two cheap views of the stream are averaged into one score in [0, 1], and a
third, slower view can raise it (the score is the larger of the two). Every
point costs a handful of dict look-ups and one bisect (a few us in CPython).

* Context novelty (after CAD OSE's idea of scoring unseen contexts). Each value
  is quantized into one of `levels` buckets spanning the range seen so far; the
  range is re-read every `refresh` points, so buckets stay put between
  refreshes, and a value well past the known range lands in a bucket of its own.
  The detector remembers every bucket sequence it has seen of length 2..orders+1
  (the current bucket after 1..orders previous ones). Novelty is the weighted
  share of those sequences that are new, a sequence one longer weighing `decay`
  times as much: a new pair of buckets counts fully, a new triple made of known
  pairs only a little. Novelty is ignored while the newest context holds a
  moderate excursion (spike k between `gate_low` and `gate_high`): the spike
  view scores that one, so a single excursion does not count twice. A rest
  period (`rest` points after a strong novelty, >= rest_level, gated or not,
  or after a spike-view score of k >= `spike_rest` once held off) keeps one
  change from alarming again while the memory fills with its new patterns
  (a spike or a shift makes new contexts too); the first `rest` points are
  warm-up.
* Spike / level shift: k = |x - level| / (1.4826 * MAD), with the level an EWMA
  (`alpha`) and the MAD over the last `mad_window` residuals. A holdoff subtracts
  the largest k of the previous `holdoff` points, so a lasting shift alarms once
  at its onset; the result is squashed with k / (1 + k).
* Familiar spikes (learned spike recurrence). Runs of raw k >= `familiar_k`
  are spike events; the peaks of the last `familiar_memory` ones are kept. Once
  `familiar_n` events have been seen, a spike no bigger than `familiar_c` times
  the `familiar_q` quantile of those peaks is normal for this series and scores
  zero on the spike view (it still enters the holdoff and starts the novelty
  rest period) -- unless its event started sooner after the previous one than
  `familiar_rate` times the median gap between earlier events: a spike bigger
  than usual, or spikes coming faster than usual, still alarm.
* Coarse context novelty (changes of shape too slow or too small for the two
  views above: a daily pattern that runs differently). The means of blocks of
  `block` points are quantized like the values above, over the range of block
  means seen so far, and every pair of consecutive block buckets is
  remembered. Buckets only ever widen, and never below `coarse_floor` noise
  sigmas of a block mean (point noise estimated from mean |x_t - x_t-1|), so
  white noise fills a few buckets and stops making new pairs. A new pair
  raises the score to `coarse_weight` only if (a) the previous block also made
  a new pair (a real change of pattern makes new pairs in a row; one is often
  chance) and (b) neither bucket is on its first visit since the grid last
  moved (a new extreme is the spike view's, and a noise tail's, not a new
  pattern); with the same `rest` period, in blocks. `block=1` turns it off.

Why: on the Numenta Anomaly Benchmark the context view catches changes of shape
(a missing daily peak, a new rhythm) that no deviation score sees, and the
spike view catches fast excursions before they have formed a new context. The
coarse view fires rarely (6 alarms in all 34 NAB series) and found two
holiday windows of nyc_taxi that the point-level views miss (63.8 -> 67.1 on
NAB; the gain is that one series, see bench/results/anomaly.md). Starting
the novelty rest period also on spike alarms and on gated novelties removed
11 false positives (-> 68.2 on the standard profile). Familiar spikes
removed 24 more on series with recurring spikes, without losing a window
(-> 70.7). No
parameter depends on the series: no known min/max, length or name. The
defaults were chosen on NAB's 34 shared series (bench/results/anomaly.md has
the log); single parameter changes move the score by several points, so treat
them as a good setting, not an optimum.

Why not CAD OSE itself: a re-implementation of CAD OSE reproduced its published
NAB score (67.3 against 67.06) when told each series' min/max, but cost about
850 us per point in CPython, and with a range learnt online (which a live
monitor needs: the min/max of a metric is not known in advance) it fell to
39.8, because every widening of the range re-quantizes the whole memory.

Known limitation: on unbounded (Gaussian) noise, rare bucket pairs in the tails
keep appearing: 0.25 to 1.75 alarms per 1000 points after warm-up
(ten seeds, 5000 points each). Bounded
noise (a busy but steady CPU) and periodic series go quiet once their patterns
have been seen (with the coarse view: no coarse alarm in 30 seeds of 50 000
uniform-noise points and 30 seeds of 30 000 points of a noisy daily cycle). Every remedy
tried that made it quiet cost 6 to 15 NAB points (bench/results/anomaly.md).
"""
from __future__ import annotations

import bisect
from array import array
from collections import deque

# Score at or above which an online alarm is raised: the NAB standard-profile optimum
# on the 34 shared series (bench/bench_anomaly.py).
DEFAULT_THRESHOLD = 0.2597


class AnomalyDetector:
    """Scores each new value of one series against the past only."""

    def __init__(self, levels: int = 8, orders: int = 2, refresh: int = 50,
                 alpha: float = 0.01, mad_window: int = 1600, min_points: int = 30,
                 novelty_weight: float = 0.5, holdoff: int = 400,
                 rest: int = 150, rest_level: float = 0.75,
                 gate_low: float = 3.5, gate_high: float = 8.0, decay: float = 0.5,
                 block: int = 8, coarse_weight: float = 0.7, coarse_floor: float = 6.0,
                 spike_rest: float = 1.0, familiar_k: float = 10.0, familiar_n: int = 4,
                 familiar_q: float = 0.8, familiar_c: float = 1.2, familiar_gap: int = 3,
                 familiar_memory: int = 30, familiar_rate: float = 0.75):
        self.params = dict(levels=levels, orders=orders, refresh=refresh, alpha=alpha,
                           mad_window=mad_window, min_points=min_points,
                           novelty_weight=novelty_weight, holdoff=holdoff,
                           rest=rest, rest_level=rest_level,
                           gate_low=gate_low, gate_high=gate_high, decay=decay,
                           block=block, coarse_weight=coarse_weight, coarse_floor=coarse_floor,
                           spike_rest=spike_rest, familiar_k=familiar_k, familiar_n=familiar_n,
                           familiar_q=familiar_q, familiar_c=familiar_c, familiar_gap=familiar_gap,
                           familiar_memory=familiar_memory, familiar_rate=familiar_rate)
        self.levels = levels
        self.orders = orders
        self.refresh = refresh
        self.alpha = alpha
        self.mad_window = mad_window
        self.min_points = min_points
        self.novelty_weight = novelty_weight
        self.holdoff = holdoff
        self.rest = rest
        self.rest_level = rest_level
        self.gate_low = gate_low
        self.gate_high = gate_high
        self.decay = decay
        self.block = block
        self.coarse_weight = coarse_weight
        self.coarse_floor = coarse_floor
        self.spike_rest = spike_rest
        self.familiar_k = familiar_k
        self.familiar_n = familiar_n
        self.familiar_q = familiar_q
        self.familiar_c = familiar_c
        self.familiar_gap = familiar_gap
        self.familiar_rate = familiar_rate
        # spike events (runs of raw k >= familiar_k): peak k of the last familiar_memory ones
        self.events: deque[float] = deque(maxlen=familiar_memory)
        self.event_peak = 0.0  # peak raw k of the current (open) event, 0 if none yet
        self.event_last = -1  # t of the last point of the current event
        self.event_starts: deque[int] = deque(maxlen=familiar_memory + 1)  # t of each event's first point
        self.last_novel = 0  # t of the last strong novelty; the first `rest` points are warm-up
        self.t = 0
        # quantizer
        self.lo: float | None = None
        self.hi: float | None = None
        self.origin = 0.0
        self.width = 0.0
        # context memory
        self.history: deque[int] = deque(maxlen=orders)
        self.seen: set[tuple[int, ...]] = set()
        # spike score
        self.level: float | None = None
        # Plain doubles, oldest first, and the same sorted: 8 bytes a residual instead of a float
        # object each (a detector trained on a day of samples fell from 87 kB to 48 kB; the daemon
        # keeps one per series).
        self.residuals = array("d")
        self.sorted_residuals = array("d")
        self.mean_abs = 0.0
        # raw spike k of the last orders + 1 points (the points of the newest context)
        self.recent_k: deque[float] = deque([0.0] * (orders + 1), maxlen=orders + 1)
        # holdoff: (t, score) with scores decreasing
        self.peaks: deque[tuple[int, float]] = deque()
        # coarse context novelty on means of `block` points (counters in blocks)
        self.c_sum = 0.0
        self.c_n = 0
        self.c_t = 0
        self.c_lo: float | None = None
        self.c_hi: float | None = None
        self.c_origin = 0.0
        self.c_width = 0.0
        self.c_prev: int | None = None
        self.c_seen: set[tuple[int, int]] = set()
        self.c_last_novel = 0  # block index of the last coarse alarm candidate
        self.c_prev_novel = -2  # block index of the last new pair
        self.c_visited: set[int] = set()  # buckets visited since the grid last moved
        self.c_first_visit = -2  # block index of the last first visit
        self.c_last_raw: float | None = None
        self.c_step = 0.0  # EWMA of |x - previous x|, the noise scale of single points

    # ---------------------------------------------------------------- parts
    def _bucket(self, value: float) -> int:
        if self.lo is None or value < self.lo:
            self.lo = value
        if self.hi is None or value > self.hi:
            self.hi = value
        if self.t % self.refresh == 0 or self.width <= 0.0:
            # levels buckets centred on [lo, hi]: a new extreme only just past
            # the known range stays in the end bucket, a far one gets its own.
            self.width = (self.hi - self.lo) / (self.levels - 1)
            self.origin = self.lo - 0.5 * self.width
        if self.width <= 0.0:
            return 0
        return int((value - self.origin) // self.width)

    def _novelty(self, bucket: int) -> float:
        seq: tuple[int, ...] = (bucket,)
        unseen = total = 0.0
        weight = 1.0
        for previous in reversed(self.history):
            seq = (previous,) + seq
            total += weight
            if seq not in self.seen:
                unseen += weight
                self.seen.add(seq)
            weight *= self.decay
        self.history.append(bucket)
        return unseen / total if total else 0.0

    def _spike(self, value: float) -> float:
        if self.level is None:
            self.level = value
            return 0.0
        resid = abs(value - self.level)
        k = 0.0
        if len(self.residuals) >= self.min_points:
            s = self.sorted_residuals
            m = len(s)
            mad = s[m // 2] if m % 2 else 0.5 * (s[m // 2 - 1] + s[m // 2])
            scale = max(1.4826 * mad, 0.5 * self.mean_abs)
            floor = 1e-9 * max(1.0, abs(self.level))
            k = resid / scale if scale > floor else (0.0 if resid <= floor else resid / floor)
        self.level += self.alpha * (value - self.level)
        self.mean_abs += 0.05 * (resid - self.mean_abs)
        self.residuals.append(resid)
        bisect.insort(self.sorted_residuals, resid)
        if len(self.residuals) > self.mad_window:
            old = self.residuals.pop(0)
            del self.sorted_residuals[bisect.bisect_left(self.sorted_residuals, old)]
        return k

    def _rest(self, strength: float, novelty: float) -> float:
        """`novelty`, or zero if a strong novelty (>= rest_level) came in the previous
        `rest` points. `strength` is this point's novelty before the gate: a strong one
        starts a rest period even when the gate leaves it to the spike view."""
        if strength >= self.rest_level:
            quiet = self.t - self.last_novel > self.rest
            self.last_novel = self.t
            return novelty if quiet else 0.0
        return novelty if self.t - self.last_novel > self.rest else 0.0

    def _hold(self, score: float) -> float:
        """Subtract the largest score of the previous `holdoff` points."""
        peaks = self.peaks
        while peaks and peaks[0][0] <= self.t - self.holdoff:
            peaks.popleft()
        out = max(0.0, score - peaks[0][1]) if peaks else score
        while peaks and peaks[-1][1] <= score:
            peaks.pop()
        peaks.append((self.t, score))
        return out

    def _familiar(self, raw_k: float) -> bool:
        """True if raw_k is a spike of a size this series has made before: at least
        `familiar_n` earlier spike events (runs of raw k >= familiar_k, points at most
        `familiar_gap` apart), raw_k at most `familiar_c` times the `familiar_q`
        quantile of their peaks, and this event starting no sooner after the previous
        one than `familiar_rate` times the median gap between earlier events. A bigger
        spike than usual, or spikes coming faster than usual, are not familiar."""
        if not self.familiar_k or raw_k < self.familiar_k:
            return False
        if self.t - self.event_last > self.familiar_gap:
            if self.event_peak:
                self.events.append(self.event_peak)  # the previous event is over
            self.event_peak = 0.0
            self.event_starts.append(self.t)
        self.event_last = self.t
        familiar = False
        if len(self.events) >= self.familiar_n:
            peaks = sorted(self.events)
            usual = peaks[min(len(peaks) - 1, int(self.familiar_q * len(peaks)))]
            familiar = raw_k <= self.familiar_c * usual
            starts = self.event_starts
            if familiar and self.familiar_rate and len(starts) >= 3:
                gaps = sorted(starts[i + 1] - starts[i] for i in range(len(starts) - 2))
                familiar = starts[-1] - starts[-2] >= self.familiar_rate * gaps[len(gaps) // 2]
        self.event_peak = max(self.event_peak, raw_k)
        return familiar

    def _coarse(self, value: float) -> float:
        """1.0 when block means form a new bucket pair right after another new pair."""
        if self.c_last_raw is not None:
            self.c_step += 0.01 * (abs(value - self.c_last_raw) - self.c_step)
        self.c_last_raw = value
        self.c_sum += value
        self.c_n += 1
        if self.c_n < self.block:
            return 0.0
        mean = self.c_sum / self.c_n
        self.c_sum, self.c_n = 0.0, 0
        if self.c_lo is None or mean < self.c_lo:
            self.c_lo = mean
        if self.c_hi is None or mean > self.c_hi:
            self.c_hi = mean
        if self.c_t % self.refresh == 0 or self.c_width <= 0.0:
            # buckets never narrow, and are never narrower than coarse_floor noise
            # sigmas of a block mean (sigma ~ mean |step| / 1.128 for white noise):
            # white noise then fills few buckets and never meets a new pair.
            floor = self.coarse_floor * self.c_step / 1.128 / self.block ** 0.5
            grid = (self.c_width, self.c_origin)
            self.c_width = max(self.c_width, (self.c_hi - self.c_lo) / (self.levels - 1), floor)
            self.c_origin = self.c_lo - 0.5 * self.c_width
            if grid != (self.c_width, self.c_origin):
                self.c_visited.clear()  # buckets moved: first visits start again
        bucket = int((mean - self.c_origin) // self.c_width) if self.c_width > 0.0 else 0
        prev, self.c_prev = self.c_prev, bucket
        t, self.c_t = self.c_t, self.c_t + 1
        first_visit = bucket not in self.c_visited
        self.c_visited.add(bucket)
        # a pair that leaves or enters a bucket on its first visit (since the grid last
        # moved) is a new extreme or a noise tail: the spike view's job, never an alarm here
        touches_new = first_visit or self.c_first_visit == t - 1
        if first_visit:
            self.c_first_visit = t
        if prev is None or (prev, bucket) in self.c_seen:
            return 0.0
        self.c_seen.add((prev, bucket))
        # a single new pair is often chance; a change of pattern makes two in a row
        confirmed = t - self.c_prev_novel <= 1
        self.c_prev_novel = t
        if touches_new or not confirmed:
            return 0.0
        quiet = t - self.c_last_novel > self.rest
        self.c_last_novel = t
        return 1.0 if quiet else 0.0

    # ---------------------------------------------------------------- API
    def step(self, timestamp: float | str | None, value: float) -> float:
        """Score `value` (the newest sample) in [0, 1]; higher is more anomalous."""
        novelty = self._novelty(self._bucket(value))
        raw_k = self._spike(value)
        self.recent_k.append(raw_k)
        strength = novelty
        if novelty and self.gate_low < max(self.recent_k) < self.gate_high:
            novelty = 0.0  # a moderate excursion: left to the spike view
        novelty = self._rest(strength, novelty)
        k = self._hold(raw_k)
        if k >= self.spike_rest:
            self.last_novel = self.t  # a spike or shift starts the novelty rest period too
        if self._familiar(raw_k):
            k = 0.0  # a spike of a size seen before: normal for this series
        spike = k / (1.0 + k)
        w = self.novelty_weight
        score = w * novelty + (1.0 - w) * spike
        if self.block > 1:
            score = max(score, self.coarse_weight * self._coarse(value))
        self.t += 1
        return min(1.0, max(0.0, score))

    def to_state(self) -> dict:
        """Everything needed to continue scoring later, as JSON-able data."""
        return {
            "version": 1, "params": dict(self.params), "t": self.t,
            "lo": self.lo, "hi": self.hi, "origin": self.origin, "width": self.width,
            "history": list(self.history), "seen": sorted(list(s) for s in self.seen),
            "level": self.level, "residuals": list(self.residuals), "mean_abs": self.mean_abs,
            "peaks": [list(p) for p in self.peaks], "last_novel": self.last_novel,
            "recent_k": list(self.recent_k),
            "events": list(self.events), "event_peak": self.event_peak,
            "event_last": self.event_last, "event_starts": list(self.event_starts),
            "coarse": {"sum": self.c_sum, "n": self.c_n, "t": self.c_t, "lo": self.c_lo,
                       "hi": self.c_hi, "origin": self.c_origin, "width": self.c_width,
                       "prev": self.c_prev, "seen": sorted(list(p) for p in self.c_seen),
                       "last_novel": self.c_last_novel, "prev_novel": self.c_prev_novel,
                       "last_raw": self.c_last_raw, "step": self.c_step,
                       "visited": sorted(self.c_visited), "first_visit": self.c_first_visit},
        }

    @classmethod
    def from_state(cls, state: dict) -> "AnomalyDetector":
        det = cls(**state["params"])
        det.t = state["t"]
        det.lo, det.hi = state["lo"], state["hi"]
        det.origin, det.width = state["origin"], state["width"]
        det.history.extend(state["history"])
        det.seen = {tuple(s) for s in state["seen"]}
        det.level = state["level"]
        det.residuals.extend(state["residuals"])
        det.sorted_residuals = array("d", sorted(det.residuals))
        det.mean_abs = state["mean_abs"]
        det.last_novel = state["last_novel"]
        if "recent_k" in state:
            det.recent_k.extend(float(k) for k in state["recent_k"])
        det.peaks.extend((int(t), float(s)) for t, s in state["peaks"])
        # absent in states saved before the familiar-spike rule: it starts afresh
        det.events.extend(float(k) for k in state.get("events", ()))
        det.event_peak = float(state.get("event_peak", 0.0))
        det.event_last = int(state.get("event_last", -1))
        det.event_starts.extend(int(t) for t in state.get("event_starts", ()))
        c = state.get("coarse")  # absent in states saved before the coarse view: it starts afresh
        if c is not None:
            det.c_sum, det.c_n, det.c_t = c["sum"], c["n"], c["t"]
            det.c_lo, det.c_hi = c["lo"], c["hi"]
            det.c_origin, det.c_width = c["origin"], c["width"]
            det.c_prev = c["prev"]
            det.c_seen = {(int(a), int(b)) for a, b in c["seen"]}
            det.c_last_novel = c["last_novel"]
            det.c_prev_novel = c["prev_novel"]
            det.c_last_raw, det.c_step = c["last_raw"], c["step"]
            det.c_visited = {int(b) for b in c["visited"]}
            det.c_first_visit = c["first_visit"]
        return det


class NabAdapter(AnomalyDetector):
    """score.py's --py factory: NabAdapter(info, **params). Ignores info (no min/max)."""

    def __init__(self, info: dict | None = None, **params):
        super().__init__(**params)
