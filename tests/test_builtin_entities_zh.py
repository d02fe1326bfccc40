"""Built-in entities for Chinese text (regular expressions, no Duckling, no spaCy): spans as character
offsets into the original text and the same Duckling-like values as the English extractor."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from agent.nlu.builtin_entities import BuiltinEntityExtractor
from agent.nlu.lang.zh.entities import ChineseBuiltinEntityExtractor, parse_chinese_number

NOW = dt.datetime(2026, 11, 23, 10, 0)  # a Monday, as in the English tests
THURSDAY = dt.datetime(2026, 11, 26, 10, 0)

Found = list[tuple[str, str, object]]


@pytest.fixture(scope="module")
def zh() -> BuiltinEntityExtractor:
    return BuiltinEntityExtractor(now=NOW, language="zh")


def _found(extractor, text: str) -> Found:
    """(dimension, the text the offsets point at, value); every entity's text must be its span."""
    entities = extractor.extract(text)
    for e in entities:
        assert e["text"] == text[e["start"] : e["end"]]
        assert e["extractor"] == "BuiltinEntityExtractor"
    return [(e["entity"], text[e["start"] : e["end"]], e["value"]) for e in entities]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("三百五十", 350),
        ("两千", 2000),
        ("一万二", 12000),
        ("一万二千五", 12500),
        ("十五", 15),
        ("三点五", 3.5),
        ("1.5万", 15000),
        ("3千", 3000),
        ("3万5千", 35000),
        ("一千零一", 1001),
        ("三百零五", 305),
        ("二〇二六", 2026),
        ("一亿二千万", 120_000_000),
        ("1,200", 1200),
        ("叁佰伍拾", 350),
        ("五六", None),
        ("万", None),
    ],
)
def test_parse_chinese_number(text: str, expected: int | float | None) -> None:
    """Chinese numerals, with the colloquial trailing digit (一万二 = 12000) and ranges refused."""
    assert parse_chinese_number(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("我要三百五十个", [("number", "三百五十", 350)]),
        ("大概两千人", [("number", "两千", 2000)]),
        ("一万二千五", [("number", "一万二千五", 12500)]),
        ("给我十五份", [("number", "十五", 15)]),
        ("长度三点五米", [("number", "三点五", 3.5)]),
        ("预算1.5万左右", [("number", "1.5万", 15000)]),
        ("买3千件", [("number", "3千", 3000)]),
        ("我要１２３个", [("number", "１２３", 123)]),
        ("库存1,200件", [("number", "1,200", 1200)]),
        ("我要两个", [("number", "两", 2)]),
        ("iPhone 15有货吗", [("number", "15", 15)]),
        ("五六个就够了", []),
        ("他是第三名", []),
    ],
)
def test_numbers(zh: BuiltinEntityExtractor, text: str, expected: Found) -> None:
    """Arabic, full-width and Chinese numerals; ranges (五六个) and ordinals (第三) are no number."""
    assert _found(zh, text) == expected


