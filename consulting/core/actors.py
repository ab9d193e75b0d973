"""Who is asking: the session's role and account, checked by the services, not the handlers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from consulting.core.errors import ApiError, ErrorCode


class Role(StrEnum):
    BUYER = "user"
    CONSULTANT = "consultant"


@dataclass(frozen=True)
class Actor:
    role: Role
    account_id: int
    session_id: int

    def require(self, role: Role) -> int:
        """The account id, if this actor has ``role``; a buyer cannot act as a consultant."""
        if self.role is not role:
            raise ApiError(
                ErrorCode.WRONG_ROLE, f"需要{role.value}账户 / needs a {role.value} session"
            )
        return self.account_id

    def require_self(self, role: Role, claimed_id: int) -> int:
        """Like :meth:`require`, and a ``user_id`` field must name the session's own account."""
        account_id = self.require(role)
        if claimed_id != account_id:
            raise ApiError(ErrorCode.FORBIDDEN, "user_id 不是当前登录用户 / user_id is not yours")
        return account_id
