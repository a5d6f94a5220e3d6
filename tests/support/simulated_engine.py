"""A hand-made serving engine on a simulated clock, with a known capacity (not a measurement).

`SimulatedEngine` is a FIFO queue in front of `slots` servers: a request starts when it arrives
and a slot is free (else when the earliest slot frees), and then takes exactly `service_s`,
emitting `tokens` tokens evenly (the last at the end). Its capacity is `slots / service_s`
requests per second: below it the queue stays bounded, above it the queue grows without end.
Time is simulated: `poll` moves the shared `SimClock` forward instead of waiting, so a minute of
load runs in a fraction of a second. `cancel` returns the tokens a request had by then.

`SimMeter` is an energy meter on the same clock (constant power), so the window's length and
energy are on the simulated clock too.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from runner.machine.energy import EnergyReading
from runner.measure.serving.outcomes import EngineResult


class SimClock:
    """Time that moves only when the engine waits (starts at 1000 s)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class SimulatedEngine:
    """An `Engine` with `slots` servers of fixed service time (see the module doc)."""

    clock: SimClock
    slots: int = 4
    service_s: float = 0.2
    tokens: int = 4
    warmup_time_s: float = 0.0
    info: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.free_at = [self.clock()] * self.slots
        heapq.heapify(self.free_at)
        self.plans: dict[str, tuple[float, list[float]]] = {}
        self.queue: list[tuple[float, str]] = []
        self.info = {
            "attn_implementation": "simulated",
            "max_batch_requests": self.slots,
            "max_batch_tokens": None,
            "num_blocks": None,
            "page_size": 16,
        }

    @property
    def capacity_rps(self) -> float:
        """Requests per second it can serve."""
        return self.slots / self.service_s

    def submit(self, request_id: str, input_ids: list[int]) -> None:
        start = max(self.clock(), heapq.heappop(self.free_at))
        end = start + self.service_s
        heapq.heappush(self.free_at, end)
        step = self.service_s / self.tokens
        self.plans[request_id] = (start, [start + step * (k + 1) for k in range(self.tokens)])
        heapq.heappush(self.queue, (end, request_id))

    def _result(self, request_id: str, finished: bool) -> EngineResult:
        start, times = self.plans[request_id]
        if not finished:
            times = [t for t in times if t <= self.clock()]
        return EngineResult(
            request_id=request_id,
            finished=finished,
            started=start if start <= self.clock() else None,
            token_times=times,
            tokens=list(range(len(times))),
        )

    def poll(self, timeout_s: float) -> EngineResult | None:
        if self.queue and self.queue[0][0] <= self.clock() + timeout_s:
            due, request_id = heapq.heappop(self.queue)
            self.clock.now = max(self.clock.now, due)
            return self._result(request_id, finished=True)
        self.clock.now += timeout_s
        return None

    def cancel(self, request_id: str) -> EngineResult | None:
        self.queue = [item for item in self.queue if item[1] != request_id]
        heapq.heapify(self.queue)
        return self._result(request_id, finished=False)

    def alive(self) -> str | None:
        return None

    def close(self) -> None:
        pass


class SimMeter:
    """An energy meter on the simulated clock: constant `power_w`."""

    source = "fake"
    reason = None
    available = True
    resolution_s = 0.0

    def __init__(self, clock: SimClock, power_w: float = 100.0) -> None:
        self.devices = ["sim:0"]
        self.clock, self.power_w = clock, power_w
        self.open: dict[str, float] = {}

    def begin(self, name: str) -> None:
        self.open[name] = self.clock()

    def end(self, name: str) -> EnergyReading:
        duration = self.clock() - self.open.pop(name)
        return EnergyReading(self.power_w * duration, duration)
