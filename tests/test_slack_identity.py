"""integrations/slack/identity.py: a Slack user's zone and language are read as everywhere else."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.settings import Settings
from crm.models import Staff
from integrations.slack.identity import StaffView


def test_a_staff_members_zone_and_language_fall_back_to_the_business_not_to_utc_and_english():
    business = Settings(crm_timezone="Asia/Shanghai", crm_language="zh")
    unset = StaffView.of(Staff(id=7, name="Wang", timezone="Mars/Olympus_Mons", language=""), business)
    assert unset.zone == ZoneInfo("Asia/Shanghai")  # a bad zone in the store: the business's, as reminders do
    assert unset.language == "zh"
    own = StaffView.of(Staff(id=8, name="Ann", timezone="Europe/Berlin", language="en"), business)
    assert own.zone == ZoneInfo("Europe/Berlin") and own.language == "en"
    assert StaffView.of(None, business) is None
