"""What the customer inbox says to customers: every customer-facing sentence, by key.

Customers never see CRM data beyond their own ticket's status, so every customer-facing
sentence lives here, in one reviewable place: the English msgid here, its Chinese in the
catalogue (crm/locale/zh/LC_MESSAGES/crm.po) like every other text.
"""
from __future__ import annotations

from crm.i18n import N_, gettext, weekday_name

LANGUAGES = ("en", "zh")

TEXTS: dict[str, str] = {
    "welcome": N_(
        "Hello {name}! This is {company}'s support chat. Write your question here and our team will "
        "answer in this chat.\n\nIf you are already our customer, tap “Share my phone number” so we "
        "can find your account."),
    "welcome_back": N_(
        "Hello {name}, welcome back! Write your message here and our team will answer in this chat."),
    "share_phone_button": N_("📱 Share my phone number"),
    "bound_by_phone": N_("Thank you, {name}: we found your account. Write your message whenever you like."),
    "phone_saved": N_(
        "Thank you! We saved your number; our team will take it from here. Write your message "
        "whenever you like."),
    "bound_by_invite": N_(
        "Welcome, {name}! Your chat is now connected to your account with {company}. Write your "
        "message whenever you like."),
    "invite_invalid": N_(
        "This invitation link is not valid any more (it may have expired or been used). You can "
        "still write to us here; to connect your account, ask your contact for a new link."),
    "help": N_(
        "You can simply write your message here; our team answers in this chat.\n\n/status – is your "
        "request open, and who is handling it\n/language en|zh – English or Chinese\n/stop – no more "
        "marketing messages\n/forgetme – erase your personal data\n/help – this list"),
    "status_open": N_("Your request #{ticket} is open. {who}"),
    "status_handler": N_("{name} is handling it."),
    "status_unassigned": N_("Our team will pick it up shortly."),
    "status_none": N_("You have no open request. Write a message and we will open one for you."),
    "status_resolved": N_("Your last request #{ticket} was resolved. Write a message if you need anything else."),
    "language_set": N_("Done: I will write to you in English."),
    "language_usage": N_("Please choose a language: /language en (English) or /language zh (中文)."),
    "stopped": N_("Done: you will not receive marketing messages any more. You can still write to us here."),
    "forget_ask": N_(
        "This erases your personal data and the text of your messages with us, for good. Tap “Erase "
        "my data” or type /forgetme confirm to go ahead."),
    "forget_button": N_("Erase my data"),
    "forget_done": N_(
        "Your personal data has been erased and this chat is no longer linked to an account. Goodbye!"),
    "forget_nothing": N_("We hold no data linked to this chat."),
    "not_for_customers": N_(
        "Sorry, that command is only for our staff. Just write your message here and our team will "
        "answer; type /help to see what you can do."),
    "out_of_office": N_(
        "Thanks for your message! Our team is away right now (we work {days}, {hours}, {zone}); we "
        "will answer as soon as we are back."),
    "resolved_rate": N_(
        "Your request #{ticket} has been resolved. How did we do? Please rate us from 1 (poor) to 5 "
        "(excellent)."),
    "rating_thanks": N_("Thank you for your rating ({rating}/5)!"),
    "rating_stale": N_("Thanks! That request has already been rated."),
    "unsupported": N_("Sorry, I can't read this kind of message yet. Please write it as text."),
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order; BUSINESS_DAYS uses these


def day_name(day: str, lang: str) -> str:
    """"Mon", "周一": a business day's short name (CLDR's, via Babel)."""
    return weekday_name(WEEKDAYS.index(day), lang)


def language_from_code(code: str | None) -> str:
    """Telegram's IETF language tag (``zh-hans``, ``en-US``) to one of our languages."""
    return "zh" if (code or "").lower().startswith("zh") else "en"


def say(key: str, lang: str, **values) -> str:
    return gettext(lang, TEXTS[key], **values)
