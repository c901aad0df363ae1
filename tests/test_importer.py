"""The importer: a team's export (Chinese headers, text ids, local times, GBK, Excel) into the data contract.

The two shipped templates (``data/templates/cn_collection_export`` and ``us_dialer_export``) are written by
:func:`cn_template_files`, :func:`us_template_files` and :func:`write_us_workbook` below; ``test_templates_are_up_to_date`` checks the
committed files against them (run ``PYTHONPATH=. python tests/test_importer.py`` to rewrite them).
"""

from __future__ import annotations

import json
import math
import random
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import cli

from analysis.data import contract, io
from analysis.data.importer import ImportProblemError, MappingError, import_export
from analysis.decide import compare
from analysis.measures.costs import UnitCosts

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "data" / "templates"
CN = TEMPLATES / "cn_collection_export"
US = TEMPLATES / "us_dialer_export"


# ---------------------------------------------------------------------------
# The templates (small, deterministic)
# ---------------------------------------------------------------------------


def _csv_text(header: list[str], rows: list[list]) -> str:
    import csv
    import io as _io

    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


CN_MAPPING = """\
# 催收系统导出 -> data contract. Documented in data/import_mapping.md.
name = "cn_collection_export"
description = "A Chinese collection system's export: loans, call/SMS log, repayments, complaints, stop requests."
time_zone = "Asia/Shanghai"          # the export's clock times are Beijing time
timestamp_formats = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"]
date_formats = ["%Y/%m/%d", "%Y-%m-%d"]
thousands = ","                      # amounts such as "1,250.00"
scenario = "cn_default"              # unit costs for compare/recommend

[values.strategy]
"短信" = "sms_only"
"人工外呼" = "phone_only"
"短信+人工" = "sms_then_phone"
"智能语音" = "ai_voice"
"智能语音+人工" = "ai_then_phone"

[values.channel]
"短信" = "sms"
"人工外呼" = "phone"
"智能语音" = "ai_voice"
"全部" = "all"                       # opt-outs only

[values.product]
"现金贷" = "cash_loan"
"消费分期" = "consumer_installment"

[values.delivered]
"发送成功" = true
"发送失败" = false

[values.category]
"频繁催收" = "frequency"
"非合理时间" = "time_of_day"
"拒绝后仍联系" = "after_stop_request"
"告知第三方" = "third_party_disclosure"
"态度问题" = "tone"
"其他" = "other"

[tables.accounts]
file = "借据信息.csv"                 # UTF-8 with BOM (encoding detected)

[tables.accounts.columns]
account_id = "借据号"
entry_date = "入催日期"
product = "产品类型"
currency = { value = "CNY" }
balance_due = "逾期金额"
days_past_due = "逾期天数"
# dpd_bucket: derived from days_past_due; time_zone: the time_zone above
risk_score = "风险评分"
region = "区域"
segment = "分群"
strategy = "催收策略"
assignment = { value = "randomised" }
assignment_probability = "分配概率"

[tables.contacts]
file = "催收记录.csv"
encoding = "gb18030"

[tables.contacts.columns]
contact_id = "记录编号"
account_id = "借据号"
channel = "催收方式"
contacted_at = "催收时间"
delivered = "短信状态"
sms_segments = "短信条数"
connected = "是否接通"
right_party = "本人接听"
talk_seconds = "通话时长(秒)"
promise_to_pay = "承诺还款"

[tables.payments]
file = "还款流水.csv"                 # GBK text, detected; no payment number: ids from the row's content

[tables.payments.columns]
account_id = "借据号"
paid_at = "还款时间"
amount = "还款金额"

[tables.complaints]
file = "投诉记录.csv"

[tables.complaints.columns]
complaint_id = "投诉单号"
account_id = "借据号"
contact_id = "关联记录编号"
complained_at = "投诉时间"
channel = "投诉渠道"
category = "投诉类型"
escalated = "是否升级监管"

[tables.opt_outs]
file = "停催申请.csv"

[tables.opt_outs.columns]
opt_out_id = "申请编号"
account_id = "借据号"
requested_at = "申请时间"
channel = "停催渠道"
"""

_CN_STRATEGY = {
    "sms_only": "短信",
    "phone_only": "人工外呼",
    "sms_then_phone": "短信+人工",
    "ai_voice": "智能语音",
    "ai_then_phone": "智能语音+人工",
}
_CN_CHANNEL = {"sms": "短信", "phone": "人工外呼", "ai_voice": "智能语音", "all": "全部"}
_CN_CATEGORY = {"frequency": "频繁催收", "time_of_day": "非合理时间", "tone": "态度问题", "other": "其他"}


def _yn(b) -> str:
    return "" if b is None else ("是" if b else "否")


