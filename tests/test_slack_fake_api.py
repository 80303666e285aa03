"""The Slack Web API stand-in behaves like Slack for the real slack_sdk client."""
from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient



def client(fake, **kw) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.api_url, **kw)


async def test_records_calls_and_answers_like_slack(slack_api):
    web = client(slack_api)
    first = await web.chat_postMessage(channel="C1", text="hello", blocks=[{"type": "divider"}])
    second = await web.chat_postMessage(channel="C1", text="again")
    assert first["channel"] == "C1" and first["ts"] != second["ts"]
    dm = await web.conversations_open(users="UALICE")
    assert dm["channel"]["id"].startswith("D")
    call = slack_api.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == [{"type": "divider"}]
    assert call.headers["Authorization"] == "Bearer xoxb-test"


async def test_users_info_and_unknown_user(slack_api):
    slack_api.add_user("UNEW", email="new@crm.example", name="New Person")
    web = client(slack_api)
    info = await web.users_info(user="UNEW")
    assert info["user"]["profile"]["email"] == "new@crm.example"
    with pytest.raises(SlackApiError) as err:
        await web.users_info(user="UNOBODY")
    assert err.value.response["error"] == "user_not_found"


async def test_files_upload_v2_goes_through_all_three_steps(slack_api, tmp_path):
    path = tmp_path / "export.json"
    path.write_text('{"a": 1}')
    result = await client(slack_api).files_upload_v2(channel="D1", file=str(path), title="export")
    file_id = result["file"]["id"]
    assert slack_api.uploads[file_id] == b'{"a": 1}'
    assert slack_api.calls_to("files.completeUploadExternal")[0].params["channel_id"] == "D1"


async def test_scripted_rate_limit_is_retried_by_the_sdk_handler(slack_api):
    slack_api.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    web = client(slack_api, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    await web.chat_postMessage(channel="C1", text="once")
    calls = slack_api.calls_to("chat.postMessage")
    assert [c.error for c in calls] == ["ratelimited", None]


async def test_scripted_error_without_retry(slack_api):
    slack_api.fail_next("views.open", error="expired_trigger_id")
    with pytest.raises(SlackApiError) as err:
        await client(slack_api).views_open(trigger_id="t", view={"type": "modal"})
    assert err.value.response["error"] == "expired_trigger_id"
    opened = await client(slack_api).views_open(trigger_id="t", view={"type": "modal"})
    assert opened["view"]["id"].startswith("V")
