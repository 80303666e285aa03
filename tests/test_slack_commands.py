"""Every `/crm` command of the contract, typed in Slack: signed requests to the running app,
answers read back from the Slack Web API stand-in, outcomes checked in the store."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crm.models import AuditEvent, Customer, Deal, Interaction, Relationship, Task
from tests.slack_harness import all_text, buttons


def test_help_lists_commands_ephemerally(slack_bot):
    answer = slack_bot.ask("help")
    assert answer["response_type"] == "ephemeral"
    text = all_text(answer)
    for name in ("show", "log", "remind", "tasks", "forget"):
        assert f"/crm {name}" in text
    assert len(answer["blocks"]) <= 50


def test_empty_command_is_help(slack_bot):
    assert "/crm show" in all_text(slack_bot.ask(""))


def test_add_with_slack_escaped_mention_and_email(slack_bot, db, team):
    # what Slack sends for: /crm add "Umbrella Corp" email=ceo@umbrella.example owner=@bob company=A&B
    answer = slack_bot.ask('add "Umbrella Corp" email=<mailto:ceo@umbrella.example|ceo@umbrella.example> '
                           'owner=<@UBOB|bob> company=A&amp;B', user="UMARIA")
    assert "Umbrella Corp" in all_text(answer)
    with db.session() as s:
        umbrella = s.exec(select(Customer).where(Customer.name == "Umbrella Corp")).one()
        assert umbrella.email == "ceo@umbrella.example"
        assert umbrella.owner_id == team.bob
        assert "a&b" in umbrella.search_text  # stored as typed
    assert "A&amp;B" in all_text(answer)  # escaped for mrkdwn in the message


def test_find_lists_matches_with_owner(slack_bot):
    text = all_text(slack_bot.ask("find glob"))
    assert "Globex Corporation" in text and "Alice Rep" in text


def test_show_card_has_fields_sections_and_form_buttons(slack_bot, db, team):
    slack_bot.ask("log globex call yesterday 4pm discussed renewal pricing")
    slack_bot.ask("remind globex tomorrow 3pm send the proposal")
    answer = slack_bot.ask("show globex")
    assert answer["response_type"] == "ephemeral"
    blocks = answer["blocks"]
    assert blocks[0]["type"] == "header" and "Globex Corporation" in blocks[0]["text"]["text"]
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert "*Owner*\nAlice Rep" in fields
    text = all_text(answer)
    assert "Recent interactions" in text and "discussed renewal pricing" in text
    assert "Open follow-ups" in text and "send the proposal" in text
    assert {"Log interaction", "Add follow-up"} <= set(buttons(blocks))


def test_show_public_posts_in_channel(slack_bot):
    answer = slack_bot.ask("show globex public")
    assert answer["response_type"] == "in_channel"
    assert "Globex Corporation" in all_text(answer)


def test_log_stores_an_interaction(slack_bot, db, team):
    answer = slack_bot.ask("log globex call yesterday 4pm discussed renewal pricing")
    assert "Logged a call" in all_text(answer)
    with db.session() as s:
        row = s.exec(select(Interaction).where(Interaction.customer_id == team.globex)).one()
        assert row.text == "discussed renewal pricing" and row.source_platform == "slack"


def test_remind_tasks_done_snooze(slack_bot, db, team):
    slack_bot.ask("remind globex tomorrow 3pm send the proposal")
    with db.session() as s:
        task = s.exec(select(Task).where(Task.customer_id == team.globex)).one()
    tasks = slack_bot.ask("tasks")
    assert "send the proposal" in all_text(tasks)
    assert {"Done", "Snooze"} <= set(buttons(tasks["blocks"]))
    assert "Snoozed" in all_text(slack_bot.ask(f"snooze #{task.id} friday 10am"))
    assert "Done" in all_text(slack_bot.ask(f"done #{task.id}"))
    with db.session() as s:
        assert s.get(Task, task.id).status == "done"


def test_deal_and_link(slack_bot, db, team):
    assert "12,000" in all_text(slack_bot.ask("deal globex 12000 proposal"))
    slack_bot.ask("link globex initech referred", user="UMARIA")  # Initech is Bob's: his manager links it
    with db.session() as s:
        assert s.exec(select(Deal).where(Deal.customer_id == team.globex)).one().amount == 12000
        assert s.exec(select(Relationship).where(Relationship.from_customer_id == team.globex)).one().kind == "referred"


@pytest.mark.parametrize("line", ["similar globex", "next", "intro globex", "insights", "graph globex", "digest",
                                  "campaign report spring", "stats me"])
def test_insight_and_campaign_commands_answer_well_formed(slack_bot, line):
    """Whatever these answer in this build, the answer reaches Slack as valid Block Kit."""
    answer = slack_bot.ask(line, user="UMARIA")
    assert answer["text"].strip()
    assert 0 < len(answer["blocks"]) <= 50
    for block in answer["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000


def test_invite_gives_a_link(slack_bot):
    assert "start=" in all_text(slack_bot.ask("invite globex"))


def test_export_uploads_the_file_to_the_admins_dm(slack_bot):
    answer = slack_bot.ask("export globex", user="UADA")
    assert "direct messages" in all_text(answer)
    complete = slack_bot.fake.wait_for("files.completeUploadExternal")[0]
    assert complete.params["channel_id"] == "DADA"  # the admin's DM, never the channel
    file_id = complete.params["files"][0]["id"]
    exported = json.loads(slack_bot.fake.uploads[file_id])
    assert "Globex Corporation" in json.dumps(exported, ensure_ascii=False)


def test_export_is_refused_for_a_rep(slack_bot):
    answer = slack_bot.ask("export globex", user="UALICE")
    assert "admin" in all_text(answer)
    assert not slack_bot.fake.calls_to("files.getUploadURLExternal")


def test_forget_asks_then_erases_through_the_confirm_button(slack_bot, db, team):
    answer = slack_bot.ask("forget globex", user="UADA")
    erase = buttons(answer["blocks"])["Erase"]
    assert erase["style"] == "danger" and erase["confirm"]["style"] == "danger"
    with db.session() as s:
        assert s.get(Customer, team.globex).forgotten_at is None  # asking changes nothing
    sent = slack_bot.click(erase, user="UADA")
    assert sent.status == 200
    assert "Erased" in all_text(slack_bot.answer(sent))
    with db.session() as s:
        assert s.get(Customer, team.globex).forgotten_at is not None


def test_audit_shows_who_read_the_customer(slack_bot, db, team):
    slack_bot.ask("show globex", user="UALICE")
    text = all_text(slack_bot.ask("audit globex", user="UADA"))
    assert "Alice Rep via slack" in text and "customer.view" in text
    with db.session() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "audit.read")).first() is not None


def test_user_error_is_explained_with_usage(slack_bot):
    answer = slack_bot.ask("log globex dance all night")
    text = all_text(answer)
    assert "not a kind I know" in text and "Usage: `/crm log" in text


def test_chinese_user_gets_chinese(slack_bot):
    assert "已记录" in all_text(slack_bot.ask("log 王伟 电话 昨天下午4点 讨论续约价格", user="UBOB"))
