"""The one state machine of a demand.

Every operation that changes a demand names an *action*; ``apply`` checks that the action
is allowed in the demand's current state and moves it to the next state. Actions that do
not change the state (progress, transfer, pause...) are listed too, so the same table says
where each operation may happen. Nothing outside this module assigns ``Demand.status``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.errors import IllegalTransition
from app.vocab import Status

if TYPE_CHECKING:
    from app.models import Demand

S = Status
_STAY = object()
WORKING = frozenset({S.HANDLING, S.REWORK})
OPEN_BEFORE_SIGNOFF = frozenset({S.REGISTERED, S.SCREENED, S.PENDING_ASSIGNMENT, S.HANDLING, S.REWORK})
DONE = frozenset({S.CLOSED, S.EVALUATED})


def _back_to_work(demand: Demand) -> Status:
    return S.REWORK if demand.rework_count > 0 else S.HANDLING


def _reopened(demand: Demand) -> Status:
    return S.HANDLING if demand.unit_id is not None else S.PENDING_ASSIGNMENT


# action: (Chinese name, states it may start from, next state or _STAY or a function)
ACTIONS: dict[str, tuple[str, frozenset[Status], object]] = {
    "screen_valid": ("初审（有效）", frozenset({S.REGISTERED}), S.SCREENED),
    "screen_invalid": ("初审（无效关闭）", frozenset({S.REGISTERED}), S.INVALID),
    "review_accept": ("复核", frozenset({S.SCREENED}), S.PENDING_ASSIGNMENT),
    "review_reject": ("复核（不合理，解释疏导后关闭）", frozenset({S.SCREENED}), S.INVALID),
    "answer_on_spot": ("咨询即时答复", frozenset({S.REGISTERED}), S.AWAITING_SIGNOFF),
    "assign": ("交办", frozenset({S.PENDING_ASSIGNMENT}), S.HANDLING),
    "transfer": ("移交", WORKING, _STAY),
    "progress": ("填报进展", WORKING | {S.AWAITING_SIGNOFF}, _STAY),
    "attach": ("上传佐证材料", frozenset(Status) - {S.INVALID}, _STAY),
    "request_extension": ("申请延期", WORKING, _STAY),
    "decide_extension": ("审批延期", WORKING | {S.AWAITING_SIGNOFF}, _STAY),
    "pause": ("中止计时", WORKING, _STAY),
    "resume": ("恢复计时", WORKING, _STAY),
    "submit_signoff": ("提交会签", WORKING, S.AWAITING_SIGNOFF),
    "sign": ("会签签字", frozenset({S.AWAITING_SIGNOFF}), _STAY),
    "sign_complete": ("四方会签完成", frozenset({S.AWAITING_SIGNOFF}), S.CLOSED),
    "sign_refused": ("拒绝签字退回办理", frozenset({S.AWAITING_SIGNOFF}), _back_to_work),
    "evaluate_ok": ("评价", frozenset({S.CLOSED}), S.EVALUATED),
    "evaluate_bad": ("评价（不满意，二次整改）", frozenset({S.CLOSED}), S.REWORK),
    "revisit": ("回头看", DONE, _STAY),
    "reopen": ("重新打开", DONE | {S.INVALID}, _reopened),
    "supervise": ("督办", frozenset(Status) - DONE - {S.INVALID}, _STAY),
    "edit": ("修改登记信息", OPEN_BEFORE_SIGNOFF | {S.AWAITING_SIGNOFF}, _STAY),
}


def allowed(status: Status, action: str) -> bool:
    return status in ACTIONS[action][1]


def available(status: Status) -> list[str]:
    return [name for name, (_, states, _) in ACTIONS.items() if status in states]


def check(demand: Demand, action: str) -> None:
    title, states, _ = ACTIONS[action]
    if demand.status not in states:
        hint = "已办结的诉求须先“重新打开”并说明理由" if demand.status in DONE else ""
        need = "、".join(s.label for s in Status if s in states)
        raise IllegalTransition(
            f"诉求 {demand.code} 当前状态为“{demand.status.label}”，不能{title}"
            f"（只能在：{need}）" + (f"；{hint}" if hint else "")
        )


def apply(demand: Demand, action: str) -> Status:
    """Check and perform one transition; returns the new state."""
    check(demand, action)
    target = ACTIONS[action][2]
    if target is _STAY:
        return demand.status
    new = target(demand) if isinstance(target, Callable) else target  # type: ignore[operator]
    demand.status = new
    return new


def imported_state(closed: bool, evaluated: bool) -> Status:
    """The state a demand brought in from an old ledger starts in.

    History recorded as 办结 in the old ledger (its four-party sheet kept on paper) comes in
    closed, or evaluated when the old ledger has its satisfaction; everything else starts at
    registration like a new demand.
    """
    if not closed:
        return S.REGISTERED
    return S.EVALUATED if evaluated else S.CLOSED