@pytest.mark.parametrize(
    "text,value,unit",
    [
        ("三百五十块", 350, "CNY"),
        ("两块五", 2.5, "CNY"),
        ("¥99.9", 99.9, "CNY"),
        ("￥99.9", 99.9, "CNY"),
        ("99元", 99, "CNY"),
        ("五毛", 0.5, "CNY"),
        ("一百二十八块八", 128.8, "CNY"),
        ("三块五毛钱", 3.5, "CNY"),
        ("3元5角2分", 3.52, "CNY"),
        ("两块零五", 2.05, "CNY"),
        ("一块半", 1.5, "CNY"),
        ("八分钱", 0.08, "CNY"),
        ("两千块钱", 2000, "CNY"),
        ("1.5万元", 15000, "CNY"),
        ("人民币100元", 100, "CNY"),
        ("RMB1000", 1000, "CNY"),
        ("100美元", 100, "USD"),
        ("50美金", 50, "USD"),
        ("$25", 25, "USD"),
        ("30欧元", 30, "EUR"),
        ("€30", 30, "EUR"),
    ],
)
def test_money_value_and_unit(text: str, value: int | float, unit: str) -> None:
    """The whole amount is one entity whose value and additional_info match the English shape."""
    [money] = BuiltinEntityExtractor(["amount-of-money"], now=NOW, language="zh").extract(text)
    assert (money["entity"], money["start"], money["end"]) == ("amount-of-money", 0, len(text))
    assert money["value"] == value
    assert money["additional_info"] == {"value": value, "unit": unit}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("这件衣服三百五十块吗", [("amount-of-money", "三百五十块", 350)]),
        ("两块五一斤", [("amount-of-money", "两块五", 2.5)]),
        ("我买了3件衣服花了299元", [("number", "3", 3), ("amount-of-money", "299元", 299)]),
        ("我们一块去吃饭", []),
        ("一块蛋糕", [("number", "一", 1)]),
        ("元旦快乐", []),
    ],
)
def test_money_in_sentences(zh: BuiltinEntityExtractor, text: str, expected: Found) -> None:
    """块 is money only when it is not "a piece of" or "together"; counts beside prices stay numbers."""
    assert _found(zh, text) == expected


@pytest.mark.parametrize(
    "text,value,grain",
    [
        ("今天", "2026-11-23", "day"),
        ("明天", "2026-11-24", "day"),
        ("后天", "2026-11-25", "day"),
        ("大后天", "2026-11-26", "day"),
        ("昨天", "2026-11-22", "day"),
        ("前天", "2026-11-21", "day"),
        ("今晚", "2026-11-23T18:00:00", "hour"),
        ("明早", "2026-11-24T08:00:00", "hour"),
        ("明天晚上", "2026-11-24T18:00:00", "hour"),
        ("下周三", "2026-12-02", "day"),
        ("这周五", "2026-11-27", "day"),
        ("周五", "2026-11-27", "day"),
        ("星期五", "2026-11-27", "day"),
        ("礼拜五", "2026-11-27", "day"),
        ("星期天", "2026-11-29", "day"),
        ("上周三", "2026-11-18", "day"),
        ("下下周一", "2026-12-07", "day"),
        ("12月3日", "2026-12-03", "day"),
        ("12月3号", "2026-12-03", "day"),
        ("3号", "2026-12-03", "day"),
        ("二十号", "2026-12-20", "day"),
        ("2026年12月3日", "2026-12-03", "day"),
        ("十二月三日", "2026-12-03", "day"),
        ("12-03", "2026-12-03", "day"),
        ("2026-12-03", "2026-12-03", "day"),
        ("3月5日", "2027-03-05", "day"),
        ("下午三点", "2026-11-23T15:00:00", "hour"),
        ("晚上8点半", "2026-11-23T20:30:00", "minute"),
        ("上午10:30", "2026-11-23T10:30:00", "minute"),
        ("3点15分", "2026-11-23T03:15:00", "minute"),
        ("三点一刻", "2026-11-23T03:15:00", "minute"),
        ("下午三点五十", "2026-11-23T15:50:00", "minute"),
        ("中午1点", "2026-11-23T13:00:00", "hour"),
        ("晚上12点", "2026-11-24T00:00:00", "hour"),
        ("明天下午三点", "2026-11-24T15:00:00", "hour"),
        ("周五晚上8点", "2026-11-27T20:00:00", "hour"),
        ("明天3pm", "2026-11-24T15:00:00", "hour"),
        ("三天后", "2026-11-26", "day"),
        ("两周后", "2026-12-07", "day"),
        ("三天前", "2026-11-20", "day"),
        ("三个月后", "2027-02-23", "day"),
        ("一小时后", "2026-11-23T11:00:00", "hour"),
        ("半小时后", "2026-11-23T10:30:00", "minute"),
        ("30分钟后", "2026-11-23T10:30:00", "minute"),
        ("下周", "2026-11-30", "week"),
        ("这周末", "2026-11-28", "day"),
        ("下个月", "2026-12-01", "month"),
        ("明年", "2027-01-01", "year"),
        ("2027年", "2027-01-01", "year"),
    ],
)
def test_time_values_and_grains(text: str, value: str, grain: str) -> None:
    """Dates and times relative to a fixed Monday now; a past day of month rolls to the next month
    (二十号 on the 23rd) and a past month and day to the next year (3月5日), as in English."""
    [time] = BuiltinEntityExtractor(["time"], now=NOW, language="zh").extract(text)
    assert (time["entity"], time["start"], time["end"]) == ("time", 0, len(text))
    assert time["value"] == value
    assert time["additional_info"] == {"value": value, "grain": grain}


