"""Postfix short queue ids, with inode reuse and recycled ids."""

from __future__ import annotations

import heapq
from collections import deque
from random import Random

from relaywatch.loggen.common import P_RECYCLE, US


class QueueIds:
    """Postfix short queue ids: 5 hex digits of microseconds + the queue file's inode, in hex.

    Inodes of removed queue files are reused, and now and then a new message gets the very id of
    one that just left the queue, as happens on a busy relay.
    """

    def __init__(self, r: Random) -> None:
        self.next_inode = r.randrange(0x20000, 0x90000)
        self.free: list[int] = []
        self.free_set: set[int] = set()
        self.busy: list[tuple[int, int, str]] = []
        self.recent: deque[tuple[str, int]] = deque(maxlen=64)

    def new(self, t: int, now: int, r: Random | None) -> tuple[str, int]:
        """A queue id created at time t; queue files removed by `now` (the simulation clock) are free."""
        busy = self.busy
        while busy and busy[0][0] <= now:
            _, inode, qid = heapq.heappop(busy)
            self.free.append(inode)
            self.free_set.add(inode)
            self.recent.append((qid, inode))
        if r is not None and self.recent and r.random() < P_RECYCLE:
            qid, inode = self.recent[-1]
            if inode in self.free_set:
                self.free_set.discard(inode)
                self.free.remove(inode)
                return qid, inode
        if self.free:
            inode = self.free.pop(0 if len(self.free) < 8 else -1)
            self.free_set.discard(inode)
        else:
            inode = self.next_inode
            self.next_inode += 1 + (inode * 2654435761 >> 7) % 23
        return f"{t % US:05X}{inode:05X}", inode

    def hold(self, end: int, inode: int, qid: str) -> None:
        """The queue file `inode` (id `qid`) stays busy until `end`."""
        heapq.heappush(self.busy, (end, inode, qid))
