"""README's Monitoring section stays true: every metric it names (the table and the example
alerts) is served by GET /metrics, and every label an alert filters on is one that metric has.

An alert on a metric that does not exist never fires: Prometheus evaluates it to nothing, silently.
"""
from __future__ import annotations

import re
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.slack_api import slack_api  # noqa: F401
from tests.slack_harness import slack_bot  # noqa: F401

README = Path(__file__).resolve().parents[1] / "README.md"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
            "gauge": ("",), "summary": ("_count", "_sum", "_created")}


def monitoring_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Monitoring")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def named_in_readme(section: str) -> dict[str, set[str]]:
    """Every ``crm_…`` metric name in the section, with the label names written beside it
    (``name{a,b}`` in the table, ``name{a="x",b=~"y"}`` in the alerts)."""
    names: dict[str, set[str]] = {}
    for match in re.finditer(r"\b(crm_[a-z0-9_]+)(\{[^}]*\})?", section):
        labels = names.setdefault(match.group(1), set())
        if match.group(2):
            labels.update(re.findall(r"([a-z_]+)\s*(?:[=!]~?|,|\})", match.group(2)))
    return names


def scrape(base: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """(every sample name served → its family's type, family name → label names seen in its samples)."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    served: dict[str, str] = {}
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(response.text):
        for suffix in SUFFIXES.get(family.type, ("",)):
            served[family.name + suffix] = family.type
        served[family.name] = family.type
        for sample in family.samples:
            served[sample.name] = family.type
            labels.setdefault(family.name, set()).update(k for k in sample.labels if k not in ("le", "quantile"))
    return served, labels


def family_of(name: str, served: dict[str, str]) -> str:
    for suffix in ("_total", "_bucket", "_count", "_sum", "_created"):
        if name.endswith(suffix) and name[: -len(suffix)] in served:
            return name[: -len(suffix)]
    return name


def test_the_parser_finds_names_and_labels_in_the_readme_format():
    found = named_in_readme('| `crm_x_total{route,platform}` | … |\n'
                            'expr: rate(crm_y_bucket{platform="slack",status=~"5.."}[5m]) > crm_z')
    assert found == {"crm_x_total": {"route", "platform"}, "crm_y_bucket": {"platform", "status"}, "crm_z": set()}


def test_every_metric_and_label_the_readme_names_is_served_on_metrics(slack_bot):  # noqa: F811
    section = monitoring_section()
    assert "What to alert on" in section and "```yaml" in section
    named = named_in_readme(section)
    assert len(named) >= 15, sorted(named)  # the table and the alerts were both read
    slack_bot.ask("help")  # labelled series (requests, acks) get samples, so their labels can be checked
    base = slack_bot.url.rsplit("/slack/events", 1)[0]
    served, labels = scrape(base)
    # families with no sample yet (no relay post, no 429 in this test): their declared label names
    for metric in vars(slack_bot.app.metrics).values():
        if hasattr(metric, "_labelnames") and hasattr(metric, "_name"):
            labels.setdefault(metric._name, set(metric._labelnames))
    missing = sorted(name for name in named if name not in served)
    assert not missing, f"README names metrics /metrics does not serve: {missing}"
    wrong_labels = {}
    for name, wanted in named.items():
        family = family_of(name, served)
        if family in labels and not wanted <= labels[family]:
            wrong_labels[name] = sorted(wanted - labels[family])
    assert not wrong_labels, f"README filters on labels these metrics do not have: {wrong_labels}"
    # the labelled families the alerts lean on had samples to check against
    assert {"crm_http_requests", "crm_ack_duration_seconds"} <= set(labels)
