"""Natural-language date/time parsing for the chat bot (English and Chinese).

Public API
==========

``parse_when(text, *, now, prefer="future") -> datetime | None``
    Parse a phrase such as ``"tomorrow 3pm"``, ``"in 90 minutes"``,
    ``"下周五下午2点"`` or ``"jan 15"``.  The result is an aware datetime in
    ``now``'s time zone, or ``None`` when the text holds no date or time.

``impossible_date(text) -> (year | None, month, day) | None``
    A calendar date the text names that does not exist ("31 February"),
    so callers can say why no date was found.

``extract_when(text, *, now, prefer="future") -> tuple[datetime | None, str]``
    Find a date/time phrase inside free text (``"tomorrow 3pm send the
    proposal"``) and return it together with the text that remains once the
    phrase (and a dangling "by/on/at" in front of it) is removed.

Design
======

A deterministic rule layer handles the common phrases: the text is
normalised (full-width forms to ASCII, lower case, same length so spans map
back onto the original), a set of precompiled regular expressions finds
*atoms* (a date, a time, a part of the day, a relative offset), adjacent
atoms joined only by connectors ("at", "on", ",", "的" ...) are merged into a
*group*, and the group is resolved against ``now``.  ``dateparser`` is only a
fallback for ``parse_when`` when the rules could not understand the whole
text and the text still contains a date-ish token; ``extract_when`` never
uses it (it is too eager on free text).

Semantics chosen for ambiguous cases
====================================

* All arithmetic on days is done on the wall clock of ``now``'s zone, so
  "tomorrow 9am" is 09:00 local even across a DST change.  Offsets in
  seconds/minutes/hours ("in 90 minutes", "2小时后") are exact elapsed time.
* A phrase with a date but no time of day gets **09:00**, for ``prefer``
  "future" *and* "past" (one rule, easy to predict).  This includes day-sized
  offsets: "in 3 days", "3天后", "2 weeks ago" -> that day at 09:00.
* Parts of the day: morning/上午/早上 09:00, noon/中午 12:00,
  afternoon/下午 14:00, evening/傍晚 18:00, night/tonight/晚上/今晚 20:00,
  夜里 22:00, 凌晨 01:00, midnight/半夜 00:00 of the following day,
  eod/end of day/cob 17:00.
* An hour without am/pm and without a part of the day ("at 4", "3 o'clock",
  "明天3点", "4:30") is read as business hours: 1-6 -> 13:00-18:00,
  7-12 -> as written.  Zero-padded ("04:30") or 24-hour values are literal.
* Time only ("3pm"): prefer future -> today if not yet passed, else tomorrow;
  prefer past -> today if already passed, else yesterday.
* Bare weekday ("friday", "周五"): prefer future -> next occurrence after
  today; on the same weekday it is today only if a time later than ``now``
  is given, otherwise one week ahead.  Prefer past -> most recent occurrence
  before today (today only with a time that has already passed).
* "this friday" -> the Friday of the current Monday-Sunday week (with prefer
  future, rolled a week ahead if that day is already over); "next friday" /
  "下周五" -> Friday of next week; "last friday" -> the most recent Friday
  before today; "上周五" -> Friday of last week; "coming friday" -> next one.
* "next week"/"下周" -> Monday of next week; "next month"/"下个月" -> the 1st
  of next month; "next year"/"明年" -> January 1st; "next quarter" -> first
  day of next quarter (the "last ..." forms likewise).
* "end of week" -> Friday; "end of month"/"月底" -> last day of the month;
  "end of year"/"eoy"/"年底" -> Dec 31; "beginning of month"/"月初" -> the 1st;
  "weekend"/"周末" -> Saturday.  Without "this/next/last", such a point that
  already lies behind today is moved to the next period with prefer future
  (and one ahead of today moved to the previous period with prefer past).
  Such a point that falls on today moves the same way once its moment has
  passed ("end of month" on the 30th of November at 10:00 is 31 December
  09:00, never "already past"); with "this" it is taken as said.
* A day and month without a year ("jan 15", "1月15日", "12/01") -> this
  year's date, or next year's if it is already past (prefer future) / last
  year's if still ahead (prefer past).  Today counts as neither.  A lone day
  of month ("the 15th", "15号") works the same way with months.
* Numeric dates are month/day ("12/01" = December 1st) unless the first
  number cannot be a month.
* "midnight" attached to a date means the end of that day ("friday
  midnight" = Saturday 00:00).
* "next business day"/"下个工作日"/"in 3 working days" skip Saturdays and
  Sundays (no holiday calendar).  Fixed-date holidays (christmas, new year's
  day, 元旦, 圣诞节, 国庆节 ...) and thanksgiving work like "dec 25".

What is *not* taken for a date (``extract_when``; ``parse_when`` on a whole
text is a little more lenient, see below): everyday words that double as
dates ("may", "march", "sun", "sat", "wed", "mon", "second", "now") unless
other date words or a preposition ("on sat") come with them; bare numbers
and counts ("12000", "3 items", "at 4 locations", "3点建议"); fractions
("1/2 of"); durations ("lasted 3h 20m", "a year contract"); "good morning";
holiday names used as nouns ("Christmas party budget"); narrative offsets
("two days later").  Such weak pieces are accepted by ``parse_when`` only
when they make up the whole text ("12/01", "morning", "3点", "the 15th"), and
the words "may", "sun" ... never on their own.
"""
from __future__ import annotations

# The package, by job: numerals (normalising text, reading numbers), atoms (what a phrase is made
# of), english and chinese (the rules), scan (the pattern table, finding and grouping atoms),
# resolve (a group and ``now`` to a datetime), parse (the entry points and the dateparser fallback).
from bot.dates.parse import _parse, extract_when, impossible_date, parse_when

__all__ = ["parse_when", "extract_when", "impossible_date"]
