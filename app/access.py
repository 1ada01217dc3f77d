"""Who may do what. The services call ``require`` for every operation."""

from __future__ import annotations

from app.errors import PermissionDenied
from app.models import User
from app.vocab import Party, Role

R = Role
LEADERS = (R.DEPUTY_LEADER, R.CHIEF_LEADER)

# operation: (Chinese name, roles allowed)
OPERATIONS: dict[str, tuple[str, tuple[Role, ...]]] = {
    "register": ("受理登记", (R.REGISTRAR,)),
    "edit": ("修改登记信息", (R.REGISTRAR,)),
    "screen": ("初审甄别", (R.REGISTRAR,)),
    "review": ("复核", (R.REGISTRAR, *LEADERS)),
    "answer_on_spot": ("咨询即时答复", (R.REGISTRAR, R.HANDLER)),
    "assign": ("交办", (R.REGISTRAR, *LEADERS)),
    "transfer": ("移交", (R.REGISTRAR, R.HANDLER, *LEADERS)),
    "progress": ("填报进展", (R.HANDLER, R.REGISTRAR)),
    "attach": ("上传佐证材料", (R.HANDLER, R.REGISTRAR)),
    "request_extension": ("申请延期", (R.HANDLER, R.REGISTRAR)),
    "decide_extension": ("审批延期", LEADERS),
    "pause": ("中止/恢复计时", (R.HANDLER, R.REGISTRAR, *LEADERS)),
    "submit_signoff": ("提交会签", (R.HANDLER, R.REGISTRAR)),
    "sign_petitioner": ("录入诉求人签字", (R.REGISTRAR, R.HANDLER)),
    "sign_handler": ("录入办理人签字", (R.HANDLER, R.REGISTRAR)),
    "sign_deputy_leader": ("分管领导签字", (R.DEPUTY_LEADER,)),
    "sign_chief_leader": ("主要领导签字", (R.CHIEF_LEADER,)),
    "evaluate": ("录入评价", (R.REGISTRAR, R.HANDLER)),
    "revisit": ("回头看", (R.REGISTRAR, R.SUPERVISOR, *LEADERS)),
    "reopen": ("重新打开", LEADERS),
    "supervise": ("督办", (R.SUPERVISOR, *LEADERS)),
    "settings": ("修改设置", (R.ADMIN,)),
    "users": ("管理用户", (R.ADMIN,)),
    "holidays": ("维护节假日", (R.ADMIN, R.REGISTRAR)),
    "import": ("导入台账", (R.REGISTRAR, R.ADMIN)),
}

SIGN_OPERATION = {
    Party.PETITIONER: "sign_petitioner",
    Party.HANDLER: "sign_handler",
    Party.DEPUTY_LEADER: "sign_deputy_leader",
    Party.CHIEF_LEADER: "sign_chief_leader",
}


def can(user: User | None, operation: str) -> bool:
    if user is None or not user.active:
        return False
    return user.has_role(*OPERATIONS[operation][1])


def require(user: User | None, operation: str) -> None:
    title, roles = OPERATIONS[operation]
    if not can(user, operation):
        need = "或".join(f"“{r.label}”" for r in roles)
        who = f"用户“{user.name}”" if user is not None else "未登录用户"
        raise PermissionDenied(f"{who}无权{title}：需要{need}角色")