@pytest.mark.parametrize(
    "now,text,value",
    [
        (THURSDAY, "周二", "2026-12-01"),
        (THURSDAY, "这周二", "2026-11-24"),
        (THURSDAY, "下周二", "2026-12-01"),
        (THURSDAY, "周五", "2026-11-27"),
        (THURSDAY, "这周五", "2026-11-27"),
        (THURSDAY, "下周五", "2026-12-04"),
        (NOW, "周一", "2026-11-23"),
        (NOW, "下周一", "2026-11-30"),
        (NOW, "下周三", "2026-12-02"),
    ],
)
def test_weekday_prefixes_follow_calendar_weeks(now: dt.datetime, text: str, value: str) -> None:
    """周X is the next X (today included); 这周X the X of this Monday-based week, even if past;
    下周X the X of next calendar week, so on a Thursday 下周五 is 8 days ahead, not tomorrow."""
    [time] = ChineseBuiltinEntityExtractor(["time"], now=now).extract(text)
    assert time["value"] == value


@pytest.mark.parametrize(
    "text,expected",
    [
        ("请明天下午三点送到", [("time", "明天下午三点", "2026-11-24T15:00:00")]),
        ("请在2026年12月3日下午3点前送到", [("time", "2026年12月3日下午3点", "2026-12-03T15:00:00")]),
        ("星期天天气好吗", [("time", "星期天", "2026-11-29")]),
        ("三天后天气怎么样", [("time", "三天后", "2026-11-26")]),
        ("有两点建议", []),
        ("今天一点都不好", [("time", "今天", "2026-11-23")]),
        ("1-2天到货", [("number", "1", 1), ("number", "2", 2)]),
        ("坐3号线", [("number", "3", 3)]),
    ],
)
def test_time_in_sentences(zh: BuiltinEntityExtractor, text: str, expected: Found) -> None:
    """A day, day part and clock join into one entity; 两点建议, 一点 "a bit", ranges and subway
    lines are no times."""
    assert _found(zh, text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("手机13812345678", [("phone-number", "13812345678", "13812345678")]),
        ("电话138-1234-5678谢谢", [("phone-number", "138-1234-5678", "13812345678")]),
        ("打+86 138 1234 5678", [("phone-number", "+86 138 1234 5678", "+8613812345678")]),
        ("座机010-12345678", [("phone-number", "010-12345678", "01012345678")]),
        ("深圳0755-1234567", [("phone-number", "0755-1234567", "07551234567")]),
        ("我的电话是(010)12345678", [("phone-number", "(010)12345678", "01012345678")]),
        ("客服400-123-4567", [("phone-number", "400-123-4567", "4001234567")]),
        ("手机１３８１２３４５６７８", [("phone-number", "１３８１２３４５６７８", "13812345678")]),
        ("国际+44 20 7946 0958找我", [("phone-number", "+44 20 7946 0958", "+442079460958")]),
    ],
)
def test_phone_numbers(zh: BuiltinEntityExtractor, text: str, expected: Found) -> None:
    """Mainland mobiles, landlines and 400 numbers glued to Chinese; a phone is not also a number."""
    assert _found(zh, text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("订单号A12345到哪了", [("order-id", "A12345", "A12345")]),
        ("订单ORD-123456已发货", [("order-id", "ORD-123456", "ORD-123456")]),
        ("订单#12345678还没到", [("order-id", "#12345678", "#12345678")]),
        ("订单号ａ１２３４５", [("order-id", "ａ１２３４５", "A12345")]),
        ("查一下ord-998877和A12345", [("order-id", "ord-998877", "ORD-998877"), ("order-id", "A12345", "A12345")]),
    ],
)
def test_order_ids_next_to_chinese(zh: BuiltinEntityExtractor, text: str, expected: Found) -> None:
    """The English order-id pattern, bounded by ASCII only, so CJK characters on either side count
    as a boundary (Python's \\w treats them as letters)."""
    assert _found(zh, text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("邮箱ana@example.com谢谢", [("email", "ana@example.com", "ana@example.com")]),
        ("ａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ", [("email", "ａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ", "ana@example.com")]),
        (
            "访问https://shop.example.com/help查看",
            [("url", "https://shop.example.com/help", "https://shop.example.com/help")],
        ),
        ("去www.example.com看看。", [("url", "www.example.com", "www.example.com")]),
        ("登录example.cn就行", [("url", "example.cn", "example.cn")]),
    ],
)
def test_emails_and_urls_next_to_chinese(zh: BuiltinEntityExtractor, text: str, expected: Found) -> None:
    """Emails and URLs end where the Chinese starts; full-width forms give ASCII values."""
    assert _found(zh, text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "我明天想花三百五十块买2件",
            [("time", "明天", "2026-11-24"), ("amount-of-money", "三百五十块", 350), ("number", "2", 2)],
        ),
        (
            "Order A12345 costs ¥99, 明天到",
            [("order-id", "A12345", "A12345"), ("amount-of-money", "¥99", 99), ("time", "明天", "2026-11-24")],
        ),
        (
            "周五下午3点打13812345678",
            [("time", "周五下午3点", "2026-11-27T15:00:00"), ("phone-number", "13812345678", "13812345678")],
        ),
        ("RMB1000的订单", [("amount-of-money", "RMB1000", 1000)]),
    ],
)
def test_mixed_text_and_overlaps(zh: BuiltinEntityExtractor, text: str, expected: Found) -> None:
    """Several dimensions in one mixed sentence; money beats its number, time its digits, and
    RMB1000 is money rather than an order id."""
    assert _found(zh, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "我想退货",
        "我想问一下",
        "我们一起去吧",
        "便宜一点",
        "能早一点吗",
        "十分感谢",
        "三明治",
        "统一发货",
        "万一不行怎么办",
        "千万别忘了",
        "早上好",
        "谢谢你的帮助",
    ],
)
def test_sentences_without_entities(zh: BuiltinEntityExtractor, text: str) -> None:
    """Everyday phrases with numerals inside words (一下, 一点, 十分, 万一, 三明治) yield nothing."""
    assert zh.extract(text) == []


