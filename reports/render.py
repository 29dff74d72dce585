"""A report's e-mail: jinja2 templates (HTML autoescaped, plain text) filled with locale-formatted
figures, CSS inlined (css-inline), charts attached as inline PNGs by Content-ID, and the headers mail
clients need (Date, Message-ID, List-Unsubscribe, UTF-8 subject).

Log text (replies, addresses) is attacker-controlled: it only ever reaches the HTML through jinja's
autoescaping and is never evaluated as a template ({{ }} in a reply stays text)."""

from __future__ import annotations

import base64
import email.policy
import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

import css_inline
import jinja2
import nh3
import polars as pl

from reports.content import ReportContent
from reports.i18n import Words
from reports.preferences import UserSettings

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("reports", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
SAFE_TAGS = {"table", "tbody", "thead", "tr", "td", "th", "div", "span", "p", "h1", "h2", "h3", "b", "br", "img", "a"}
SAFE_ATTRIBUTES = {
    "*": {"style", "class", "id", "align", "colspan", "role", "cellpadding", "cellspacing", "width", "data-name"},
    "img": {"src", "alt"},
    "a": {"href"},
}
"""What the report's HTML uses, and all a preview keeps."""
TOTALS = ("attempts", "sent", "deferred", "bounced", "expired")


@dataclass(frozen=True)
class Image:
    """An inline chart: its Content-ID (without brackets), PNG bytes and alternative text."""

    cid: str
    png: bytes
    alt: str


@dataclass(frozen=True)
class RenderedReport:
    """The finished report: subject, the two bodies (HTML with cid: images) and the charts."""

    language: str
    subject: str
    html: str
    text: str
    images: tuple[Image, ...]

    def preview_html(self) -> str:
        """A sanitised page a browser can show: each cid: image as a data: URI, then only the mail's own
        tags and attributes kept (nh3), so no script or active content can survive whatever went wrong."""
        html = self.html
        for image in self.images:
            html = html.replace(f"cid:{image.cid}", "data:image/png;base64," + base64.b64encode(image.png).decode())
        body = nh3.clean(
            html,
            tags=SAFE_TAGS,
            attributes=SAFE_ATTRIBUTES,
            url_schemes={"https", "http", "data"},
            link_rel="noopener noreferrer",
            strip_comments=True,
            clean_content_tags={"script", "style", "title"},
        )
        return (
            f'<!DOCTYPE html><html lang="{self.language}"><head><meta charset="utf-8"></head><body>{body}</body></html>'
        )


def _rows(
    frame: pl.DataFrame | None,
    words: Words,
    name: str,
    *,
    rates: tuple[str, ...] = (),
    prefs: UserSettings | None = None,
) -> list[dict]:
    """Table rows with every count and rate formatted for the locale; `name` is the key column; with
    `prefs`, each row's error rate gets the reader's threshold level."""
    if frame is None:
        return []
    rows = []
    for row in frame.iter_rows(named=True):
        shown: dict[str, Any] = {"name": row[name]}
        if prefs is not None:
            shown["level"] = prefs.level(row.get("error_rate"))
        for key, value in row.items():
            if key == name:
                continue
            if key in rates:
                shown[key] = words.percent(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                shown[key] = words.number(value)
            else:
                shown[key] = value
        rows.append(shown)
    return rows


def _period_label(content: ReportContent, words: Words) -> str:
    period = content.period
    if period.frequency == "daily":
        return words("period.daily", first=words.day(period.first))
    if period.frequency == "weekly":
        return words("period.weekly", first=words.day(period.first), last=words.day(period.last))
    return words("period.monthly", month=words.month(period.first))


def _queue(content: ReportContent, words: Words) -> list[dict] | None:
    if content.queue is None:
        return None
    history = content.queue.history
    rows = []
    for row in content.queue.summary.iter_rows(named=True):
        sizes = history.filter(pl.col("gateway") == row["gateway"]).sort("snapshot_ts")["messages"].to_list()
        trend = f"{words.number(sizes[0])} → {words.number(sizes[-1])}" if sizes else "–"
        rows.append(
            {
                "name": row["gateway"],
                "messages": words.number(row["messages"]),
                "oldest": words.number(row["oldest_hours"], 1),
                "trend": trend,
            }
        )
    return rows


def context(content: ReportContent, words: Words, base_url: str, charts: dict[str, Image]) -> dict[str, Any]:
    """Everything the templates show, already formatted (the templates hold no logic but layout)."""
    zone = ZoneInfo(content.settings.timezone)
    now, before = content.current, content.before
    totals = []
    for key in TOTALS:
        value, old = now.totals.get(key, 0), before.totals.get(key, 0)
        totals.append(
            {
                "key": key,
                "label": words(key),
                "value": words.number(value),
                "previous": words.number(old),
                "change": words.change(value, old),
            }
        )
    complaints = content.details.complaints
    rate, old_rate = now.error_rate, before.error_rate
    prefs = content.prefs
    base = base_url.rstrip("/")
    details = content.details
    blacklist = None
    if "blacklist" in content.sections and details.blacklist_added is not None:
        blacklist = {
            "added": _rows(details.blacklist_added, words, "value"),
            "expired": _rows(details.blacklist_expired, words, "value"),
        }
    reasons = [
        {
            "name": r["reason"],
            "meaning": words.reason(r["reason"]),
            "attempts": words.number(r["attempts"]),
            "hard": words.number(r["hard"]),
            "soft": words.number(r["soft"]),
            "sample": r["sample"] or "",
        }
        for r in details.reasons.iter_rows(named=True)
    ]
    return {
        "lang": words.language,
        "w": words,
        "title": words("title"),
        "period_label": _period_label(content, words),
        "intro": words(
            "intro",
            first=words.moment(content.period.start, zone),
            last=words.moment(content.period.end, zone),
            zone=content.settings.timezone,
        ),
        "sections": content.sections,
        "totals": totals,
        "complaints": None if complaints is None else words.number(complaints),
        "error_rate": {
            "value": words.percent(rate),
            "previous": words.percent(old_rate),
            "change": words.change(rate, old_rate, points=True),
            "level": prefs.level(rate),
            "level_label": words(f"level.{prefs.level(rate)}"),
            "errors": words.number(now.totals.get("errors", 0)),
        },
        "rate_help": words(
            "rate.soft" if prefs.soft_is_error else "rate.hard",
            warn=words.number(prefs.warn_rate, 1),
            critical=words.number(prefs.critical_rate, 1),
        ),
        "reasons": reasons,
        "domains": _rows(content.bounces.domains, words, "recipient_domain", rates=("failure_rate",)),
        "providers": _rows(content.bounces.providers, words, "provider", rates=("failure_rate",)),
        "senders": _rows(details.worst_senders, words, "sender", rates=("error_rate",), prefs=prefs),
        "logins": _rows(details.worst_logins, words, "sasl_username", rates=("error_rate",), prefs=prefs),
        "blacklist": blacklist,
        "queue": _queue(content, words),
        "reputation": None
        if content.reputation is None
        else _rows(
            content.reputation.table.with_columns(name=pl.col("gateway") + " × " + pl.col("provider")).head(15),
            words,
            "name",
            rates=("accepted_rate", "deferred_rate", "rejected_rate"),
        ),
        "links": {page: f"{base}/{page}" for page in ("overview", "bounces", "logs", "queue", "reputation", "account")},
        "charts": charts,
        "footer": words("footer", user=content.user.name, frequency=words(f"frequency.{content.settings.frequency}")),
    }


def render(content: ReportContent, *, base_url: str, cid_domain: str = "relaywatch.invalid") -> RenderedReport:
    """The report's subject, HTML (CSS inlined) and text bodies, and its chart images."""
    # altair and vl-convert take ~2.5 s to import: only a process that renders a report pays for them
    # (the scheduler and the CLI start without them).
    from reports.charts import reasons_png, timeline_png

    words = Words(content.prefs.language)
    zone = ZoneInfo(content.settings.timezone)
    token = hashlib.sha256(f"{content.user.name}|{content.period.key}".encode()).hexdigest()[:16]
    charts: dict[str, Image] = {}
    pictures = {
        "timeline": (
            lambda: timeline_png(content.current.timeline, words, zone, content.period.window),
            "chart.timeline",
        ),
        "reasons": (lambda: reasons_png(content.details.reasons, words), "chart.reasons"),
    }
    for name, (draw, alt) in pictures.items():
        if name == "reasons" and "reasons" not in content.sections:
            continue
        png = draw()
        if png is not None:
            charts[name] = Image(f"{name}.{token}@{cid_domain}", png, words(alt))
    values = context(content, words, base_url, charts)
    subject = words("subject", period=values["period_label"])
    values["subject"] = subject
    html = css_inline.inline(_env.get_template("report.html").render(values))
    text = _env.get_template("report.txt").render(values)
    return RenderedReport(words.language, subject, html, text, tuple(charts.values()))


def message_id(user: str, period_key: str, domain: str) -> str:
    """The same Message-ID for the same user and period: a report sent twice (a crash between the
    relay's acceptance and the record) is recognisably one report to the reader's mail system."""
    digest = hashlib.sha256(f"{user}|{period_key}".encode()).hexdigest()[:24]
    return f"<report.{digest}@{domain}>"


def build_message(
    report: RenderedReport,
    *,
    sender: str,
    recipients: tuple[str, ...],
    now: datetime,
    unsubscribe: str,
    msgid: str | None = None,
) -> EmailMessage:
    """The MIME message: multipart/alternative of text/plain and a multipart/related HTML with its charts."""
    domain = sender.rpartition("@")[2] or "localhost"
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = report.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = msgid or make_msgid("report", domain=domain)
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(report.text, cte="quoted-printable")
    message.add_alternative(report.html, subtype="html", cte="quoted-printable")
    html_part = message.get_payload()[1]
    for image in report.images:
        html_part.add_related(
            image.png,
            "image",
            "png",
            cid=f"<{image.cid}>",
            filename=image.cid.partition(".")[0] + ".png",
            disposition="inline",
        )
    message["Content-Language"] = report.language  # after the bodies: set_content clears Content-* headers
    return message
