import io

import pytest

from grace_tui.errors import UserError
from grace_tui.learning.score_csv import score_csv


def run(text: str, name: str = "m.csv") -> tuple[int, list[str]]:
    out = io.StringIO()
    rows = score_csv(io.StringIO(text), out, name)
    return rows, out.getvalue().splitlines()


def test_scores_every_row_and_keeps_original_text():
    body = "".join(f"2024-01-01 00:{i // 60:02d}:{i % 60:02d},{i % 7}.5\n" for i in range(300))
    rows, lines = run("timestamp,value\n" + body)
    assert rows == 300
    assert lines[0] == "timestamp,value,anomaly_score"
    assert len(lines) == 301
    first = lines[1].split(",")
    assert first[:2] == ["2024-01-01 00:00:00", "0.5"]
    for line in lines[1:]:
        assert 0.0 <= float(line.split(",")[2]) <= 1.0


def test_any_column_order_extra_columns_and_epoch_timestamps():
    rows, lines = run("host,value,timestamp\na,1.0,1700000000\nb,2.0,1700000060\n")
    assert rows == 2
    assert lines[1].split(",")[:2] == ["1700000000", "1.0"]


def test_header_only_gives_zero_rows():
    rows, lines = run("timestamp,value\n")
    assert rows == 0 and lines == ["timestamp,value,anomaly_score"]


def test_missing_column():
    with pytest.raises(UserError, match=r"^m\.csv:1: missing column 'value'$"):
        run("timestamp,val\n1,2\n")


def test_non_numeric_value_names_the_line():
    text = "timestamp,value\n" + "".join(f"{i},{i}\n" for i in range(15)) + "15,abc\n"
    with pytest.raises(UserError, match=r"^m\.csv:17: value 'abc' is not a number$"):
        run(text)


def test_empty_file():
    with pytest.raises(UserError, match=r"^-: empty file, expected a header 'timestamp,value'$"):
        run("", name="-")


def test_short_row():
    with pytest.raises(UserError, match=r"^m\.csv:3: "):
        run("timestamp,value\n1,2\n3\n")


def test_user_error_exit_code_is_1():
    with pytest.raises(UserError) as info:
        run("")
    assert info.value.exit_code == 1