def test_only_the_wanted_dimensions_are_extracted() -> None:
    """Without money wanted, the number inside an amount survives, as in English."""
    numbers = BuiltinEntityExtractor(["number"], now=NOW, language="zh")
    assert _found(numbers, "三百五十块，明天") == [("number", "三百五十", 350)]


def test_chinese_does_not_need_spacy(monkeypatch: pytest.MonkeyPatch) -> None:
    """language="zh" must not build the English spaCy pipeline: it works with spaCy unimportable."""
    monkeypatch.setitem(sys.modules, "spacy", None)
    extractor = BuiltinEntityExtractor(["number"], now=NOW, language="zh-CN")
    assert _found(extractor, "十五") == [("number", "十五", 15)]
    assert extractor.to_dict() == {"dimensions": ["number"], "language": "zh-CN"}
    with pytest.raises(ImportError):
        BuiltinEntityExtractor(["number"], now=NOW)


def test_standalone_extractor_matches_the_delegating_one(zh: BuiltinEntityExtractor) -> None:
    """ChineseBuiltinEntityExtractor and BuiltinEntityExtractor(language="zh") agree entity for entity."""
    text = "明天下午三点前把三百五十块转到13812345678，订单A12345"
    assert ChineseBuiltinEntityExtractor(now=NOW).extract(text) == zh.extract(text)
