"""The queue's start order, on its own: priority, then jobs running, then round robin by
each owner's latest start, then first come, first served."""

from __future__ import annotations

import uuid
from datetime import timedelta

from cluster.catalog.jobs import QueuedJob, Usage, fair_order
from cluster.models import utcnow


def _jobs(owner: uuid.UUID, n: int, start: int, priority: int = 0) -> list[QueuedJob]:
    base = utcnow() - timedelta(minutes=10)
    return [QueuedJob(uuid.uuid4(), owner, "analyst", priority,
                      base + timedelta(seconds=start + i), None) for i in range(n)]


def test_a_user_whose_jobs_end_between_claims_still_takes_turns():
    alice, bob = uuid.uuid4(), uuid.uuid4()
    queue = [*_jobs(alice, 5, 0), *_jobs(bob, 1, 100)]
    # Alice's last job ended before this claim: nothing of hers runs, but she just started
    # one; Bob never has. FIFO by running count alone would put Bob sixth.
    usage = Usage(running={}, last_started={alice: utcnow()})
    order = fair_order(queue, usage)
    assert order[0].owner_id == bob
    assert [j.job_id for j in order[1:]] == [j.job_id for j in queue[:5]]


def test_two_users_alternate_and_keep_their_own_order():
    alice, bob = uuid.uuid4(), uuid.uuid4()
    a, b = _jobs(alice, 3, 0), _jobs(bob, 3, 50)
    order = fair_order([*a, *b], Usage(running={}, last_started={}))
    assert [j.job_id for j in order] == [a[0].job_id, b[0].job_id, a[1].job_id,
                                         b[1].job_id, a[2].job_id, b[2].job_id]


def test_fewer_running_beats_an_older_turn_and_priority_beats_both():
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    a, b, c = _jobs(alice, 1, 0), _jobs(bob, 1, 10), _jobs(carol, 1, 20, priority=5)
    usage = Usage(running={alice: 2}, last_started={alice: utcnow() - timedelta(hours=1),
                                                   bob: utcnow()})
    order = fair_order([*a, *b, *c], usage)
    assert [j.owner_id for j in order] == [carol, bob, alice]