def cn_template_files() -> dict[str, bytes]:
    """The Chinese template's files (name -> bytes)."""
    rng = random.Random(20260302)
    regions = ["华东", "华北", "华南", "西部"]
    accounts, contacts, payments, complaints, opt_outs = [], [], [], [], []
    cid = 0
    for k in range(1, 31):
        loan = f"JD2026{k * 7919 % 100000:06d}"
        entry = date(2026, 3, 2) + timedelta(days=rng.randrange(5))
        dpd = rng.choice([3, 8, 15, 22, 29, 35, 47, 58, 66, 90])
        bucket = contract.dpd_bucket(dpd)
        risk = None if k % 11 == 0 else round(rng.uniform(0.05, 0.95), 3)
        strategy = list(_CN_STRATEGY)[k % 5]
        balance = round(rng.uniform(300, 12000), 2)
        accounts.append(
            [
                loan,
                entry.strftime("%Y/%m/%d"),
                rng.choice(["现金贷", "消费分期"]),
                f"{balance:,.2f}",
                dpd,
                "" if risk is None else risk,
                rng.choice(regions),
                f"{bucket}-{'高' if (risk or 0) > 0.5 else '低'}",
                _CN_STRATEGY[strategy],
                "0.2",
            ]
        )
        plan = {
            "sms_only": ["sms"] * 2,
            "phone_only": ["phone"] * 2,
            "sms_then_phone": ["sms", "phone"],
            "ai_voice": ["ai_voice"] * 2,
            "ai_then_phone": ["ai_voice", "phone"],
        }[strategy]
        first_call = None
        for day, ch in enumerate(plan):
            cid += 1
            when = datetime.combine(entry + timedelta(days=day * 2), datetime.min.time()) + timedelta(
                hours=rng.randrange(9, 19), minutes=rng.randrange(60), seconds=rng.randrange(60)
            )
            stamp = when.strftime("%Y-%m-%d %H:%M:%S") if cid % 4 else when.strftime("%Y/%m/%d %H:%M")
            rec = f"CR{cid:07d}"
            if ch == "sms":
                ok = rng.random() < 0.9
                contacts.append(
                    [
                        rec,
                        loan,
                        "短信",
                        stamp,
                        "发送成功" if ok else "发送失败",
                        rng.choice([1, 1, 2]),
                        "",
                        "",
                        "",
                        "否",
                    ]
                )
            else:
                conn = rng.random() < 0.6
                rpc = conn and rng.random() < 0.8
                talk = rng.randrange(20, 240) if conn else 0
                ptp = rpc and rng.random() < 0.4
                contacts.append([rec, loan, _CN_CHANNEL[ch], stamp, "", "", _yn(conn), _yn(rpc), talk, _yn(ptp)])
                first_call = first_call or (rec, when, ch)
        if rng.random() < 0.45:
            shares = rng.choice([[1.0], [0.5], [0.3, 0.7]])  # never more than the overdue amount
            day = 0
            for share in shares:
                day = rng.randrange(day + 1, day + 10)
                when = datetime.combine(entry + timedelta(days=day), datetime.min.time()) + timedelta(
                    hours=rng.randrange(0, 24), minutes=rng.randrange(60), seconds=rng.randrange(60)
                )
                payments.append([loan, when.strftime("%Y-%m-%d %H:%M:%S"), f"{balance * share:.2f}"])
        if first_call and k % 6 == 0:
            rec, when, ch = first_call
            cat = list(_CN_CATEGORY)[k % 4]
            complaints.append(
                [
                    f"TS{k:05d}",
                    loan,
                    rec if k % 12 else "",
                    (when + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"),
                    _CN_CHANNEL[ch],
                    _CN_CATEGORY[cat],
                    _yn(k % 18 == 0),
                ]
            )
        if k % 7 == 0:
            opt_outs.append(
                [
                    f"TC{k:05d}",
                    loan,
                    (datetime.combine(entry, datetime.min.time()) + timedelta(days=1, hours=10)).strftime(
                        "%Y-%m-%d %H:%M:%S"
                    ),
                    _CN_CHANNEL["sms" if k % 14 else "all"],
                ]
            )
    files = {
        "借据信息.csv": _csv_text(
            [
                "借据号",
                "入催日期",
                "产品类型",
                "逾期金额",
                "逾期天数",
                "风险评分",
                "区域",
                "分群",
                "催收策略",
                "分配概率",
            ],
            accounts,
        ).encode("utf-8-sig"),
        "催收记录.csv": _csv_text(
            [
                "记录编号",
                "借据号",
                "催收方式",
                "催收时间",
                "短信状态",
                "短信条数",
                "是否接通",
                "本人接听",
                "通话时长(秒)",
                "承诺还款",
            ],
            contacts,
        ).encode("gb18030"),
        "还款流水.csv": _csv_text(["借据号", "还款时间", "还款金额"], payments).encode("gb18030"),
        "投诉记录.csv": _csv_text(
            ["投诉单号", "借据号", "关联记录编号", "投诉时间", "投诉渠道", "投诉类型", "是否升级监管"], complaints
        ).encode("utf-8-sig"),
        "停催申请.csv": _csv_text(["申请编号", "借据号", "申请时间", "停催渠道"], opt_outs).encode("utf-8"),
        "mapping.toml": CN_MAPPING.encode("utf-8"),
    }
    return files


US_MAPPING = """\
# US dialer + SMS gateway export -> data contract. Documented in data/import_mapping.md.
name = "us_dialer_export"
time_zone = "America/New_York"       # the dialer and the gateway log Eastern time, with DST
timestamp_formats = ["%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"]
dst = "earlier"                      # a clock time in the DST gap or overlap: the offset before the change
scenario = "us_default"

[values.strategy]
"SMS Only" = "sms_only"
"Call Only" = "phone_only"
"SMS then Call" = "sms_then_phone"

[values.product]
"Credit Card" = "credit_card"
"Personal Loan" = "personal_loan"

[values.disposition]                 # dialer dispositions: was the call answered?
"RPC" = true
"Third Party" = true
"No Answer" = false
"Busy" = false
"Voicemail" = false

[values.sms_status]
"delivered" = true
"undelivered" = false
"failed" = false

[values.reply]
"PTP" = true
"STOP" = false
"none" = false

[values.channel]
"Phone" = "phone"
"SMS" = "sms"
"All" = "all"

[values.category]
"Too many calls" = "frequency"
"Called at a bad time" = "time_of_day"
"Contacted after cease request" = "after_stop_request"
"Disclosed debt to third party" = "third_party_disclosure"
"Agent conduct" = "tone"
"Other" = "other"

[tables.accounts]
file = "collections_workbook.xlsx"
sheet = "Accounts"

[tables.accounts.columns]
account_id = "Account Number"
entry_date = "Placement Date"
product = "Product"
currency = { value = "USD" }
balance_due = "Past Due Amount"
days_past_due = "Days Delinquent"
risk_score = "Risk Score"
region = "Region"
time_zone = "Time Zone"
segment = "Segment"
strategy = "Treatment"
assignment = { value = "randomised" }

[[tables.contacts]]                  # two sources feed contacts: the dialer ...
file = "dialer_calls.csv"
id_prefix = "call:"

[tables.contacts.columns]
contact_id = "Call ID"
account_id = "Account Number"
channel = { value = "phone" }
contacted_at = "Call Start"
connected = { column = "Disposition", values = "disposition" }
right_party = "RPC"
talk_seconds = "Talk Time (s)"
promise_to_pay = "PTP"

[[tables.contacts]]                  # ... and the SMS gateway
file = "sms_gateway_log.csv"
id_prefix = "sms:"

[tables.contacts.columns]
contact_id = "Message SID"
account_id = "Account Number"
channel = { value = "sms" }
contacted_at = "Sent At (ET)"
delivered = { column = "Status", values = "sms_status" }
sms_segments = "Segments"
promise_to_pay = { column = "Reply Intent", values = "reply" }

[tables.payments]
file = "collections_workbook.xlsx"
sheet = "Payments"

[tables.payments.columns]
payment_id = "Payment Ref"
account_id = "Account Number"
paid_at = "Posted At"
amount = "Amount"

[tables.complaints]
file = "complaints.csv"

[tables.complaints.columns]
complaint_id = "Complaint #"
account_id = "Account Number"
contact_id = { column = "Call ID", prefix = "call:" }
complained_at = "Received"
channel = "Channel"
category = "Reason"
escalated = "CFPB"

[tables.opt_outs]                    # no request number: ids from the row's content
file = "opt_outs.csv"

[tables.opt_outs.columns]
account_id = "Account Number"
requested_at = "Requested At"
channel = "Channel"
"""

_US_ZONES = [
    ("NY", "America/New_York"),
    ("FL", "America/New_York"),
    ("TX", "America/Chicago"),
    ("IL", "America/Chicago"),
    ("CA", "America/Los_Angeles"),
]
_US_TREATMENT = {"sms_only": "SMS Only", "phone_only": "Call Only", "sms_then_phone": "SMS then Call"}


def us_template_data() -> dict:
    """The US template's tables as rows (the workbook's sheets and the CSV files)."""
    rng = random.Random(20260308)
    sheet_acc, sheet_pay, calls, sms, complaints, opt_outs = [], [], [], [], [], []
    n_call = n_sms = 0
    for k in range(1, 31):
        acct = f"ACCT-{100 + k * 37:06d}"
        entry = date(2026, 3, 2) + timedelta(days=rng.randrange(5))  # DST starts 2026-03-08 in the US
        dpd = rng.choice([5, 12, 20, 28, 33, 45, 61, 75])
        state, zone = _US_ZONES[k % 5]
        treat = list(_US_TREATMENT)[k % 3]
        bal = round(rng.uniform(150, 6000), 2)
        risk = round(rng.uniform(0.05, 0.9), 3)
        sheet_acc.append(
            [
                acct,
                entry,
                rng.choice(["Credit Card", "Personal Loan"]),
                bal,
                dpd,
                risk,
                state,
                zone,
                f"{contract.dpd_bucket(dpd)}-{'high' if risk > 0.5 else 'low'}",
                _US_TREATMENT[treat],
            ]
        )
        plan = {"sms_only": ["sms", "sms"], "phone_only": ["phone", "phone"], "sms_then_phone": ["sms", "phone"]}[treat]
        last_call = None
        for j, ch in enumerate(plan):
            when = datetime.combine(entry + timedelta(days=2 + j * 3), datetime.min.time()) + timedelta(
                hours=rng.randrange(10, 18), minutes=rng.randrange(60), seconds=rng.randrange(60)
            )
            if ch == "sms":
                n_sms += 1
                status = rng.choice(["delivered"] * 8 + ["undelivered", "failed"])
                last = j == len(plan) - 1 or plan[j + 1] != "sms"
                reply = "STOP" if k % 9 == 0 and last else rng.choice(["none"] * 6 + ["PTP"])
                sms.append(
                    [f"SM{n_sms:08x}", acct, when.strftime("%Y-%m-%d %H:%M:%S"), status, rng.choice([1, 1, 2]), reply]
                )
                if reply == "STOP":
                    opt_outs.append([acct, (when + timedelta(minutes=4)).strftime("%m/%d/%Y %H:%M:%S"), "SMS"])
            else:
                n_call += 1
                disp = rng.choice(["RPC", "RPC", "Third Party", "No Answer", "Busy", "Voicemail"])
                talk = (
                    rng.randrange(30, 400) if disp == "RPC" else (rng.randrange(10, 60) if disp == "Third Party" else 0)
                )
                ptp = "Y" if disp == "RPC" and rng.random() < 0.4 else "N"
                cid = f"{5_000_000 + n_call}"
                calls.append(
                    [cid, acct, when.strftime("%m/%d/%Y %H:%M:%S"), disp, "Y" if disp == "RPC" else "N", talk, ptp]
                )
                last_call = (cid, when)
        if rng.random() < 0.4:
            when = datetime.combine(entry + timedelta(days=rng.randrange(3, 15)), datetime.min.time()) + timedelta(
                hours=rng.randrange(7, 23), minutes=rng.randrange(60)
            )
            sheet_pay.append([f"PMT{len(sheet_pay) + 1:05d}", acct, when, round(bal * rng.choice([0.25, 1.0]), 2)])
        if last_call and k % 7 == 0:
            complaints.append(
                [
                    f"C-{k:04d}",
                    acct,
                    last_call[0],
                    (last_call[1] + timedelta(hours=2)).strftime("%m/%d/%Y %H:%M:%S"),
                    "Phone",
                    ["Too many calls", "Called at a bad time", "Agent conduct"][k % 3],
                    "Yes" if k == 14 else "No",
                ]
            )
    # payments posted in the night the clocks went forward and around it
    sheet_pay.append(["PMT90001", sheet_acc[0][0], datetime(2026, 3, 8, 1, 45), 50.0])
    sheet_pay.append(["PMT90002", sheet_acc[1][0], datetime(2026, 3, 8, 2, 30), 75.0])  # not a clock time in NY
    sheet_pay.append(["PMT90003", sheet_acc[2][0], datetime(2026, 3, 8, 3, 15), 20.0])
    opt_outs.append([sheet_acc[4][0], "03/10/2026 16:02:00", "All"])
    return {
        "accounts": sheet_acc,
        "payments": sheet_pay,
        "calls": calls,
        "sms": sms,
        "complaints": complaints,
        "opt_outs": opt_outs,
    }


US_ACCOUNT_HEADER = [
    "Account Number",
    "Placement Date",
    "Product",
    "Past Due Amount",
    "Days Delinquent",
    "Risk Score",
    "Region",
    "Time Zone",
    "Segment",
    "Treatment",
]
US_PAYMENT_HEADER = ["Payment Ref", "Account Number", "Posted At", "Amount"]


def write_us_workbook(path: Path, data: dict) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    ws.append(US_ACCOUNT_HEADER)
    for r in data["accounts"]:
        ws.append(r)
    ws2 = wb.create_sheet("Payments")
    ws2.append(US_PAYMENT_HEADER)
    for r in data["payments"]:
        ws2.append(r)
    notes = wb.create_sheet("Notes")
    notes.append(["Exported from the servicing platform; times are Eastern (ET)."])
    wb.save(path)


def us_template_files() -> dict[str, bytes]:
    """The US template's text files (the workbook is written by :func:`write_us_workbook`)."""
    d = us_template_data()
    return {
        "dialer_calls.csv": _csv_text(
            ["Call ID", "Account Number", "Call Start", "Disposition", "RPC", "Talk Time (s)", "PTP"], d["calls"]
        ).encode("utf-8"),
        "sms_gateway_log.csv": _csv_text(
            ["Message SID", "Account Number", "Sent At (ET)", "Status", "Segments", "Reply Intent"], d["sms"]
        ).encode("utf-8"),
        "complaints.csv": _csv_text(
            ["Complaint #", "Account Number", "Call ID", "Received", "Channel", "Reason", "CFPB"], d["complaints"]
        ).encode("utf-8"),
        "opt_outs.csv": _csv_text(["Account Number", "Requested At", "Channel"], d["opt_outs"]).encode("utf-8"),
        "mapping.toml": US_MAPPING.encode("utf-8"),
    }


def write_templates() -> None:
    CN.mkdir(parents=True, exist_ok=True)
    US.mkdir(parents=True, exist_ok=True)
    for name, data in cn_template_files().items():
        (CN / name).write_bytes(data)
    for name, data in us_template_files().items():
        (US / name).write_bytes(data)
    write_us_workbook(US / "collections_workbook.xlsx", us_template_data())


def _copy(folder: Path, tmp: Path) -> Path:
    dst = tmp / folder.name
    shutil.copytree(folder, dst)
    return dst


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------
# Templates import end to end
# ---------------------------------------------------------------------------


def test_templates_are_up_to_date():
    for name, data in cn_template_files().items():
        assert (CN / name).read_bytes() == data, f"{name} differs: run PYTHONPATH=. python tests/test_importer.py"
    for name, data in us_template_files().items():
        assert (US / name).read_bytes() == data, f"{name} differs: run PYTHONPATH=. python tests/test_importer.py"
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(US / "collections_workbook.xlsx", read_only=True)
    d = us_template_data()
    got = [list(r) for r in wb["Accounts"].iter_rows(values_only=True)]
    assert got == [US_ACCOUNT_HEADER] + [
        [datetime.combine(v, datetime.min.time()) if isinstance(v, date) else v for v in r] for r in d["accounts"]
    ]
    assert len(list(wb["Payments"].iter_rows(values_only=True))) == len(d["payments"]) + 1
    wb.close()


def test_cn_template_encodings_are_as_documented():
    assert (CN / "借据信息.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    raw = (CN / "催收记录.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "催收方式" in raw.decode("gb18030")


def test_cn_template_imports(tmp_path):
    out = tmp_path / "cn"
    res = import_export(CN, CN / "mapping.toml", out, progress=False)
    ds = io.load(out)
    assert res.path == out.resolve() and res.row_counts["accounts"] == 30
    assert res.row_counts == {k: int(ds[k].count().execute()) for k in contract.TABLES}
    assert ds.currency == "CNY"
    acc = ds["accounts"].order_by("account_id").execute()
    assert acc["account_id"].tolist() == list(range(1, 31))
    assert set(acc["strategy"]) == set(_CN_STRATEGY)
    assert set(acc["time_zone"]) == {"Asia/Shanghai"}
    ids = pd.read_csv(out / "id_maps" / "account_id.csv", dtype=str)
    assert ids["source_id"].iloc[0].startswith("JD2026") and ids["id"].tolist() == [str(i) for i in range(1, 31)]
    con = ds["contacts"].execute()
    assert set(con["channel"]) == {"sms", "phone", "ai_voice"}
    # the first contact of the file: local Beijing time, stored in UTC
    src = pd.read_csv(CN / "催收记录.csv", encoding="gb18030", dtype=str)
    first = con.set_index("contact_id").loc[1]
    assert pd.Timestamp(src["催收时间"].iloc[0]).tz_localize("Asia/Shanghai") == first["contacted_at"]
    # sms rows have no call outcome, calls no delivery
    assert con.loc[con.channel == "sms", "connected"].isna().all()
    assert con.loc[con.channel != "sms", "delivered"].isna().all()
    # balances with thousands separators
    raw_acc = pd.read_csv(CN / "借据信息.csv", encoding="utf-8-sig", dtype=str)
    assert acc["balance_due"].iloc[0] == float(raw_acc["逾期金额"].iloc[0].replace(",", ""))
    assert acc["dpd_bucket"].tolist() == list(contract.dpd_bucket(acc["days_past_due"].to_numpy()))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"] == "import" and manifest["strategies"] == [] and manifest["scenario"] == "cn_default"
    assert res.new_ids["account_id"] == 30 and res.new_ids["payment_id"] == res.row_counts["payments"]


def test_us_template_imports_with_dst(tmp_path):
    pytest.importorskip("openpyxl")
    out = tmp_path / "us"
    res = import_export(US, US / "mapping.toml", out, progress=False)
    ds = io.load(out)
    assert ds.currency == "USD" and res.row_counts["accounts"] == 30
    con = ds["contacts"].execute()
    assert set(con["channel"]) == {"sms", "phone"}
    d = us_template_data()
    assert len(con) == len(d["calls"]) + len(d["sms"])
    # Eastern time before and after the change to daylight time on 2026-03-08
    ts = sorted(con["contacted_at"])
    offsets = {t.tz_convert("America/New_York").utcoffset() for t in ts}
    assert offsets == {timedelta(hours=-5), timedelta(hours=-4)}
    pay = ds["payments"].execute().set_index("payment_id")
    ids = pd.read_csv(out / "id_maps" / "payment_id.csv", dtype=str).set_index("source_id")["id"].astype(int)
    at = {ref: pay.loc[ids[ref], "paid_at"] for ref in ("PMT90001", "PMT90002", "PMT90003")}
    assert at["PMT90001"] == pd.Timestamp("2026-03-08 06:45", tz="UTC")  # 01:45 EST
    assert at["PMT90002"] == pd.Timestamp("2026-03-08 07:30", tz="UTC")  # 02:30 does not exist: read as EST
    assert at["PMT90003"] == pd.Timestamp("2026-03-08 07:15", tz="UTC")  # 03:15 EDT
    acc = ds["accounts"].execute()
    assert set(acc["time_zone"]) == {z for _, z in _US_ZONES}
    contacts_ids = pd.read_csv(out / "id_maps" / "contact_id.csv", dtype=str)
    assert contacts_ids["source_id"].str.match(r"^(call|sms):").all()
    com = ds["complaints"].execute()
    assert com["contact_id"].notna().all() and set(com["contact_id"]) <= set(con["contact_id"])


def test_a_repeated_hour_reads_as_the_first(tmp_path):
    pytest.importorskip("openpyxl")
    src = _copy(US, tmp_path)
    log = src / "sms_gateway_log.csv"
    account = us_template_data()["sms"][0][1]
    log.write_text(
        log.read_text(encoding="utf-8") + f"SMfallback,{account},2026-11-01 01:30:00,delivered,1,none\r\n",
        encoding="utf-8",
    )
    import_export(src, src / "mapping.toml", tmp_path / "out", progress=False)
    ids = pd.read_csv(tmp_path / "out" / "id_maps" / "contact_id.csv", dtype=str).set_index("source_id")["id"]
    con = pq.read_table(tmp_path / "out" / "contacts.parquet").to_pandas().set_index("contact_id")
    assert con.loc[int(ids["sms:SMfallback"]), "contacted_at"] == pd.Timestamp("2026-11-01 05:30", tz="UTC")  # EDT


def test_src_may_be_one_file(tmp_path):
    pytest.importorskip("openpyxl")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(US_MAPPING.replace('file = "collections_workbook.xlsx"\n', ""), encoding="utf-8")
    res = import_export(US / "collections_workbook.xlsx", mapping, tmp_path / "out", progress=False)
    assert res.row_counts["accounts"] == 30 and res.row_counts["payments"] == len(us_template_data()["payments"])
    with pytest.raises(MappingError, match="no file"):
        import_export(US, mapping, tmp_path / "out2", progress=False)


def test_dst_error_rule_reports_the_gap(tmp_path):
    pytest.importorskip("openpyxl")
    src = _copy(US, tmp_path)
    mapping = src / "mapping.toml"
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace('dst = "earlier"', 'dst = "error"'), encoding="utf-8"
    )
    with pytest.raises(ImportProblemError) as e:
        import_export(src, mapping, tmp_path / "out", progress=False)
    [p] = e.value.problems
    row = 2 + [r[0] for r in us_template_data()["payments"]].index("PMT90002")
    assert p.column == "Posted At" and p.rows == (row,) and "collections_workbook.xlsx" in p.file
    assert "do not exist or occur twice" in str(e.value) and not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# Round trip: a generated dataset exported as a Chinese GBK export and imported back
# ---------------------------------------------------------------------------

_RT_MAPPING = """
time_zone = "Asia/Shanghai"
timestamp_formats = ["%Y-%m-%d %H:%M:%S"]
date_formats = ["%Y-%m-%d"]
encoding = "gbk"
[values.channel]
"短信" = "sms"
"人工外呼" = "phone"
"智能语音" = "ai_voice"
[values.strategy]
"短信" = "sms_only"
"人工外呼" = "phone_only"
"短信+人工" = "sms_then_phone"
"智能语音" = "ai_voice"
"智能语音+人工" = "ai_then_phone"
"不催收" = "no_contact"
[values.category]
"频繁催收" = "frequency"
"非合理时间" = "time_of_day"
"拒绝后仍联系" = "after_stop_request"
"告知第三方" = "third_party_disclosure"
"态度问题" = "tone"
"其他" = "other"
[values.opt_channel]
"短信" = "sms"
"人工外呼" = "phone"
"智能语音" = "ai_voice"
"全部" = "all"

[tables.accounts]
file = "账户.csv"
[tables.accounts.columns]
account_id = "借据号"
entry_date = "入催日期"
product = "产品"
currency = "币种"
balance_due = "逾期金额"
days_past_due = "逾期天数"
dpd_bucket = "账龄"
risk_score = "风险评分"
region = "区域"
time_zone = "时区"
segment = "分群"
strategy = "催收策略"
assignment = "分配方式"
assignment_probability = "分配概率"

[tables.contacts]
file = "催收记录.csv"
[tables.contacts.columns]
contact_id = "记录编号"
account_id = "借据号"
channel = "催收方式"
contacted_at = "催收时间"
delivered = "送达"
sms_segments = "短信条数"
connected = "接通"
right_party = "本人"
talk_seconds = "通话秒数"
promise_to_pay = "承诺还款"

[tables.payments]
file = "还款.csv"
[tables.payments.columns]
payment_id = "流水号"
account_id = "借据号"
paid_at = "还款时间"
amount = "金额"

[tables.complaints]
file = "投诉.csv"
[tables.complaints.columns]
complaint_id = "投诉单号"
account_id = "借据号"
contact_id = "记录编号"
complained_at = "投诉时间"
channel = "渠道"
category = "类型"
escalated = "升级"

[tables.opt_outs]
file = "停催.csv"
[tables.opt_outs.columns]
opt_out_id = "申请编号"
account_id = "借据号"
requested_at = "申请时间"
channel = { column = "渠道", values = "opt_channel" }
"""

_RT_COLUMNS = {
    "accounts": (
        "账户.csv",
        {
            "account_id": "借据号",
            "entry_date": "入催日期",
            "product": "产品",
            "currency": "币种",
            "balance_due": "逾期金额",
            "days_past_due": "逾期天数",
            "dpd_bucket": "账龄",
            "risk_score": "风险评分",
            "region": "区域",
            "time_zone": "时区",
            "segment": "分群",
            "strategy": "催收策略",
            "assignment": "分配方式",
            "assignment_probability": "分配概率",
        },
    ),
    "contacts": (
        "催收记录.csv",
        {
            "contact_id": "记录编号",
            "account_id": "借据号",
            "channel": "催收方式",
            "contacted_at": "催收时间",
            "delivered": "送达",
            "sms_segments": "短信条数",
            "connected": "接通",
            "right_party": "本人",
            "talk_seconds": "通话秒数",
            "promise_to_pay": "承诺还款",
        },
    ),
    "payments": ("还款.csv", {"payment_id": "流水号", "account_id": "借据号", "paid_at": "还款时间", "amount": "金额"}),
    "complaints": (
        "投诉.csv",
        {
            "complaint_id": "投诉单号",
            "account_id": "借据号",
            "contact_id": "记录编号",
            "complained_at": "投诉时间",
            "channel": "渠道",
            "category": "类型",
            "escalated": "升级",
        },
    ),
    "opt_outs": (
        "停催.csv",
        {"opt_out_id": "申请编号", "account_id": "借据号", "requested_at": "申请时间", "channel": "渠道"},
    ),
}
_RT_PREFIX = {"account_id": "JD", "contact_id": "CR", "payment_id": "LS", "complaint_id": "TS", "opt_out_id": "TC"}


def _export_chinese(folder: Path, out: Path, rows: slice | None = None) -> Path:
    """Write a contract dataset as a Chinese export: GBK CSV, text ids, Beijing clock times, 是/否."""
    out.mkdir(parents=True, exist_ok=True)
    to_cn = {**{v: k for k, v in {"短信": "sms", "人工外呼": "phone", "智能语音": "ai_voice", "全部": "all"}.items()}}
    strat = {
        v: k
        for k, v in {
            "短信": "sms_only",
            "人工外呼": "phone_only",
            "短信+人工": "sms_then_phone",
            "智能语音": "ai_voice",
            "智能语音+人工": "ai_then_phone",
            "不催收": "no_contact",
        }.items()
    }
    cat = {
        "frequency": "频繁催收",
        "time_of_day": "非合理时间",
        "after_stop_request": "拒绝后仍联系",
        "third_party_disclosure": "告知第三方",
        "tone": "态度问题",
        "other": "其他",
    }
    for table, (name, cols) in _RT_COLUMNS.items():
        df = pq.read_table(folder / f"{table}.parquet").to_pandas()
        if table == "accounts" and rows is not None:
            df = df.iloc[rows]
        keep = set(df["account_id"]) if table == "accounts" else None
        cells = {}
        for col, head in cols.items():
            c = contract.TABLES[table].column(col)
            s = df[col]
            if col.endswith("_id") and c.dtype == "int64":
                text = s.map(lambda v, p=_RT_PREFIX[col]: "" if pd.isna(v) else f"{p}{int(v):08d}")
            elif c.dtype == "timestamp":
                text = s.dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M:%S")
            elif c.dtype == "float64":
                text = s.map(lambda v: "" if pd.isna(v) else repr(float(v)))
            elif c.dtype == "bool":
                text = s.map(lambda v: "" if v is None or pd.isna(v) else ("是" if v else "否"))
            elif c.dtype.startswith("int"):
                text = s.map(lambda v: "" if pd.isna(v) else str(int(v)))
            elif col == "channel":
                text = s.map(to_cn)
            elif col == "strategy":
                text = s.map(strat)
            elif col == "category":
                text = s.map(cat)
            else:
                text = s.astype(str)
            cells[head] = text.tolist()
        frame = pd.DataFrame(cells)
        if keep is None and rows is not None:
            accounts = pq.read_table(folder / "accounts.parquet").to_pandas().iloc[rows]
            ok = set(f"JD{int(v):08d}" for v in accounts["account_id"])
            frame = frame[frame["借据号"].isin(ok)]
        frame.to_csv(out / name, index=False, encoding="gbk")
    (out / "mapping.toml").write_text(_RT_MAPPING, encoding="utf-8")
    return out


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_round_trip_gives_the_same_comparison(tmp_path, synthetic):
    gen = synthetic("cn_default", accounts=2_000, seed=3, truth_accounts=500).path
    src = _export_chinese(gen, tmp_path / "export")
    out = tmp_path / "imported"
    res = import_export(src, src / "mapping.toml", out, progress=False)
    original, imported = io.load(gen), io.load(out)
    assert res.row_counts == {k: int(original[k].count().execute()) for k in contract.TABLES}
    assert res.row_counts["complaints"] > 0 and res.row_counts["opt_outs"] > 0
    costs = UnitCosts.from_scenario("cn_default")
    for kw in ({}, {"by": ("segment",)}):
        a = compare.headline(original, costs=costs, **kw)
        b = compare.headline(imported, costs=costs, **kw)
        assert len(a) == len(b) > 0
        for ra, rb in zip(a, b):
            assert ra.keys() == rb.keys()
            bad = {k: (ra[k], rb[k]) for k in ra if not _close(ra[k], rb[k])}
            assert not bad, bad
    # every value survives, up to the renumbering of the ids (first seen, first numbered)
    for table in contract.TABLES:
        x = pq.read_table(gen / f"{table}.parquet").to_pandas()
        y = pq.read_table(out / f"{table}.parquet").to_pandas()
        key = contract.TABLES[table].key[0]
        maps = {}
        for kind in ("account_id", "contact_id", key):
            if (out / "id_maps" / f"{kind}.csv").exists():
                m = pd.read_csv(out / "id_maps" / f"{kind}.csv", dtype=str)
                maps[kind] = dict(zip(m["id"].astype(int), m["source_id"].str[2:].astype(int)))
        for col in y.columns:
            if col in maps:
                y[col] = y[col].map(lambda v, m=maps[col]: None if pd.isna(v) else m[v])
        x = x.sort_values(key).reset_index(drop=True)
        y = y.sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(x, y, check_dtype=False, obj=table)


# ---------------------------------------------------------------------------
# Id maps
# ---------------------------------------------------------------------------


def test_ids_are_stable_across_imports(tmp_path, synthetic):
    gen = synthetic("cn_default", accounts=300, seed=3).path
    out = tmp_path / "imported"
    a = _export_chinese(gen, tmp_path / "a", rows=slice(0, 200))
    b = _export_chinese(gen, tmp_path / "b", rows=slice(100, 300))
    first = import_export(a, a / "mapping.toml", out, progress=False)
    map_a = pd.read_csv(out / "id_maps" / "account_id.csv", dtype=str).set_index("source_id")["id"]
    assert first.new_ids["account_id"] == 200 and first.reused_ids["account_id"] == 0
    second = import_export(b, b / "mapping.toml", out, progress=False)
    map_b = pd.read_csv(out / "id_maps" / "account_id.csv", dtype=str).set_index("source_id")["id"]
    assert second.new_ids["account_id"] == 100 and second.reused_ids["account_id"] == 100
    assert map_b[map_a.index].tolist() == map_a.tolist()  # every account of A keeps its integer
    assert sorted(map_b.astype(int)) == list(range(1, 301))
    acc = io.load(out)["accounts"].execute()
    assert len(acc) == 200 and set(acc["account_id"]) == set(map_b[map_b.astype(int) > 0].astype(int)) & set(
        acc["account_id"]
    )
    raw = pd.read_csv(b / "账户.csv", encoding="gbk", dtype=str)
    overlap = raw["借据号"].iloc[0]  # in both exports
    assert overlap in map_a.index and int(map_b[overlap]) in set(acc["account_id"])
    # the same import again: nothing new
    third = import_export(b, b / "mapping.toml", out, progress=False)
    assert set(third.new_ids.values()) == {0}


def test_ids_option_starts_from_another_folder(tmp_path):
    first = import_export(CN, CN / "mapping.toml", tmp_path / "one", progress=False)
    again = import_export(CN, CN / "mapping.toml", tmp_path / "two", progress=False, ids=tmp_path / "one" / "id_maps")
    assert first.new_ids["account_id"] == 30 and again.new_ids["account_id"] == 0
    assert _files(tmp_path / "one")["accounts.parquet"] == _files(tmp_path / "two")["accounts.parquet"]


def test_integer_ids_pass_through(tmp_path, synthetic):
    gen = synthetic("cn_default", accounts=300, seed=3).path
    src = _export_chinese(gen, tmp_path / "export")
    for _name, (file, cols) in _RT_COLUMNS.items():
        df = pd.read_csv(src / file, encoding="gbk", dtype=str, keep_default_na=False)
        for col, head in cols.items():
            if col in _RT_PREFIX:
                df[head] = df[head].str[2:].map(lambda v: str(int(v)) if v else "")
        df.to_csv(src / file, index=False, encoding="gbk")
    mapping = src / "mapping.toml"
    mapping.write_text('ids = "integer"\n' + _RT_MAPPING, encoding="utf-8")
    res = import_export(src, mapping, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "id_maps").exists() and set(res.new_ids.values()) == {0}
    x = pq.read_table(gen / "contacts.parquet").to_pandas()
    y = pq.read_table(tmp_path / "out" / "contacts.parquet").to_pandas()
    assert x["contact_id"].tolist() == y["contact_id"].tolist() and x["account_id"].tolist() == y["account_id"].tolist()


# ---------------------------------------------------------------------------
# Problems: one clear message each, nothing written
# ---------------------------------------------------------------------------


def _cn_copy(tmp_path) -> Path:
    return _copy(CN, tmp_path)


def _edit_csv(path: Path, encoding: str, edit) -> None:
    text = path.read_bytes().decode(encoding)
    path.write_bytes(edit(text).encode(encoding))


def _fails(src: Path, out: Path, mapping: Path | None = None) -> ImportProblemError:
    before = _files(out) if out.exists() else None
    with pytest.raises(ImportProblemError) as e:
        import_export(src, mapping or src / "mapping.toml", out, progress=False)
    if before is None:
        assert not out.exists()
        assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    else:
        assert _files(out) == before
    return e.value


def test_unknown_source_column(tmp_path):
    src = _cn_copy(tmp_path)
    _edit_csv(src / "催收记录.csv", "gb18030", lambda t: t.replace("催收方式", "联系方式", 1))
    err = _fails(src, tmp_path / "out")
    [p] = err.problems
    assert p.file == "催收记录.csv" and p.column == "催收方式"
    text = str(err)
    assert "催收记录.csv" in text and "'催收方式'" in text and "'联系方式'" in text and "'催收时间'" in text


def test_unmapped_channel_value(tmp_path):
    src = _cn_copy(tmp_path)
    lines = (src / "催收记录.csv").read_bytes().decode("gb18030").split("\r\n")
    lines[3] = lines[3].replace(",短信,", ",微信,").replace(",人工外呼,", ",微信,").replace(",智能语音,", ",微信,")
    lines[7] = lines[7].replace(",短信,", ",微信,").replace(",人工外呼,", ",微信,").replace(",智能语音,", ",微信,")
    (src / "催收记录.csv").write_bytes("\r\n".join(lines).encode("gb18030"))
    err = _fails(src, tmp_path / "out")
    [p] = err.problems
    assert p.file == "催收记录.csv" and p.column == "催收方式" and p.rows == (3, 7) and p.values == ("微信",)
    text = str(err)
    assert "'微信'" in text and "'短信', '人工外呼', '智能语音'" in text and "rows: 3, 7" in text
    assert "[values.channel]" in text


def test_ambiguous_encoding(tmp_path):
    src = _cn_copy(tmp_path)
    # English headers, GBK values: the header cannot confirm the encoding
    _edit_csv(
        src / "还款流水.csv",
        "gb18030",
        lambda t: t.replace("借据号,还款时间,还款金额", "loan,paid,amount", 1).replace("JD", "借据"),
    )
    mapping = src / "mapping.toml"
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace(
            'account_id = "借据号"\npaid_at = "还款时间"\namount = "还款金额"',
            'account_id = "loan"\npaid_at = "paid"\namount = "amount"',
        ),
        encoding="utf-8",
    )
    err = _fails(src, tmp_path / "out")
    [p] = err.problems
    assert p.file == "还款流水.csv" and "ambiguous encoding" in p.message and "encoding" in p.accepted
    assert "还款流水.csv" in str(err)
    # declaring it resolves it (the loan numbers then do not match the accounts: reported as such)
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace('file = "还款流水.csv"', 'file = "还款流水.csv"\nencoding = "gbk"'),
        encoding="utf-8",
    )
    err = _fails(src, tmp_path / "out")
    assert [p.column for p in err.problems] == ["loan"] and "not in the export's accounts" in err.problems[0].message


