"""Score a CSV of one metric series, row by row, with the streaming anomaly detector.

Used by `grace-tui learn score FILE.csv [--out FILE]`. Input: a header with at
least the columns `timestamp` and `value` (any order, extra columns ignored).
Output: `timestamp,value,anomaly_score`, the timestamp and value kept as the
original text. Rows are processed as a stream: memory stays flat on big files.
"""
from __future__ import annotations

import csv
import math
from typing import TextIO

from grace_tui.errors import UserError
from grace_tui.learning.anomaly import AnomalyDetector

REQUIRED_COLUMNS = ("timestamp", "value")


def _column_indexes(header: list[str], name: str) -> tuple[int, int]:
    names = [h.strip().lower() for h in header]
    for column in REQUIRED_COLUMNS:
        if column not in names:
            raise UserError(f"{name}:1: missing column {column!r}")
    return names.index("timestamp"), names.index("value")


def _parse_value(text: str, name: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{name}:{line}: value {text!r} is not a number") from None
    if not math.isfinite(value):
        raise UserError(f"{name}:{line}: value {text!r} is not a finite number")
    return value


def score_csv(infile: TextIO, outfile: TextIO, name: str,
              detector: AnomalyDetector | None = None) -> int:
    """Write `timestamp,value,anomaly_score` for every row of `infile`; return the row count.

    `name` is used in error messages ("name:LINE: ..."). Raises UserError on bad input;
    rows before the bad one have already been written.
    """
    reader = csv.reader(infile)
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)  # tolerate blank lines before the header
    if header is None:
        raise UserError(f"{name}: empty file, expected a header 'timestamp,value'")
    ts_col, value_col = _column_indexes(header, name)
    need = max(ts_col, value_col) + 1
    det = detector if detector is not None else AnomalyDetector()
    writer = csv.writer(outfile, lineterminator="\n")
    writer.writerow(["timestamp", "value", "anomaly_score"])
    rows = 0
    for row in reader:
        line = reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < need:
            raise UserError(f"{name}:{line}: expected {len(header)} columns, got {len(row)}")
        ts_text, value_text = row[ts_col].strip(), row[value_col].strip()
        value = _parse_value(value_text, name, line)
        score = det.step(ts_text, value)
        writer.writerow([ts_text, value_text, repr(score)])  # exact: same NAB score as in-process
        rows += 1
    return rows
