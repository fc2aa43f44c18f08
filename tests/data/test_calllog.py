"""Call-log loader: parsing, midnight crossing, quarantine with reasons, real-data smoke test."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from slarisk.data.calllog import find_call_files, load_call_log, restrict_months
from slarisk.errors import InputError

HEADER = (
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\t"
    "q_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver"
)
ROWS = [
    # 1 queued, served (service stamped 1 s before the queue exit, as in the source)
    "AA0101\t1\t111\t2\tPS\t990103\t9:00:00\t9:00:06\t6\t9:00:06\t9:01:06\t60\tAGENT\t9:01:05\t9:03:05\t120\tDANA",
    # 2 straight to an agent
    "AA0101\t2\t0\t0\tNE\t990103\t9:10:00\t9:10:10\t10\t0:00:00\t0:00:00\t0\tAGENT\t9:10:09\t9:20:09\t600\tDANA",
    # 3 queued, abandoned
    "AA0101\t3\t333\t1\tPS\t990103\t9:20:00\t9:20:05\t5\t9:20:05\t9:22:05\t120\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
    # 4 hung up in the VRU (never asked for an agent)
    "AA0101\t4\t0\t0\tPS\t990103\t9:30:00\t9:30:20\t20\t0:00:00\t0:00:00\t0\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
    # 5 crosses midnight: queue exit and service after 0:00 of the next day
    "AA0102\t5\t555\t2\tPS\t990103\t23:59:00\t23:59:10\t10\t23:59:10\t0:01:10\t120\tAGENT\t0:01:10\t0:03:10\t120\tEYAL",
    # 6 inconsistent: vru_exit before vru_entry
    "AA0102\t6\t666\t2\tPS\t990103\t15:46:01\t15:45:24\t-37\t15:45:24\t15:46:41\t77\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
    # 7 phantom call
    "AA0102\t7\t777\t2\tPS\t990103\t10:19:09\t10:19:15\t6\t10:19:15\t10:19:31\t16\tPHANTOM\t10:19:30\t10:20:13\t43\tNO_SERVER",
    # 8 wrong number of fields
    "AA0102\t8\t888\t2\tPS\t990103\t10:19:09",
    # 9 unknown type
    "AA0102\t9\t0\t0\tAA\t990103\t11:00:00\t11:00:10\t10\t0:00:00\t0:00:00\t0\tAGENT\t11:00:10\t11:01:10\t60\tDANA",
    # 10 q_time disagrees with the clock times
    "AA0102\t10\t1\t2\tPS\t990103\t12:00:00\t12:00:06\t6\t12:00:06\t12:01:06\t99\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
    # 11 bad clock time
    "AA0102\t11\t1\t2\tPS\t990103\t25:00:00\t12:00:06\t6\t12:00:06\t12:01:06\t60\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER",
]


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    p = tmp_path / "calls_1999_january.txt.gz"
    with gzip.open(p, "wt") as f:
        f.write("\n".join([HEADER, *ROWS]) + "\n")
    return p


def test_parse_and_quarantine(log_file: Path) -> None:
    log = load_call_log(log_file)
    assert log.input_rows == len(ROWS)
    assert len(log.calls) + len(log.quarantine) == log.input_rows
    assert sorted(log.calls["call_id"].astype(int)) == [1, 2, 3, 4, 5]
    q = log.quarantine.set_index("row")
    assert set(q.index) == {6, 7, 8, 9, 10, 11}  # 1-based data rows
    assert "vru_exit before vru_entry" in q.loc[6, "reason"]
    assert "PHANTOM" in q.loc[7, "reason"]
    assert q.loc[8, "field"] == "row"
    assert q.loc[9, "field"] == "type"
    assert q.loc[10, "field"] == "q_time"
    assert q.loc[11, "field"] == "vru_entry"
    assert q.loc[6, "vru_time"] == "-37"  # raw values kept
    assert log.reconcile() == "input 11 = accepted 5 + quarantined 6"


def test_fields_timezone_and_midnight(log_file: Path) -> None:
    c = load_call_log(log_file).calls.set_index("call_id")
    assert str(c["arrived_at"].dtype) == "datetime64[ns, UTC]"
    # January in Israel is UTC+2
    assert c.loc["1", "arrived_at"] == pd.Timestamp("1999-01-03 07:00:00", tz="UTC")
    assert c.loc["1", "wait_seconds"] == 60 and c.loc["1", "service_seconds"] == 120
    assert bool(c.loc["1", "queued"]) and bool(c.loc["1", "served"])
    assert not c.loc["2", "queued"] and c.loc["2", "reached_queue"]
    assert c.loc["3", "abandoned"] and not c.loc["3", "served"]
    assert not c.loc["4", "reached_queue"] and not c.loc["4", "abandoned"]
    m = c.loc["5"]
    assert m["queue_exit_at"] - m["queue_start_at"] == pd.Timedelta(seconds=120)
    assert m["service_end_at"] == pd.Timestamp("1999-01-03 22:03:10", tz="UTC")  # 0:03:10 +2h
    assert m["service_end_at"] - m["arrived_at"] == pd.Timedelta(seconds=250)


def test_errors_and_months(tmp_path: Path, log_file: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_call_log(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("a b c\n1 2 3\n")
    with pytest.raises(InputError, match="header"):
        load_call_log(bad)
    assert find_call_files(tmp_path, ["1999-01"]) == [log_file]
    with pytest.raises(InputError, match="1999-02"):
        find_call_files(tmp_path, ["1999-02"])
    calls = load_call_log(log_file).calls
    assert len(restrict_months(calls, ["1999-01"])) == len(calls)
    assert restrict_months(calls, ["1999-02"]).empty


def test_real_january(shared_data: Path) -> None:
    files = find_call_files(shared_data / "callcenter_bank", ["1999-01"])
    log = load_call_log(files)
    assert log.input_rows == 31_599
    assert len(log.calls) + len(log.quarantine) == log.input_rows
    assert (log.quarantine["reason"] != "").all()
    c = log.calls
    q = c[c["queued"]]
    assert 40 <= q["wait_seconds"].median() <= 80  # README: median wait of queued calls ~60 s
    assert 0.18 <= q["abandoned"].mean() <= 0.30  # ~24% of queued calls abandon
    assert (c["service_seconds"].dropna() >= 0).all()
    assert (c["queue_exit_at"] >= c["queue_start_at"]).where(c["queued"], True).all()