def test_timestamp_that_does_not_parse(tmp_path):
    src = _cn_copy(tmp_path)
    lines = (src / "催收记录.csv").read_bytes().decode("gb18030").split("\r\n")
    stamp = lines[5].split(",")[3]
    lines[5] = lines[5].replace(stamp, "2026年3月5日 10点")
    (src / "催收记录.csv").write_bytes("\r\n".join(lines).encode("gb18030"))
    err = _fails(src, tmp_path / "out")
    [p] = err.problems
    assert p.file == "催收记录.csv" and p.column == "催收时间" and p.rows == (5,)
    assert "'%Y-%m-%d %H:%M:%S'" in p.accepted and "'%Y/%m/%d %H:%M'" in p.accepted and "Asia/Shanghai" in p.accepted
    assert "'2026年3月5日 10点'" in str(err)


def test_duplicate_ids(tmp_path):
    src = _cn_copy(tmp_path)
    lines = (src / "借据信息.csv").read_bytes().decode("utf-8-sig").split("\r\n")
    loan2 = lines[2].split(",")[0]
    lines[9] = loan2 + lines[9][lines[9].index(",") :]
    (src / "借据信息.csv").write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    err = _fails(src, tmp_path / "out")
    dup = [p for p in err.problems if "share" in p.message]
    assert len(dup) == 1 and dup[0].file == "借据信息.csv" and dup[0].column == "借据号"
    assert dup[0].rows == (2, 9) and dup[0].values == (loan2,)
    assert "rows: 2, 9" in str(err)


