"""The reports' words in English and French, and locale formatting of numbers and dates (babel)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

LOCALES = {"en": "en_GB", "fr": "fr_FR"}

TEXT: dict[str, tuple[str, str]] = {
    "subject": ("Deliverability report {period}", "Rapport de délivrabilité {period}"),
    "title": ("Deliverability report", "Rapport de délivrabilité"),
    "period.daily": ("of {first}", "du {first}"),
    "period.weekly": ("for the week of {first} to {last}", "de la semaine du {first} au {last}"),
    "period.monthly": ("for {month}", "de {month}"),
    "intro": (
        "What happened to the mail you can see in relaywatch, {first} to {last} ({zone}).",
        "Ce qui est arrivé au courrier que vous voyez dans relaywatch, du {first} au {last} ({zone}).",
    ),
    "section.traffic": ("Traffic", "Trafic"),
    "section.reasons": ("Top failure reasons", "Principales causes d'échec"),
    "section.domains": ("Failing recipient domains and providers", "Domaines et fournisseurs en échec"),
    "section.senders": (
        "Senders and SMTP logins with the worst rates",
        "Expéditeurs et identifiants SMTP aux pires taux",
    ),
    "section.blacklist": ("Blacklist changes", "Évolution de la liste noire"),
    "section.queue": ("Mail queue", "File d'attente"),
    "section.reputation": ("Reputation per gateway and provider", "Réputation par passerelle et fournisseur"),
    "attempts": ("Attempts", "Tentatives"),
    "sent": ("Delivered", "Délivrés"),
    "deferred": ("Deferred", "Différés"),
    "bounced": ("Bounced", "Rebondis"),
    "expired": ("Expired", "Expirés"),
    "complaints": ("Complaints", "Plaintes"),
    "errors": ("Errors", "Erreurs"),
    "error_rate": ("Error rate", "Taux d'erreur"),
    "failures": ("Failures", "Échecs"),
    "failure_rate": ("Failure rate", "Taux d'échec"),
    "previous": ("Previous period", "Période précédente"),
    "change": ("Change", "Évolution"),
    "not_collected": ("not collected", "non collectées"),
    "rate.soft": (
        "Error rate counts hard and soft failures (your setting); orange from {warn} %, red from {critical} %.",
        "Le taux d'erreur compte les échecs définitifs et temporaires (votre réglage) ; "
        "orange dès {warn} %, rouge dès {critical} %.",
    ),
    "rate.hard": (
        "Error rate counts hard failures only (your setting); orange from {warn} %, red from {critical} %.",
        "Le taux d'erreur ne compte que les échecs définitifs (votre réglage) ; "
        "orange dès {warn} %, rouge dès {critical} %.",
    ),
    "level.ok": ("normal", "normal"),
    "level.warn": ("watch", "à surveiller"),
    "level.critical": ("critical", "critique"),
    "reason": ("Reason", "Cause"),
    "meaning": ("What it means", "Ce que cela signifie"),
    "sample": ("Example reply", "Exemple de réponse"),
    "domain": ("Recipient domain", "Domaine destinataire"),
    "provider": ("Provider", "Fournisseur"),
    "sender": ("Sender", "Expéditeur"),
    "login": ("SMTP login", "Identifiant SMTP"),
    "gateway": ("Gateway", "Passerelle"),
    "queued": ("Queued messages", "Messages en file"),
    "oldest": ("Oldest (hours)", "Plus ancien (heures)"),
    "trend": ("Trend over the period", "Évolution sur la période"),
    "snapshot": ("Snapshot", "Relevé"),
    "accepted_rate": ("Accepted", "Acceptés"),
    "deferred_rate": ("Deferred", "Différés"),
    "rejected_rate": ("Rejected", "Rejetés"),
    "flagged": ("Reputation signals", "Signaux de réputation"),
    "added": ("Added in the period", "Ajoutées sur la période"),
    "expired_entries": ("Expired in the period", "Expirées sur la période"),
    "kind": ("Kind", "Type"),
    "value": ("Entry", "Entrée"),
    "none": ("Nothing in this period.", "Rien sur cette période."),
    "no_queue": ("No queue snapshot.", "Aucun relevé de file."),
    "chart.timeline": (
        "Delivery attempts over the period, by outcome",
        "Tentatives de livraison sur la période, par résultat",
    ),
    "chart.reasons": ("Failures by reason", "Échecs par cause"),
    "open": ("Open in the dashboards", "Ouvrir dans les tableaux de bord"),
    "preferences": ("Report preferences or unsubscribe", "Préférences du rapport ou désabonnement"),
    "footer": (
        "You receive this report because of your relaywatch account {user} ({frequency}).",
        "Vous recevez ce rapport en raison de votre compte relaywatch {user} ({frequency}).",
    ),
    "frequency.daily": ("daily", "quotidien"),
    "frequency.weekly": ("weekly", "hebdomadaire"),
    "frequency.monthly": ("monthly", "mensuel"),
    "frequency.off": ("on request", "à la demande"),
    "status.sent": ("delivered", "délivré"),
    "status.deferred": ("deferred", "différé"),
    "status.bounced": ("bounced", "rejeté"),
    "status.expired": ("expired", "expiré"),
}

REASONS: dict[str, tuple[str, str]] = {
    "delivered": ("Accepted by the receiving server.", "Accepté par le serveur destinataire."),
    "user_unknown": (
        "The address does not exist: remove it from your lists.",
        "L'adresse n'existe pas : retirez-la de vos listes.",
    ),
    "domain_not_found": (
        "The recipient's domain does not exist or accepts no mail.",
        "Le domaine du destinataire n'existe pas ou ne reçoit pas de courrier.",
    ),
    "mailbox_full": (
        "The recipient's mailbox is full; later attempts may work.",
        "La boîte du destinataire est pleine ; un envoi ultérieur peut réussir.",
    ),
    "mailbox_disabled": ("The mailbox is closed or suspended.", "La boîte est fermée ou suspendue."),
    "spam_content": (
        "The receiving server judged the message to be spam.",
        "Le serveur destinataire a jugé le message indésirable.",
    ),
    "reputation": (
        "The sending IP or domain has a poor reputation or is on a blocklist.",
        "L'adresse IP ou le domaine d'envoi a une mauvaise réputation ou figure sur une liste de blocage.",
    ),
    "auth_policy": (
        "SPF, DKIM, DMARC or reverse DNS requirements were not met.",
        "Les exigences SPF, DKIM, DMARC ou DNS inverse ne sont pas satisfaites.",
    ),
    "policy": (
        "Refused by a local policy of the receiving server.",
        "Refusé par une règle locale du serveur destinataire.",
    ),
    "rate_limited": (
        "Too many messages or connections at once: the receiver slows you down.",
        "Trop de messages ou de connexions à la fois : le destinataire vous ralentit.",
    ),
    "greylisted": (
        "Temporarily delayed by greylisting; it is normally retried and delivered.",
        "Retardé temporairement (liste grise) ; normalement renvoyé puis délivré.",
    ),
    "message_too_large": (
        "The message is larger than the receiver accepts.",
        "Le message dépasse la taille acceptée par le destinataire.",
    ),
    "content": (
        "Refused for its content (virus, forbidden attachment, malformed message).",
        "Refusé pour son contenu (virus, pièce jointe interdite, message mal formé).",
    ),
    "network": (
        "The receiving server could not be reached or the connection was lost.",
        "Le serveur destinataire était injoignable ou la connexion a été perdue.",
    ),
    "tls": ("The encrypted connection (TLS) could not be set up.", "La connexion chiffrée (TLS) a échoué."),
    "dns_temporary": (
        "A DNS lookup failed for now; it is retried.",
        "Une résolution DNS a échoué pour l'instant ; elle est retentée.",
    ),
    "remote_error": (
        "The receiving system had a problem of its own.",
        "Le système destinataire a rencontré un problème.",
    ),
    "expired": (
        "The message stayed in the queue too long and was returned.",
        "Le message est resté trop longtemps en file et a été renvoyé à l'expéditeur.",
    ),
    "complaint": (
        "The recipient reported the message as spam.",
        "Le destinataire a signalé le message comme indésirable.",
    ),
    "other": ("No known cause: see the example reply.", "Cause inconnue : voir l'exemple de réponse."),
}


class Words:
    """The words and formats of one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LOCALES else "en"
        self.locale = LOCALES[self.language]
        self._index = 1 if self.language == "fr" else 0

    def __call__(self, key: str, **values: object) -> str:
        return TEXT[key][self._index].format(**values)

    def reason(self, reason: str) -> str:
        return REASONS.get(reason, REASONS["other"])[self._index]

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: float | None) -> str:
        return "–" if value is None else self.number(value, 2) + "\u00a0%"

    def change(self, now: float | None, before: float | None, *, points: bool = False) -> str:
        """The signed difference: in percentage points for rates, else in percent of `before`."""
        if now is None or before is None:
            return "–"
        if points:
            delta = now - before
            return ("+" if delta >= 0 else "−") + self.number(abs(delta), 2) + "\u00a0pt"
        if not before:
            return "–"
        delta = 100.0 * (now - before) / before
        return ("+" if delta >= 0 else "−") + self.number(abs(delta), 1) + "\u00a0%"

    def day(self, value: date) -> str:
        return format_date(value, format="long", locale=self.locale)

    def month(self, value: date) -> str:
        return format_date(value, format="LLLL y", locale=self.locale)

    def moment(self, value: datetime, zone: ZoneInfo) -> str:
        return format_datetime(value, format="medium", tzinfo=zone, locale=self.locale)

    def bucket(self, value: datetime, zone: ZoneInfo, minutes: int) -> str:
        """A chart bucket's label: the hour within a day, else the day (and hour) of the period."""
        pattern = "HH:mm" if minutes < 360 else ("d MMM HH'h'" if minutes < 1440 else "d MMM")
        return format_datetime(value, format=pattern, tzinfo=zone, locale=self.locale)
