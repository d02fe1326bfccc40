"""Built-in entities for Chinese text without a Duckling server: numbers, amounts of money, dates and
times, emails, phone numbers, URLs and order-id-like codes, found with regular expressions (no
tokenizer, no new dependency) and normalised to the same Duckling-like values, dimension names and
character offsets as the English `BuiltinEntityExtractor`.

Chinese has no spaces, so nothing here relies on `\\b` or on `\\w` (Python's `\\w` counts CJK
characters as word characters): Latin-script entities are bounded by ASCII classes only, so
"订单号A12345到哪了" and "邮箱ana@example.com谢谢" work. Full-width ASCII (１２３, ：, ＠) is mapped
one character to one character before matching, so offsets stay those of the original text.

Semantics worth knowing:
- 周五 / 星期五 / 礼拜五 without a prefix is the next Friday, today included (like English "friday");
  这周五 / 本周五 is the Friday of the current Monday-based calendar week (possibly in the past);
  下周三 is the Wednesday of the next calendar week (Monday-based), 上周三 of the previous one, so on
  a Monday 下周三 is 9 days ahead, never 2.
- A clock time without a date is on today's date, as the English extractor does ("3点15分" at 22:00
  is still today 03:15); 下午/晚上 move hours before 12 into the afternoon.
- A day part alone after a day resolves to a representative hour (PART_HOURS; 今晚 = 18:00 like
  English "tonight").
- 两 / 俩 are 2 when they start a numeral (两千 = 2000, 两个 = 2) and are ignored after a number
  (三两 is a weight). Two bare digits in a row (五六个, 七八天) are an approximation and give nothing;
  three or more are read digit by digit (二〇二六 = 2026).
- A single Chinese digit on its own (一, 两, 十) is a number only before a measure word (个, 件, 天,
  小时...) or at the end of a clause, so 一下, 一起, 一样, 统一, 十分, 三明治 give nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass, field

from agent.bot.builtin_dimensions import DIMENSIONS
from agent.nlu.builtin_entities import ORDER_ID, PHONE, builtin_entity, resolve_overlaps, safe_date

# Full-width ASCII to ASCII, one character for one so offsets do not move. The full-width comma
# is left alone: in Chinese it separates clauses, it is no thousands separator.
FULL_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94) if 0xFF01 + i != 0xFF0C} | {0x3000: 0x20}

CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "貳": 2,
    "两": 2,
    "兩": 2,
    "俩": 2,
    "倆": 2,
    "三": 3,
    "叁": 3,
    "參": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "陸": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
D = "".join(CN_DIGITS)
U = "".join(CN_UNITS) + "".join(CN_BIG)

ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# 3万5千, 1.5万, 3千5 ; 三百五十, 一万二, 三点五
AR_NUM = rf"(?:{ARABIC})(?:[{U}]+(?:\d+(?:\.\d+)?[{U}]*)*)?"
CN_NUM = rf"[{D}十拾][{D}{U}]*(?:点[{D}]+)?"
NUM = rf"(?:{AR_NUM}|{CN_NUM})"
NOT_AFTER_NUMBER = rf"(?<![\d.{D}{U}A-Za-z_])"

# Measure words after which a lone Chinese digit is a count (两个, 三件, 一小时); 点 and 分 are
# left out on purpose (一点 "a bit", 十分 "very").
CLASSIFIERS = set(
    "个只件条张本位名次遍回趟天日年月周岁台部辆双对瓶杯碗盘份盒箱袋包斤克吨米层间套支枝把块元角毛"
    "首页章节顿场笔项种批株棵颗粒片根座栋户家人口听罐桶打倍号度秒"
)
CLASSIFIER_PAIRS = ("小时", "分钟", "公斤", "公里", "千克", "厘米", "毫米", "毫升", "星期", "礼拜", "平米", "英寸")
LONE_DIGIT_STOP = set("第统唯之同专单不逐划合归整初其任惟均独")

NUMBER = re.compile(NOT_AFTER_NUMBER + NUM)

FOREIGN_UNITS = {
    "美元": "USD",
    "美金": "USD",
    "欧元": "EUR",
    "英镑": "GBP",
    "日元": "JPY",
    "日币": "JPY",
    "港币": "HKD",
    "港元": "HKD",
    "澳元": "AUD",
    "加元": "CAD",
    "韩元": "KRW",
    "瑞郎": "CHF",
    "卢比": "INR",
}
SYMBOLS = {
    "¥": "CNY",
    "￥": "CNY",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "rmb": "CNY",
    "cny": "CNY",
    "usd": "USD",
    "eur": "EUR",
    "gbp": "GBP",
    "人民币": "CNY",
    "美元": "USD",
    "美金": "USD",
    "欧元": "EUR",
}
# 块 is also "a piece (of)" and, colloquially, "together" (一块去); 元 starts words too (元旦).
KUAI_TOGETHER = "儿去来走玩吃住做干聊跑坐"
KUAI_NOT_MONEY = (
    "|".join(KUAI_TOGETHER) + "|蛋糕|肉|石|地|砖|布|糖|饼|巧克力|手表|表|板|木|冰|玻璃|田|屏|"
    "电池|面包|西瓜|披萨|牌|头|骨|皮|金|铁|钢|玉|瓜|豆腐|积木|蛋|牛排|芯片|硬盘|显卡|橡皮|肥皂|香皂|毛巾"
)
CNY_ALT = rf"块钱|块(?!{KUAI_NOT_MONEY})|元(?![旦素宵件首帅老气朝音宝])|圆|人民币|(?i:rmb|cny)"
FOREIGN_ALT = "|".join(FOREIGN_UNITS)
SYMBOL_ALT = r"[¥￥$€£₹]|(?i:rmb|cny|usd|eur|gbp)|人民币|美元|美金|欧元"
SUB_DIGIT = rf"[{D}\d]"
# what may follow 元/块: 半, 五毛(五), 五角二分, 零五, 五分, or a bare 五 (角) / 五十, 50 (分)
MONEY_SUB = (
    rf"(?:(?P<half>半)|(?P<jiao>{SUB_DIGIT})[角毛](?:(?P<jiao_fen>{SUB_DIGIT})分?)?"
    rf"|零(?P<zero_fen>{SUB_DIGIT})分?|(?P<fen>{SUB_DIGIT})分"
    rf"|(?P<bare>\d{{1,2}}|[一二三四五六七八九]?十[一二三四五六七八九]?|[一二两三四五六七八九])"
    rf"(?![\d.点{U}{''.join(CLASSIFIERS)}]|{'|'.join(CLASSIFIER_PAIRS)}))"
)
MONEY = re.compile(
    rf"{NOT_AFTER_NUMBER}(?:(?P<symbol>{SYMBOL_ALT})\s*)?(?P<num>{NUM})\s*"
    rf"(?:(?P<foreign>{FOREIGN_ALT})|(?P<cny>{CNY_ALT})(?:{MONEY_SUB})?钱?)?"
)
# 五毛, 五毛五, 三角, 八分钱
MONEY_SMALL = re.compile(
    rf"{NOT_AFTER_NUMBER}(?P<num>\d{{1,2}}|[{D}十]{{1,3}})\s*"
    rf"(?:[角毛](?![星形洲尺铁板函区衣巾病笔线发孩毯豆绒皮料])(?:(?P<fen>{SUB_DIGIT})分?)?"
    rf"|(?P<only_fen>分)(?=钱))钱?"
)

DAY_OFFSETS = {
    "大后天": 3,
    "大前天": -3,
    "今天": 0,
    "今日": 0,
    "今儿个": 0,
    "今儿": 0,
    "明天": 1,
    "明日": 1,
    "明儿个": 1,
    "明儿": 1,
    "后天": 2,
    "昨天": -1,
    "昨日": -1,
    "昨儿": -1,
    "前天": -2,
}
DAY_WITH_PART = {
    "今晚": (0, "晚上"),
    "明晚": (1, "晚上"),
    "昨晚": (-1, "晚上"),
    "今夜": (0, "夜里"),
    "明夜": (1, "夜里"),
    "昨夜": (-1, "夜里"),
    "今早": (0, "早上"),
    "明早": (1, "早上"),
    "今晨": (0, "早上"),
    "明晨": (1, "早上"),
}
PART_HOURS = {
    "凌晨": 3,
    "清晨": 7,
    "早上": 8,
    "早晨": 8,
    "上午": 9,
    "中午": 12,
    "午后": 14,
    "下午": 14,
    "傍晚": 18,
    "晚上": 18,
    "晚间": 18,
    "夜里": 22,
    "夜间": 22,
    "早": 8,
    "晚": 18,
}
AFTERNOON = {"午后", "下午", "傍晚", "晚上", "晚间", "夜里", "夜间", "晚"}
WEEK_STEPS = {
    None: None,
    "这": 0,
    "这个": 0,
    "本": 0,
    "下": 1,
    "下个": 1,
    "下下": 2,
    "下下个": 2,
    "上": -1,
    "上个": -1,
    "上上": -2,
    "上上个": -2,
}
WEEKDAY_CHARS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
YEAR_OFFSETS = {"今年": 0, "明年": 1, "去年": -1, "后年": 2, "前年": -2}


def _alt(words) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


PREFIX = r"下下个?|下个?|这个?|本|上上个?|上个?"
MONTH = r"1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九]"
DAY_OF_MONTH = r"3[01]|[12]\d|0?[1-9]|三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九]"
MONTH_NOT = "饼亮光球嫂子薪供费租卡经票"
DAY = re.compile(
    rf"(?<![\d.{D}{U}A-Za-z_/:-])(?:"
    rf"(?P<rel>{_alt(DAY_OFFSETS)})|(?P<relpart>{_alt(DAY_WITH_PART)})"
    rf"|(?P<wpre>{PREFIX})?(?:周|星期|礼拜|週)(?P<wd>[一二三四五六日天1-7])(?![次个回遍趟份])"
    rf"|(?P<cy>\d{{4}}|[{D}]{{4}})年(?:(?P<cm>{MONTH})月份?(?:(?P<cd>{DAY_OF_MONTH})[日号號])?)?"
    rf"|(?P<mo>{MONTH})月(?:份|(?P<md>{DAY_OF_MONTH})[日号號]|(?![{MONTH_NOT}]))"
    rf"|(?P<iy>\d{{4}})(?P<isep>[-/.])(?P<im>\d{{1,2}})(?P=isep)(?P<id>\d{{1,2}})(?!\d)"
    rf"|(?P<sm>\d{{1,2}})(?P<sep>[-/])(?P<sd>\d{{1,2}})(?![\d/:-]|[天个号日岁件次人元块])"
    rf"|(?P<do>{DAY_OF_MONTH})[号號](?![线楼房门口位机桌床码窗厅柜台院馆车店铺箱])"
    rf")"
)
LONG_PARTS = _alt(p for p in PART_HOURS if len(p) > 1)
PART = re.compile(rf"{LONG_PARTS}|[早晚](?=[\d{D}十])")
CLOCK_HOUR = "零一二两三四五六七八九十"
AM_PM = r"(?i:am|pm|a\.m\.|p\.m\.)(?![A-Za-z])"
NOT_A_CLOCK = "建议|意见|要求|原因|问题|看法|理由|好处|不足|区别|内容|注意"  # 两点建议: two points, not 2 o'clock
NIGHT = {"晚上", "晚间", "夜里", "夜间", "晚"}
CLOCK = re.compile(
    rf"(?:(?P<part>{LONG_PARTS}|[早晚])\s*)?(?<![\d.{D}{U}A-Za-z_:])(?:"
    rf"(?P<hh>[01]?\d|2[0-3]):(?P<mm>[0-5]\d)(?![\d:])(?:\s?(?P<ampm>{AM_PM}))?"
    rf"|(?P<ah>1[0-2]|0?[1-9])\s?(?P<ampm2>{AM_PM})"
    rf"|(?P<h>\d{{1,2}}(?=[点點时時])|[{CLOCK_HOUR}]{{1,3}}(?=[点點]))[点點时時](?P<zhong>钟|鐘)?"
    rf"(?:(?P<half>半)|(?P<quarter>[一三1-3])刻|(?P<m>\d{{1,2}}|[{CLOCK_HOUR}]{{1,3}})分"
    rf"|(?P<m2>\d{{2}}|[一二三四五]?十[一二三四五六七八九]?|零[一二三四五六七八九])(?![\d{D}{U}分])"
    rf"|(?![\d{D}十]|{NOT_A_CLOCK})))"
)
PERIOD = re.compile(
    rf"(?<![{D}{U}\d])(?:(?P<wkpre>{PREFIX})(?:周|星期|礼拜|週)(?![一二三四五六日天1-7末])"
    rf"|(?:(?P<wepre>{PREFIX}))?(?:周末|週末)"
    rf"|(?P<mpre>{PREFIX})月(?!份?[\d{D}十])"
    rf"|(?P<year>{_alt(YEAR_OFFSETS)}))"
)
DURATION_UNITS = {
    "小时": "hour",
    "钟头": "hour",
    "分钟": "minute",
    "秒钟": "second",
    "秒": "second",
    "天": "day",
    "日": "day",
    "星期": "week",
    "礼拜": "week",
    "周": "week",
    "月": "month",
    "年": "year",
}
IN_OR_AGO = {"之后": 1, "以后": 1, "过后": 1, "后": 1, "之前": -1, "以前": -1, "前": -1}
RELATIVE = re.compile(
    rf"{NOT_AFTER_NUMBER}(?:(?P<n>{NUM})(?P<ge>个)?(?P<half>半)?|(?P<half_only>半)个?)\s*"
    rf"(?P<unit>{_alt(DURATION_UNITS)})(?P<dir>{_alt(IN_OR_AGO)})"
)

_NOT_WORD = r"(?<![A-Za-z0-9_.+-])"
EMAIL = re.compile(_NOT_WORD + r"[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
TLDS = (
    "com|cn|net|org|io|edu|gov|top|xyz|info|me|co|cc|tv|hk|tw|jp|uk|de|fr|ru|us|app|dev|ai|shop|site|"
    "online|store|tech|vip|club|biz"
)
URL = re.compile(
    r"(?<![A-Za-z0-9_@./-])(?:(?:https?://|www\.)[!-~]+"
    rf"|(?:[A-Za-z0-9-]+\.)+(?:{TLDS})(?![A-Za-z0-9-])(?:[/:?#][!-~]*)?)"
)
URL_TRAILING = ".,;:!?)]}'\""
# the English patterns, with \w, \d and \s meaning ASCII only, so a CJK character next to them is a boundary
ORDER_ID_ASCII = re.compile(ORDER_ID.pattern, re.ASCII)
PHONE_INTERNATIONAL = re.compile(PHONE.pattern, re.ASCII)
PHONE_CN = re.compile(
    r"(?<![A-Za-z0-9_+#-])(?:"
    r"(?:(?:\+86|0086)[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}"  # mobile: 13812345678, 138-1234-5678, +86 138...
    r"|(?:\(0\d{2,3}\)\s?|0\d{2,3}[\s-]?)\d{7,8}"  # landline: 010-12345678, 0755-1234567
    r"|[48]00[\s-]?\d{3}[\s-]?\d{4}"  # 400 / 800 service numbers
    r")(?![0-9A-Za-z_])"
)


def extract_zh(text: str, dimensions, now: dt.datetime | None = None) -> list[dict]:
    """Entities of the wanted dimensions in Chinese (or mixed) text, overlaps resolved like English."""
    wanted = set(dimensions)
    now = now or dt.datetime.now()
    norm = text.translate(FULL_WIDTH)
    found: list[dict] = []
    if "number" in wanted:
        found += _numbers(norm, text)
    if "amount-of-money" in wanted:
        found += _money(norm, text)
    if "time" in wanted:
        found += _times(norm, text, now)
    if "phone-number" in wanted:
        found += _phones(norm, text)
    if "order-id" in wanted:
        found += [
            builtin_entity("order-id", m.start(), m.end(), text, m.group(0).upper())
            for m in ORDER_ID_ASCII.finditer(norm)
        ]
    if "email" in wanted:
        found += [builtin_entity("email", m.start(), m.end(), text, m.group(0)) for m in EMAIL.finditer(norm)]
    if "url" in wanted:
        for m in URL.finditer(norm):
            url = m.group(0).rstrip(URL_TRAILING)
            found.append(builtin_entity("url", m.start(), m.start() + len(url), text, url))
    return resolve_overlaps(found)


@dataclass
class ChineseBuiltinEntityExtractor:
    """The Chinese counterpart of `BuiltinEntityExtractor`, usable on its own."""

    dimensions: list[str] = field(default_factory=lambda: sorted(DIMENSIONS))
    now: dt.datetime | None = None  # fixed "now" for reproducible tests; None: the clock

    def extract(self, text: str) -> list[dict]:
        return extract_zh(text, self.dimensions, self.now)

    def to_dict(self) -> dict:
        return {"dimensions": self.dimensions, "language": "zh"}


# numbers -----------------------------------------------------------------------------------------


def parse_chinese_number(text: str) -> int | float | None:
    """'三百五十' 350, '一万二' 12000, '两千' 2000, '十五' 15, '三点五' 3.5, '1.5万' 15000, '3千5' 3500,
    '二〇二六' 2026, '1,200' 1200; None for what is no number ('五六' is a range, '万' has no digit)."""
    text = text.replace(",", "")
    whole, _, fraction = text.partition("点")
    if fraction:
        if not all(c in CN_DIGITS or c.isdigit() for c in fraction):
            return None
        digits = "".join(str(CN_DIGITS.get(c, c)) for c in fraction)
        value = _integer_part(whole)
        return None if value is None else _tidy(value + float("0." + digits))
    value = _integer_part(text)
    return None if value is None else _tidy(value)


def _integer_part(text: str) -> float | None:
    tokens = re.findall(r"\d+(?:\.\d+)?|\D", text)
    if not tokens or tokens[0] in CN_BIG or CN_UNITS.get(tokens[0], 10) > 10:
        return None  # 万, 千万, 百分之: a unit with no digit before it
    if len(tokens) > 1 and all(t in CN_DIGITS for t in tokens):
        if len(tokens) == 2 and not {"零", "〇"} & set(tokens):
            return None  # 五六个, 七八天: an approximation, no single number
        return float("".join(str(CN_DIGITS[t]) for t in tokens))
    total = wan = current = 0.0
    pending: float | None = None
    pending_single = False  # the pending digit is one digit, so 一万二 means 12000
    last_unit = 0
    after_zero = False
    for t in tokens:
        if t in CN_DIGITS or t[0].isdigit():
            if pending is not None:
                return None
            if t in ("零", "〇"):
                after_zero = True
                continue
            pending = float(CN_DIGITS[t]) if t in CN_DIGITS else float(t)
            pending_single = t in CN_DIGITS or len(t) == 1
        elif t in CN_UNITS:
            current += (1 if pending is None else pending) * CN_UNITS[t]
            pending, last_unit, after_zero = None, CN_UNITS[t], False
        elif t in CN_BIG:
            base = current + (pending or 0) or 1
            if CN_BIG[t] == 10_000:
                wan, current = base * 10_000, 0.0
            else:
                total, wan, current = (total + wan + base) * CN_BIG[t], 0.0, 0.0
            pending, last_unit, after_zero = None, CN_BIG[t], False
        else:
            return None
    if pending is not None:
        if pending_single and last_unit >= 10 and not after_zero:
            pending *= last_unit / 10  # 三百五 350, 两千五 2500, 一万二 12000, 十五 15
        current += pending
    return total + wan + current


def _tidy(value: float) -> int | float | None:
    if not math.isfinite(value):
        return None  # thousands of digits: no number anyone means
    value = round(value, 6)
    return int(value) if value == int(value) else value


def _numbers(norm: str, text: str) -> list[dict]:
    found = []
    for m in NUMBER.finditer(norm):
        start, end = m.start(), m.end()
        if start and norm[start - 1] == "第":
            continue  # 第三, 第3: ordinals, not a number
        if end - start == 1 and m.group(0) in f"{D}十拾" and not _counted(norm, start, end):
            continue
        value = parse_chinese_number(m.group(0))
        if value is not None:
            found.append(builtin_entity("number", start, end, text, value))
    return found


def _counted(norm: str, start: int, end: int) -> bool:
    """Whether a lone Chinese digit is a count: before a measure word or at the end of a clause."""
    if start and norm[start - 1] in LONE_DIGIT_STOP:
        return False
    rest = norm[end : end + 2]
    if rest[:1] == "块" and norm[end + 1 : end + 2] in tuple(KUAI_TOGETHER):
        return False  # 一块去: "together"
    return not rest or not _is_cjk(rest[0]) or rest[0] in CLASSIFIERS or rest in CLASSIFIER_PAIRS


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


# money -------------------------------------------------------------------------------------------


def _money(norm: str, text: str) -> list[dict]:
    """Amounts with a currency (三百五十块, ¥20, 5美元) and small change alone (五毛, 八分钱)."""
    found = []
    for m in MONEY.finditer(norm):
        symbol, foreign, cny = m.group("symbol"), m.group("foreign"), m.group("cny")
        if not (symbol or foreign or cny):
            continue
        amount = parse_chinese_number(m.group("num"))
        if amount is None:
            continue
        unit = SYMBOLS[symbol.lower()] if symbol else FOREIGN_UNITS[foreign] if foreign else "CNY"
        if cny:
            amount += _cents(m)
        found.append(_money_entity(m, text, amount, unit))
    for m in MONEY_SMALL.finditer(norm):
        n = parse_chinese_number(m.group("num"))
        if n is None:
            continue
        amount = n / 100 if m.group("only_fen") else n / 10 + _digit(m.group("fen")) / 100
        found.append(_money_entity(m, text, amount, "CNY"))
    return found


def _money_entity(m: re.Match, text: str, amount: float, unit: str) -> dict:
    """Rounded to cents, so 0.1 + 0.02 reads 0.12."""
    return builtin_entity("amount-of-money", m.start(), m.end(), text, {"value": _tidy(round(amount, 2)), "unit": unit})


def _cents(m: re.Match) -> float:
    """What follows 元/块: 半 0.5, 五毛二 0.52, 零五 0.05, 五分 0.05, a bare 五 0.5, a bare 五十 0.50."""
    if m.group("half"):
        return 0.5
    if m.group("jiao"):
        return _digit(m.group("jiao")) / 10 + _digit(m.group("jiao_fen")) / 100
    if m.group("zero_fen") or m.group("fen"):
        return _digit(m.group("zero_fen") or m.group("fen")) / 100
    bare = m.group("bare")
    if bare:
        n = parse_chinese_number(bare) or 0
        return n / 10 if n < 10 else n / 100
    return 0.0


def _digit(char: str | None) -> int:
    if not char:
        return 0
    return CN_DIGITS[char] if char in CN_DIGITS else int(char)


# time --------------------------------------------------------------------------------------------


def _times(norm: str, text: str, now: dt.datetime) -> list[dict]:
    today = now.date()
    found = []
    for pattern, resolve in (
        (DAY, lambda m: _day_with_time(m, norm, today)),
        (CLOCK, lambda m: (m.end(), _clock_value(m, m.group("part"), today))),
        (PERIOD, lambda m: (m.end(), _period(m, today))),
        (RELATIVE, lambda m: (m.end(), _relative(m, now))),
    ):
        for m in pattern.finditer(norm):
            try:
                end, value = resolve(m)
            except (ValueError, OverflowError):  # 99999年后: past the end of the calendar
                continue
            if value is not None:
                found.append(builtin_entity("time", m.start(), end, text, value))
    return found


def _day_with_time(m: re.Match, norm: str, today: dt.date) -> tuple[int, dict | None]:
    """A day, extended over the day part and clock time after it: 明天下午三点 is one entity."""
    day = _day(m, today)
    if day is None or isinstance(day, dict):  # a month or a year: no time of day after it
        return m.end(), day
    end, part = m.end(), None
    if m.group("relpart"):
        part = DAY_WITH_PART[m.group("relpart")][1]
    else:
        pm = PART.match(norm, _skip_spaces(norm, end))
        if pm:
            part, end = pm.group(0), pm.end()
    cm = CLOCK.match(norm, _skip_spaces(norm, end))
    if cm and not (part and cm.group("part")):
        value = _clock_value(cm, part or cm.group("part"), day)
        if value is not None:
            return cm.end(), value
    return end, _day_value_part(day, part)


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _day(m: re.Match, today: dt.date) -> dt.date | dict | None:
    """A calendar day (or, for 2026年 / 12月, a Duckling year / month value)."""
    if m.group("rel"):
        return today + dt.timedelta(days=DAY_OFFSETS[m.group("rel")])
    if m.group("relpart"):
        return today + dt.timedelta(days=DAY_WITH_PART[m.group("relpart")][0])
    if m.group("wd"):
        return _weekday(m, today)
    if m.group("cy"):
        return _with_year(m)
    if m.group("mo"):
        month = int(parse_chinese_number(m.group("mo")) or 0)
        if not m.group("md"):
            return _month_value(today.year + (month < today.month), month)
        return _upcoming(today, month, int(parse_chinese_number(m.group("md")) or 0))
    if m.group("iy"):
        return safe_date(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
    if m.group("sm"):
        return _numeric_month_day(m, today)
    return _day_of_month(int(parse_chinese_number(m.group("do")) or 0), today)


def _weekday(m: re.Match, today: dt.date) -> dt.date:
    """周五 is the next Friday, today included; 下周三 / 这周五 are days of a Monday-based calendar week."""
    weekday = WEEKDAY_CHARS[m.group("wd")]
    step = WEEK_STEPS[m.group("wpre")]
    if step is None:  # 周五: the next one, today included
        return today + dt.timedelta(days=(weekday - today.weekday()) % 7)
    monday = today - dt.timedelta(days=today.weekday())
    return monday + dt.timedelta(weeks=step, days=weekday)


def _with_year(m: re.Match) -> dt.date | dict | None:
    """2026年 (year grain), 2026年3月 (month grain), 2026年3月5日 (a day)."""
    year = int(parse_chinese_number(m.group("cy")) or 0)
    if not m.group("cm"):
        return {"value": dt.date(year, 1, 1).isoformat(), "grain": "year"} if year >= 1 else None
    month = int(parse_chinese_number(m.group("cm")) or 0)
    if not m.group("cd"):
        return _month_value(year, month)
    return safe_date(year, month, int(parse_chinese_number(m.group("cd")) or 0))


def _numeric_month_day(m: re.Match, today: dt.date) -> dt.date | None:
    """12/3 or 12-03 without a year; a dash needs two digits on each side, since 1-2 is a range."""
    if m.group("sep") == "-" and (len(m.group("sm")) != 2 or len(m.group("sd")) != 2):
        return None  # 1-2 is a range; 12-03 a date
    month, day = int(m.group("sm")), int(m.group("sd"))
    if month > 12:  # 25/12: day first, as in English
        month, day = day, month
    return _upcoming(today, month, day)


def _day_of_month(day: int, today: dt.date) -> dt.date | None:
    """3号: this month's 3rd, or next month's once it has passed."""
    date = safe_date(today.year, today.month, day)
    if date is not None and date >= today:
        return date
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return safe_date(year, month, day)  # 3号 on the 23rd: the 3rd of next month


def _upcoming(today: dt.date, month: int, day: int) -> dt.date | None:
    """A month and day without a year: this year, or next year once it has passed (as in English)."""
    date = safe_date(today.year, month, day)
    if date is not None and date < today:
        date = safe_date(today.year + 1, month, day)
    return date


def _month_value(year: int, month: int) -> dict | None:
    date = safe_date(year, month, 1)
    return None if date is None else {"value": date.isoformat(), "grain": "month"}


def _day_value_part(day: dt.date, part: str | None) -> dict:
    if part is None:
        return {"value": day.isoformat(), "grain": "day"}
    return {"value": dt.datetime.combine(day, dt.time(PART_HOURS[part])).isoformat(), "grain": "hour"}


def _clock_value(m: re.Match, part: str | None, day: dt.date) -> dict | None:
    """下午三点 15:00 (hour grain), 晚上8点半 20:30 (minute grain), 上午10:30, 3点15分; None for 一点 ("a bit")."""
    hour_minute = _digital_clock(m) if m.group("hh") or m.group("ah") else _chinese_clock(m, part)
    if hour_minute is None:
        return None
    hour, minute = hour_minute
    if hour > 23 or minute > 59:
        return None
    if part in NIGHT and hour == 12:
        day, hour = day + dt.timedelta(days=1), 0  # 晚上12点: midnight, the start of the next day
    elif part in AFTERNOON and hour < 12:
        hour += 12
    elif part == "中午" and hour < 3:
        hour += 12
    elif part == "凌晨" and hour == 12:
        hour = 0
    value = dt.datetime.combine(day, dt.time(hour, minute))
    return {"value": value.isoformat(), "grain": "minute" if minute else "hour"}


def _digital_clock(m: re.Match) -> tuple[int, int]:
    """10:30, 3pm, 10:30 a.m."""
    ampm = (m.group("ampm") or m.group("ampm2") or "").lower().replace(".", "")
    hour, minute = int(m.group("hh") or m.group("ah")), int(m.group("mm") or 0)
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return hour, minute


def _chinese_clock(m: re.Match, part: str | None) -> tuple[int, int] | None:
    """三点, 8点半, 3点一刻, 3点15分, 3点15; None for 一点 alone, which is "a bit"."""
    hour = int(parse_chinese_number(m.group("h")) or 0)
    if m.group("h") == "一" and not (
        m.group("zhong")
        or m.group("half")
        or m.group("quarter")
        or m.group("m")
        or m.group("m2")
        or (part and len(part) > 1)
    ):
        return None  # 一点 is "a bit" (便宜一点, 早一点) unless 钟, minutes or a day part say otherwise
    minute = 0
    if m.group("half"):
        minute = 30
    elif m.group("quarter"):
        minute = 15 * _digit(m.group("quarter"))
    elif m.group("m") or m.group("m2"):
        minute = int(parse_chinese_number(m.group("m") or m.group("m2")) or 0)
    return hour, minute


def _period(m: re.Match, today: dt.date) -> dict:
    """下周 (week grain, its Monday), 这周末 (Saturday), 下个月 (month grain), 明年 (year grain)."""
    monday = today - dt.timedelta(days=today.weekday())
    if m.group("wkpre"):
        return {"value": (monday + dt.timedelta(weeks=WEEK_STEPS[m.group("wkpre")])).isoformat(), "grain": "week"}
    if m.group("mpre"):
        month = today.month - 1 + WEEK_STEPS[m.group("mpre")]
        return {"value": dt.date(today.year + month // 12, month % 12 + 1, 1).isoformat(), "grain": "month"}
    if m.group("year"):
        return {"value": dt.date(today.year + YEAR_OFFSETS[m.group("year")], 1, 1).isoformat(), "grain": "year"}
    step = WEEK_STEPS[m.group("wepre")] or 0
    return {"value": (monday + dt.timedelta(weeks=step, days=5)).isoformat(), "grain": "day"}


def _relative(m: re.Match, now: dt.datetime) -> dict | None:
    """三天后 / 两周后 (day grain), 一小时后 (hour grain, like English 'in 1 hour'), 30分钟后, 三个月前."""
    if m.group("half_only"):
        n: float = 0.5
    else:
        parsed = parse_chinese_number(m.group("n"))
        if parsed is None:
            return None
        n = parsed + (0.5 if m.group("half") else 0)
    n *= IN_OR_AGO[m.group("dir")]
    unit = DURATION_UNITS[m.group("unit")]
    if unit in ("hour", "minute", "second"):
        moved = now + dt.timedelta(**{unit + "s": n})
        if unit == "second":
            return {"value": moved.replace(microsecond=0).isoformat(), "grain": "second"}
        grain = "minute" if unit == "hour" and n != int(n) else unit  # 半小时后 lands between hours
        return {"value": moved.replace(second=0, microsecond=0).isoformat(), "grain": grain}
    today = now.date()
    if unit in ("day", "week"):
        return {"value": (today + dt.timedelta(days=n * (7 if unit == "week" else 1))).isoformat(), "grain": "day"}
    months = n * (12 if unit == "year" else 1)
    whole = int(months)
    index = today.month - 1 + whole
    year, month = today.year + index // 12, index % 12 + 1
    date = dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    date += dt.timedelta(days=round((months - whole) * 30))
    return {"value": date.isoformat(), "grain": "day"}


# phones ------------------------------------------------------------------------------------------


def _phones(norm: str, text: str) -> list[dict]:
    found = []
    for m in PHONE_CN.finditer(norm):
        found.append(builtin_entity("phone-number", m.start(), m.end(), text, _phone_value(m.group(0))))
    for m in PHONE_INTERNATIONAL.finditer(norm):
        digits = re.sub(r"\D", "", m.group(0))
        if m.group(0).startswith("+") and 7 <= len(digits) <= 15:
            found.append(builtin_entity("phone-number", m.start(), m.end(), text, "+" + digits))
    return found


def _phone_value(raw: str) -> str:
    return ("+" if raw.startswith("+") else "") + re.sub(r"\D", "", raw)