def test_every_problem_is_reported_at_once(tmp_path):
    src = _cn_copy(tmp_path)
    _edit_csv(src / "借据信息.csv", "utf-8-sig", lambda t: t.replace("现金贷", "车贷", 1))
    _edit_csv(src / "停催申请.csv", "utf-8", lambda t: t.replace("全部", "所有渠道", 1))
    _edit_csv(src / "投诉记录.csv", "utf-8-sig", lambda t: t.replace("态度问题", "服务态度", 1))
    err = _fails(src, tmp_path / "out")
    assert {(p.file, p.column) for p in err.problems} == {
        ("借据信息.csv", "产品类型"),
        ("停催申请.csv", "停催渠道"),
        ("投诉记录.csv", "投诉类型"),
    }


def test_failed_reimport_leaves_the_earlier_import_as_it_was(tmp_path):
    out = tmp_path / "out"
    import_export(CN, CN / "mapping.toml", out, progress=False)
    src = _cn_copy(tmp_path)
    _edit_csv(src / "催收记录.csv", "gb18030", lambda t: t.replace("人工外呼", "微信", 1))
    _fails(src, out)


def test_output_folder_rules(tmp_path):
    import analysis.data.folders as folders

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(folders.FolderError):
        import_export(CN, CN / "mapping.toml", mine, progress=False, overwrite=True)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    from analysis.data import synth

    gen = tmp_path / "gen"
    synth.generate(scenario="cn_default", accounts=50, seed=1, out=gen, progress=False, truth_accounts=50)
    with pytest.raises(folders.FolderError, match="--overwrite"):
        import_export(CN, CN / "mapping.toml", gen, progress=False)
    assert (gen / "truth.json").exists()
    import_export(CN, CN / "mapping.toml", gen, progress=False, overwrite=True)
    assert not (gen / "truth.json").exists() and io.load(gen).currency == "CNY"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace('time_zone = "Asia/Shanghai"', 'time_zone = "Beijing"'), "not an IANA time zone"),
        (lambda t: t.replace('channel = "催收方式"', 'chanel = "催收方式"'), "unknown key(s) 'chanel'"),
        (lambda t: t.replace('"智能语音" = "ai_voice"', '"智能语音" = "robot"'), "'robot'"),
        (lambda t: t + "\n[broken", "not valid TOML"),
    ],
)
def test_bad_mapping(tmp_path, edit, message):
    src = _cn_copy(tmp_path)
    mapping = src / "mapping.toml"
    mapping.write_text(edit(mapping.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(MappingError, match=None) as e:
        import_export(src, mapping, tmp_path / "out", progress=False)
    assert message in str(e.value) and not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _cli(*args):
    """``python -m analysis import ARGS``, its main run in this process (conftest.py)."""
    return cli("import", *args)


@pytest.mark.slow
def test_cli_exit_codes(tmp_path):
    out = tmp_path / "out"
    r = _cli(CN, "--mapping", CN / "mapping.toml", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout and "accounts 30" in r.stdout and "new" in r.stdout and str(out) in r.stdout
    assert "read 借据信息.csv: 30 rows -> accounts" in r.stderr
    src = _cn_copy(tmp_path)
    _edit_csv(src / "催收记录.csv", "gb18030", lambda t: t.replace("人工外呼", "微信", 1))
    r = _cli(src, "--mapping", src / "mapping.toml", "--out", tmp_path / "bad")
    assert r.returncode == 1 and "'微信'" in r.stderr and "催收记录.csv" in r.stderr and "Traceback" not in r.stderr
    r = _cli(CN, "--mapping", tmp_path / "absent.toml", "--out", tmp_path / "x")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "absent.toml" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "bad").exists()


def test_run_reports_a_contract_failure(tmp_path, monkeypatch, capsys):
    # a rule the importer does not check itself fails in io.load: exit 1, the ContractError printed, nothing written
    import argparse

    from analysis.data import importer

    def refuse(path, **kw):
        raise io.ContractError([io.Problem(str(path), "accounts", "region", "range", "accounts.parquet: bad")], path)

    monkeypatch.setattr(io, "load", refuse)
    parser = argparse.ArgumentParser()
    importer.add_arguments(parser)
    out = tmp_path / "out"
    assert (
        importer.run(parser.parse_args([str(CN), "--mapping", str(CN / "mapping.toml"), "--out", str(out), "--quiet"]))
        == 1
    )
    err = capsys.readouterr().err
    assert "accounts.parquet: bad" in err and "nothing was written" in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_run_reports_usage_errors(tmp_path, capsys):
    import argparse

    from analysis.data import importer

    parser = argparse.ArgumentParser()
    importer.add_arguments(parser)
    args = parser.parse_args(
        [str(tmp_path / "absent"), "--mapping", str(CN / "mapping.toml"), "--out", str(tmp_path / "x")]
    )
    assert importer.run(args) == 2
    assert capsys.readouterr().err.startswith("error: ") and not (tmp_path / "x").exists()


if __name__ == "__main__":  # rewrite the shipped templates
    write_templates()
    print(f"wrote {CN} and {US}")
