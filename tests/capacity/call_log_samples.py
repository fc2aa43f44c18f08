"""Small synthetic call logs (Anonymous Bank format) and call frames for the fitting tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd


def calls_frame(rows: list[tuple[str, str, str, float, bool, str]]) -> pd.DataFrame:
    """(server, service start, service end, wait s, abandoned, queue start) -> call frame."""
    recs = []
    for server, s, e, wait, ab, qs in rows:
        q0 = pd.Timestamp(qs, tz="UTC")
        recs.append(
            {
                "server": server,
                "served": not ab,
                "abandoned": ab,
                "queued": wait > 0 or ab,
                "reached_queue": True,
                "service_start_at": pd.Timestamp(s, tz="UTC") if s else pd.NaT,
                "service_end_at": pd.Timestamp(e, tz="UTC") if e else pd.NaT,
                "queue_start_at": q0,
                "queue_exit_at": q0 + pd.Timedelta(seconds=wait),
                "wait_seconds": wait,
            }
        )
    df = pd.DataFrame(recs)
    for c in ("service_start_at", "service_end_at", "queue_start_at", "queue_exit_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


HEADER = (
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\t"
    "q_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver"
)


def _fmt(sec: int) -> str:
    return f"{sec // 3600}:{sec // 60 % 60:02d}:{sec % 60:02d}"


def synthetic_log(path: Path, days: int = 3, seed: int = 0) -> None:
    """A small call log: Poisson-ish calls 08:00-18:00, two agents alternating."""
    g = np.random.default_rng(seed)
    lines = [HEADER]
    cid = 0
    for d in range(days):
        date = f"9901{d + 3:02d}"
        t = 8 * 3600
        while t < 18 * 3600:
            t += int(g.exponential(120)) + 1
            cid += 1
            prio = int(g.integers(0, 3))
            wait = int(g.exponential(40))
            ab = g.random() < 0.2
            q0, q1 = t + 5, t + 5 + wait
            if ab:
                ser = ("0:00:00", "0:00:00", 0, "NO_SERVER", "HANG")
            else:
                h = int(g.exponential(150)) + 1
                ser = (_fmt(q1), _fmt(q1 + h), h, "AB"[cid % 2], "AGENT")
            lines.append(
                "\t".join(
                    map(
                        str,
                        [
                            "AA0101", cid, cid, prio, "PS", date, _fmt(t), _fmt(t + 5), 5,
                            _fmt(q0), _fmt(q1), wait, ser[4], ser[0], ser[1], ser[2], ser[3],
                        ],
                    )
                )
            )  # fmt: skip
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
