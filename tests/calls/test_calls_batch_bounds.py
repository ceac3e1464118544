"""The intake's batches bounded by count, bytes and time (issue 68 item 5): a file that comes
alone is taken at once, batches grow while they finish within the deadline, and a batch that
took longer cuts the next one to what fits in it."""

from __future__ import annotations

from kustosz.ingest.batching import BatchBound


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def sizes(bound: BatchBound, n: int, seconds_a_file: list[float], clock: Clock,
          size: int = 1) -> list[int]:
    """The batches' sizes, the consumer taking ``seconds_a_file[i]`` a file of batch i (the
    last rate on, once the list ends)."""
    out = []
    for batch in bound.batches(range(n), lambda _: size):
        rate = seconds_a_file[min(len(out), len(seconds_a_file) - 1)]
        out.append(len(batch))
        clock.now += rate * len(batch)  # the consumer's work on this batch
    return out


def test_a_single_file_is_a_batch_of_its_own_at_once() -> None:
    clock = Clock()
    bound = BatchBound(64, 1024, 256 << 20, 0.5, clock)
    assert [list(b) for b in bound.batches(["jedyne-nagranie-źdźbło-📞.wav"], len)] \
        == [["jedyne-nagranie-źdźbło-📞.wav"]]


def test_batches_double_up_to_the_count_while_within_the_deadline() -> None:
    clock = Clock()
    bound = BatchBound(4, 16, 1 << 30, 0.5, clock)
    assert sizes(bound, 60, [1 / 1024], clock) == [4, 8, 16, 16, 16]


def test_a_slow_batch_cuts_the_next_to_the_deadline_but_not_below_the_first() -> None:
    clock = Clock()
    bound = BatchBound(4, 1024, 1 << 30, 0.5, clock)
    # Fast (1 ms a file) for five batches, then the machine is busy (1/64 s a file): the
    # batch of 128 takes 2 s, and the next are cut to the 32 that fit in 0.5 s.
    assert sizes(bound, 400, [1 / 1024] * 5 + [1 / 64], clock)[:9] \
        == [4, 8, 16, 32, 64, 128, 32, 32, 32]
    clock = Clock()
    bound = BatchBound(4, 1024, 1 << 30, 0.5, clock)
    assert sizes(bound, 20, [1.0], clock) == [4, 4, 4, 4, 4]  # one second a file: the floor


def test_bytes_end_a_batch_with_the_file_that_reaches_them() -> None:
    clock = Clock()
    bound = BatchBound(64, 1024, 3000, 0.5, clock)
    assert sizes(bound, 10, [0.0], clock, size=1000) == [3, 3, 3, 1]
