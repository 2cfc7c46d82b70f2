"""Cron expressions as the configuration means them: 5 fields, crontab weekdays, Stockholm time.

Two differences from APScheduler 3 are bridged here:

* it numbers weekdays from Monday = 0, crontab from Sunday = 0 (its documented "historical
  mistake", fixed only in 4.x), so numeric weekdays are translated to names;
* when both the day of the month and the weekday are restricted, cron fires on either
  (``0 5 1 * mon``: the 1st and every Monday) while APScheduler fires on both, so such an
  expression becomes two triggers, either of which fires.

``?`` means ``*``; the nicknames of cron(8) (``@daily``, ``@hourly`` …) mean their 5
fields. Extensions cron does not define (``#``, ``L``, ``W``) are refused, not half-read,
and so is ``@reboot`` (a schedule, not a time).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from dcatwatch.errors import ConfigError

TIMEZONE = ZoneInfo("Europe/Stockholm")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = "(?:sun|mon|tue|wed|thu|fri|sat)"
_NAMES = re.compile(f"{_NAME}(?:-{_NAME})?")
_DAYS = re.compile(r"[0-9*,/-]+")  # no Quartz extensions (L, W, #) or APScheduler's "last"
NICKNAMES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
             "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
             "@hourly": "0 * * * *"}  # as cron(8) and crontab(5) define them


def crontab(expression: str) -> BaseTrigger:
    """A trigger for a 5-field crontab ``expression`` in Europe/Stockholm time.

    Raises ValueError (with APScheduler's reason) for an expression it cannot run.
    """
    nickname = expression.strip().lower()
    if nickname.startswith("@"):
        if nickname not in NICKNAMES:
            raise ValueError(f"{expression.strip()!r} is not a cron nickname (known: "
                             f"{', '.join(NICKNAMES)}); or give 5 fields")
        expression = NICKNAMES[nickname]
    fields = ["*" if f == "?" else f for f in expression.split()]
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    minute, hour, day, month, weekday = fields
    if not _DAYS.fullmatch(day) or "#" in weekday:
        raise ValueError("the days of the month are numbers, ranges, lists and steps, and "
                         "'#', 'L' and 'W' are not cron: give the days or weekdays themselves")
    weekdays = _weekdays(weekday)

    def trigger(day: str, weekdays: str) -> CronTrigger:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                           day_of_week=weekdays, timezone=TIMEZONE)

    if day != "*" and weekdays != "*":  # cron: either one
        return OrTrigger([trigger(day, "*"), trigger("*", weekdays)])
    return trigger(day, weekdays)


def setting_trigger(key: str, expression: str) -> BaseTrigger:
    """The trigger of the setting ``key``; a :class:`ConfigError` naming it when the cron
    cannot be used."""
    try:
        return crontab(expression)
    except ValueError as exc:
        raise ConfigError(key, f"cannot use the cron {expression!r}: {exc}") from None


def _weekdays(field: str) -> str:
    if field == "*":
        return field
    parts: list[str] = []
    for part in field.split(","):
        if any(c.isalpha() for c in part):  # names (mon-fri) mean the same in both
            if not _NAMES.fullmatch(part.lower()):
                raise ValueError(f"weekday {part!r} is not a day name or a range of them")
            parts.append(part)
        else:
            parts.extend(_DAY_NAMES[day] for day in _expand(part))
    return ",".join(dict.fromkeys(parts))


def _expand(part: str) -> range:
    base, _, step = part.partition("/")
    if base == "*":
        low, high = 0, 6
    elif "-" in base:
        low, high = (int(n) for n in base.split("-", 1))
    else:
        low = int(base)
        high = 7 if step else low
    if not 0 <= low <= high <= 7:
        raise ValueError(f"weekday {part!r} is outside 0–7 (0 and 7 are Sunday)")
    return range(low, high + 1, int(step or 1))


def next_after(trigger: BaseTrigger, moment: datetime) -> datetime:
    """The first fire time strictly after ``moment`` (a cron always fires again)."""
    fire = trigger.get_next_fire_time(moment, moment)
    assert fire is not None, "a cron trigger without an end date always has a next time"
    return fire


def fire_times_between(trigger: BaseTrigger, after: datetime, until: datetime,
                       cap: int = 1000) -> int:
    """How many fire times fall in (``after``, ``until``], counting at most ``cap``."""
    count, moment = 0, after
    while count < cap:
        moment = next_after(trigger, moment)
        if moment > until:
            break
        count += 1
    return count
