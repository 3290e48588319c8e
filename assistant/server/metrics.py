"""Prometheus metrics for GET /metrics: requests and latency per route and status, answers by outcome,
the model queue, the model's draft errors. Each app has its own registry (several apps in one process,
as in the tests, never share counts); route labels are route templates, never raw paths."""

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from assistant.answer import Answer
from assistant.server.limits import ModelGate

OUTCOMES = ("answered", "clarification", "out_of_scope", "invalid_input", "error")
LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format generate_latest writes


def outcome(answer: Answer) -> str:
    if not answer.in_scope:
        return "out_of_scope"
    return "clarification" if answer.needs_clarification else "answered"


class CountedElsewhere:
    """A counter kept by another object (the pipeline counts its own draft errors), read at each scrape."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int]) -> None:
        self.name, self.documentation, self.read = name, documentation, read

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation)

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, value=self.read())


class Metrics:
    def __init__(self, gate: ModelGate, draft_errors: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter("assistant_requests", "HTTP requests by method, route and status.", labels,
                                registry=self.registry)
        self.latency = Histogram("assistant_request_duration_seconds",
                                 "Time to the response headers (a stream's start) by method, route and status.",
                                 labels, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.in_flight = Gauge("assistant_requests_in_flight", "HTTP requests being served now.", registry=self.registry)
        self.answers = Counter("assistant_answers", f"Questions asked, by outcome: {', '.join(OUTCOMES)}.",
                               ["outcome"], registry=self.registry)
        for name in OUTCOMES:
            self.answers.labels(name)
        Gauge("assistant_queue_waiting", "Requests waiting for the model.",
              registry=self.registry).set_function(lambda: gate.waiting)
        Gauge("assistant_model_busy", "1 while the model is answering a question.",
              registry=self.registry).set_function(lambda: gate.busy)
        self.registry.register(CountedElsewhere(
            "assistant_model_draft_errors", "Drafts the chat model failed to write (the answer was composed without it).",
            draft_errors))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def count_answer(self, outcome_name: str) -> None:
        self.answers.labels(outcome_name).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
