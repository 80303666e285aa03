"""What the customer inbox says to customers, in English and Chinese.

Customers never see CRM data beyond their own ticket's status, so every customer-facing
sentence lives here, in one reviewable place.
"""
from __future__ import annotations

LANGUAGES = ("en", "zh")

TEXTS: dict[str, tuple[str, str]] = {
    "welcome": (
        "Hello {name}! This is {company}'s support chat. Write your question here and our team will "
        "answer in this chat.\n\nIf you are already our customer, tap “Share my phone number” so we can "
        "find your account.",
        "{name}，您好！这里是 {company} 的客服对话。请直接在这里留言，我们的团队会在此回复您。\n\n"
        "如果您已经是我们的客户，请点击“分享我的手机号”，以便我们找到您的账户。"),
    "welcome_back": (
        "Hello {name}, welcome back! Write your message here and our team will answer in this chat.",
        "{name}，欢迎回来！请直接留言，我们的团队会在此回复您。"),
    "share_phone_button": ("📱 Share my phone number", "📱 分享我的手机号"),
    "bound_by_phone": (
        "Thank you, {name}: we found your account. Write your message whenever you like.",
        "谢谢，{name}：已找到您的账户。您可以随时留言。"),
    "phone_saved": (
        "Thank you! We saved your number; our team will take it from here. Write your message whenever you like.",
        "谢谢！已保存您的号码，我们的团队会跟进。您可以随时留言。"),
    "bound_by_invite": (
        "Welcome, {name}! Your chat is now connected to your account with {company}. Write your message "
        "whenever you like.",
        "欢迎，{name}！您的对话已与您在 {company} 的账户关联。您可以随时留言。"),
    "invite_invalid": (
        "This invitation link is not valid any more (it may have expired or been used). You can still "
        "write to us here; to connect your account, ask your contact for a new link.",
        "该邀请链接已失效（可能已过期或已被使用）。您仍可在此留言；如需关联账户，请向您的联系人索取新链接。"),
    "help": (
        "You can simply write your message here; our team answers in this chat.\n\n"
        "/status – is your request open, and who is handling it\n"
        "/language en|zh – English or Chinese\n"
        "/stop – no more marketing messages\n"
        "/forgetme – erase your personal data\n"
        "/help – this list",
        "直接在这里留言即可，我们的团队会在此回复您。\n\n"
        "/status – 查看您的请求状态及负责人\n"
        "/language en|zh – 切换英文或中文\n"
        "/stop – 不再接收营销消息\n"
        "/forgetme – 删除您的个人数据\n"
        "/help – 显示此列表"),
    "status_open": (
        "Your request #{ticket} is open. {who}",
        "您的请求 #{ticket} 正在处理中。{who}"),
    "status_handler": ("{name} is handling it.", "由 {name} 负责处理。"),
    "status_unassigned": ("Our team will pick it up shortly.", "我们的团队会尽快跟进。"),
    "status_none": (
        "You have no open request. Write a message and we will open one for you.",
        "您目前没有未处理的请求。发送消息即可为您创建新的请求。"),
    "status_resolved": (
        "Your last request #{ticket} was resolved. Write a message if you need anything else.",
        "您上一个请求 #{ticket} 已解决。如有其他需要，请直接留言。"),
    "language_set": ("Done: I will write to you in English.", "好的，之后我会用中文与您交流。"),
    "language_usage": (
        "Please choose a language: /language en (English) or /language zh (中文).",
        "请选择语言：/language en（English）或 /language zh（中文）。"),
    "stopped": (
        "Done: you will not receive marketing messages any more. You can still write to us here.",
        "好的，您将不再收到营销消息。您仍可在此联系我们。"),
    "forget_ask": (
        "This erases your personal data and the text of your messages with us, for good. "
        "Tap “Erase my data” or type /forgetme confirm to go ahead.",
        "这将永久删除您的个人数据和与我们的消息内容。点击“删除我的数据”或输入 /forgetme confirm 以继续。"),
    "forget_button": ("Erase my data", "删除我的数据"),
    "forget_done": (
        "Your personal data has been erased and this chat is no longer linked to an account. Goodbye!",
        "您的个人数据已删除，此对话不再关联任何账户。再见！"),
    "forget_nothing": ("We hold no data linked to this chat.", "此对话没有关联任何数据。"),
    "not_for_customers": (
        "Sorry, that command is only for our staff. Just write your message here and our team will "
        "answer; type /help to see what you can do.",
        "抱歉，该命令仅供员工使用。请直接留言，我们的团队会回复您；输入 /help 查看可用操作。"),
    "out_of_office": (
        "Thanks for your message! Our team is away right now (we work {days}, {hours}, {zone}); "
        "we will answer as soon as we are back.",
        "感谢您的留言！我们目前不在工作时间（{days} {hours}，{zone}），回来后会尽快回复您。"),
    "resolved_rate": (
        "Your request #{ticket} has been resolved. How did we do? Please rate us from 1 (poor) to 5 (excellent).",
        "您的请求 #{ticket} 已解决。请为我们的服务评分：1（差）到 5（非常好）。"),
    "rating_thanks": ("Thank you for your rating ({rating}/5)!", "感谢您的评分（{rating}/5）！"),
    "rating_stale": ("Thanks! That request has already been rated.", "谢谢！该请求已评过分。"),
    "unsupported": (
        "Sorry, I can't read this kind of message yet. Please write it as text.",
        "抱歉，暂时无法读取此类消息，请用文字发送。"),
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order; BUSINESS_DAYS uses these
DAY_NAMES = {"mon": ("Mon", "周一"), "tue": ("Tue", "周二"), "wed": ("Wed", "周三"), "thu": ("Thu", "周四"),
             "fri": ("Fri", "周五"), "sat": ("Sat", "周六"), "sun": ("Sun", "周日")}


def language_from_code(code: str | None) -> str:
    """Telegram's IETF language tag (``zh-hans``, ``en-US``) to one of our languages."""
    return "zh" if (code or "").lower().startswith("zh") else "en"


def say(key: str, lang: str, **values) -> str:
    en, zh = TEXTS[key]
    return (zh if lang == "zh" else en).format(**values)
