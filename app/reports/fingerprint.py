"""The fingerprint printed on a dossier: SHA-256 of the demand's data in one canonical JSON.

``record`` is the demand as exported (stored codes, names of linked rows, every event in
order); ``canonical_json`` is THE serialisation (sorted keys, no spaces, UTF-8); the
fingerprint is the SHA-256 of that. A printed dossier can be checked against the database
with ``kuaichu dossier CASE_NO --fingerprint``: any change to the demand since printing
(an edit, a new event, a reopening) gives a different value.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import (
    Assignment,
    Attachment,
    Demand,
    Evaluation,
    Extension,
    Pause,
    ProgressEntry,
    Revisit,
    Screening,
    SignOff,
    Supervision,
    Township,
    Unit,
    User,
)
from app.services.queries import category_paths

FORMAT = "kuaichu.demand/1"


def _v(value: Any) -> Any:
    """A JSON value: dates ISO, enums by stored code, None kept."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):  # StrEnum
        return value.value
    return value


def record(session: Session, demand: Demand) -> dict[str, Any]:
    """The demand and all its events as plain JSON values (full personal data)."""
    users: dict[int, str] = {i: n for i, n in session.execute(sa.select(User.id, User.name))}
    units: dict[int, str] = {i: n for i, n in session.execute(sa.select(Unit.id, Unit.name))}
    codes: dict[int, str] = {i: c for i, c in session.execute(sa.select(Demand.id, Demand.code).where(
        Demand.id.in_(sa.select(Screening.duplicate_of_id).where(Screening.demand_id == demand.id))
        | (Demand.id == demand.duplicate_of_id)))}
    town = session.get(Township, demand.township_id)
    d = demand
    did = d.id

    def who(uid: int | None) -> str:
        return users.get(uid, "") if uid else ""

    def rows(model: Any) -> list[Any]:
        return list(session.scalars(sa.select(model).where(model.demand_id == did).order_by(model.at, model.id)))

    p = d.petitioner
    return {
        "format": FORMAT,
        "code": d.code,
        "township": town.code if town else "",
        "type": _v(d.type),
        "category": category_paths(session).get(d.category_id, "") if d.category_id else "",
        "channel": d.channel.name if d.channel else "",
        "content": d.content,
        "received_on": _v(d.received_on),
        "village": d.village.name if d.village else "",
        "grid": d.grid.name if d.grid else "",
        "petitioner": {"name": p.name, "phone": p.phone, "address": p.address} if p else None,
        "registrar": who(d.registrar_id),
        "level": _v(d.level),
        "first_level": _v(d.first_level),
        "unit": units.get(d.unit_id, "") if d.unit_id else "",
        "co_units": sorted(u.name for u in d.co_units),
        "status": _v(d.status),
        "rule_set": d.rule_set,
        "external_ref": d.external_ref,
        "deadline": _v(d.deadline),
        "deadline_provisional": d.deadline_provisional,
        "paused_since": _v(d.paused_since),
        "screening_result": _v(d.screening_result),
        "review_result": _v(d.review_result),
        "duplicate_of": codes.get(d.duplicate_of_id, "") if d.duplicate_of_id else "",
        "is_repeat": d.is_repeat,
        "answer": d.answer,
        "result_summary": d.result_summary,
        "remarks": d.remarks,
        "original_no": d.original_no,
        "signoff_round": d.signoff_round,
        "closed_on": _v(d.closed_on),
        "satisfaction": _v(d.satisfaction),
        "transfer_count": d.transfer_count,
        "extension_days": d.extension_days,
        "rework_count": d.rework_count,
        "supervised": d.supervised,
        "version": d.version,
        "screenings": [{"at": _v(s.at), "stage": _v(s.stage), "result": _v(s.result), "explanation": s.explanation,
                        "duplicate_of": codes.get(s.duplicate_of_id, "") if s.duplicate_of_id else "",
                        "by": who(s.actor_id)} for s in rows(Screening)],
        "assignments": [{"at": _v(a.at), "kind": _v(a.kind), "from_unit": units.get(a.from_unit_id, "")
                         if a.from_unit_id else "", "to_unit": units.get(a.to_unit_id, ""),
                         "from_level": _v(a.from_level), "level": _v(a.level), "reason": a.reason,
                         "by": who(a.actor_id)} for a in rows(Assignment)],
        "progress": [{"at": _v(e.at), "done_on": _v(e.done_on), "text": e.text, "by": who(e.actor_id)}
                     for e in rows(ProgressEntry)],
        "attachments": [{"at": _v(f.at), "sha256": f.sha256, "name": f.original_name, "size": f.size,
                         "kind": f.kind, "caption": f.caption, "by": who(f.actor_id)} for f in rows(Attachment)],
        "extensions": [{"at": _v(e.at), "days": e.days, "reason": e.reason, "status": _v(e.status),
                        "requested_by": who(e.requested_by_id), "approver": who(e.approver_id),
                        "decided_at": _v(e.decided_at), "old_deadline": _v(e.old_deadline),
                        "new_deadline": _v(e.new_deadline)} for e in rows(Extension)],
        "pauses": [{"at": _v(e.at), "reason": e.reason, "paused_on": _v(e.paused_on),
                    "resumed_on": _v(e.resumed_on), "by": who(e.actor_id)} for e in rows(Pause)],
        "signoffs": [{"at": _v(s.at), "round": s.round, "party": _v(s.party), "signer": s.signer_name,
                      "signed_on": _v(s.signed_on), "opinion": s.opinion, "refused": s.refused,
                      "recorded_by": who(s.recorded_by_id)} for s in rows(SignOff)],
        "evaluations": [{"at": _v(e.at), "result": _v(e.result), "evaluated_on": _v(e.evaluated_on),
                         "method": e.method, "comment": e.comment, "by": who(e.actor_id)} for e in rows(Evaluation)],
        "revisits": [{"at": _v(r.at), "visited_on": _v(r.visited_on), "finding": r.finding,
                      "problem_recurred": r.problem_recurred, "by": who(r.actor_id)} for r in rows(Revisit)],
        "supervisions": [{"at": _v(s.at), "note": s.note, "by": who(s.actor_id)} for s in rows(Supervision)],
    }


def canonical_json(data: dict[str, Any]) -> bytes:
    """THE serialisation the fingerprint is taken of."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fingerprint(session: Session, demand: Demand) -> str:
    return hashlib.sha256(canonical_json(record(session, demand))).hexdigest()


def grouped(hexdigest: str) -> str:
    """64 hex digits in four groups of 16, as printed."""
    return " ".join(hexdigest[i:i + 16] for i in range(0, len(hexdigest), 16))
